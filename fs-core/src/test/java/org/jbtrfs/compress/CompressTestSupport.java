package org.jbtrfs.compress;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;

/**
 * Shared by the tests of this package: seeds, input generators, and a literal-only LZO1X writer
 * that lets tests build btrfs LZO streams byte by byte, independently of our encoder.
 */
final class CompressTestSupport {

    static final int SECTOR = 4096;

    /** The compressed types, the ones {@link Decompressor} decodes. */
    static final CompressionType[] COMPRESSED = {CompressionType.ZLIB, CompressionType.LZO, CompressionType.ZSTD};

    private static final String[] WORDS = {"btrfs", "extent", "inode", "the", "of", "subvolume", "csum",
        "tree", "leaf", "node", "chunk", "\n", " ", "0000", "delayed", "ref", "transaction", "commit"};

    private CompressTestSupport() {
    }

    /**
     * The seed of a random test: -Djbtrfs.seed=N replays a run, otherwise a fresh one. Printed,
     * so that every failure can be replayed (style guide, practice 11).
     */
    static long seed(String test) {
        String fixed = System.getProperty("jbtrfs.seed");
        long seed = fixed != null ? Long.parseLong(fixed) : System.nanoTime() ^ test.hashCode();
        System.out.println(test + ": seed=" + seed + " (replay with -Djbtrfs.seed=" + seed + ")");
        return seed;
    }

    /** Kinds of input, from incompressible to trivially compressible. */
    enum Data {
        RANDOM, ZEROS, TEXT, RUNS, MIXED;

        byte[] make(Random random, int len) {
            byte[] b = new byte[len];
            switch (this) {
                case RANDOM -> random.nextBytes(b);
                case ZEROS -> { }
                case TEXT -> fillText(random, b);
                case RUNS -> {
                    for (int i = 0; i < len; ) {
                        int run = 1 + random.nextInt(300);
                        Arrays.fill(b, i, Math.min(len, i + run), (byte) random.nextInt(4));
                        i += run;
                    }
                }
                case MIXED -> {
                    for (int i = 0; i < len; i += 512) {
                        if (random.nextBoolean()) {
                            byte[] chunk = new byte[Math.min(512, len - i)];
                            random.nextBytes(chunk);
                            System.arraycopy(chunk, 0, b, i, chunk.length);
                        }
                    }
                }
                default -> throw new AssertionError(this);
            }
            return b;
        }
    }

    private static void fillText(Random random, byte[] b) {
        int i = 0;
        while (i < b.length) {
            byte[] w = WORDS[random.nextInt(WORDS.length)].getBytes(StandardCharsets.US_ASCII);
            int n = Math.min(w.length, b.length - i);
            System.arraycopy(w, 0, b, i, n);
            i += n;
        }
    }

    /** Encodes whatever the size (tests need streams for inputs too small to shrink). */
    static byte[] encode(CompressionType type, byte[] data, int sectorSize) {
        byte[] out = Compressor.encode(type, data, 0, data.length, Compressor.DEFAULT_LEVEL, sectorSize,
                Integer.MAX_VALUE);
        if (out == null) {
            throw new AssertionError("unbounded encode returned null");
        }
        return out;
    }

    /** The stream as it lies on disk in a regular extent: zero-padded to whole sectors. */
    static byte[] padToSector(byte[] stream, int sectorSize) {
        int len = (stream.length + sectorSize - 1) / sectorSize * sectorSize;
        return Arrays.copyOf(stream, Math.max(len, sectorSize));
    }

    /**
     * A raw LZO1X block that stores {@code n >= 1} bytes as one literal run followed by the
     * end-of-stream marker. Runs of up to 238 bytes use the first-byte form (17 + n); longer runs
     * the extended literal-length form (0, k zero bytes, remainder): 18 + 255 * k + remainder.
     */
    static byte[] lzoLiterals(byte[] data, int off, int n) {
        if (n < 1) {
            throw new IllegalArgumentException("n " + n);
        }
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        if (n <= 238) {
            o.write(17 + n);
        } else {
            int rem = n - 18;
            o.write(0);
            while (rem > 255) {
                o.write(0);
                rem -= 255;
            }
            o.write(rem);
        }
        o.write(data, off, n);
        o.write(0x11); // M4 match with distance 0x4000: end of stream
        o.write(0);
        o.write(0);
        return o.toByteArray();
    }

    /** Length of {@link #lzoLiterals} for n bytes, without building it. */
    static int lzoLiteralsLength(int n) {
        return n <= 238 ? n + 4 : n + 5 + (n - 19) / 255;
    }

    /** Writes a little-endian u32. */
    static void putLe32(byte[] b, int off, int v) {
        Decompressor.putLe32(b, off, v);
    }

    /** Reads a little-endian u32. */
    static int getLe32(byte[] b, int off) {
        return (int) Decompressor.getLe32(b, off);
    }
}
