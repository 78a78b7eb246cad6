package org.jbtrfs.compress;

import java.util.Arrays;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import java.util.zip.Inflater;
import org.jbtrfs.CorruptImageException;

/**
 * fs/btrfs/zlib.c: a compressed extent is one zlib stream (RFC 1950), coded with the JDK's
 * {@link Deflater} and {@link Inflater}.
 *
 * <h2>Format</h2>
 * <pre>
 * Extent   := Header Deflate Adler32 [Trailing]
 * Header   := CMF FLG   CMF low nibble 8 (deflate), high nibble &lt;= 7 (window &lt;= 32 KiB);
 *                       FLG without FDICT (0x20); (CMF * 256 + FLG) % 31 == 0
 * Deflate  := RFC 1951 blocks; the kernel's writer ends each page of input with a
 *             Z_SYNC_FLUSH (an empty stored block) and the whole with Z_FINISH
 * Adler32  := u32be checksum of the data; the kernel does not check it (see below)
 * Trailing := whatever follows up to the end of the extent's last sector, never read
 * </pre>
 *
 * <h2>Reading as the kernel reads</h2>
 * zlib_decompress_bio() recognises the two header bytes itself, skips them and inflates raw
 * deflate data ("tell zlib to skip the adler32 check"), so a wrong Adler-32 does not fail a read
 * under Linux, and neither does it here. It stops with success when the stream ends (the rest of
 * the output is zero-filled) or when the output is full, even if the stream's final bytes are
 * missing. It fails when the input runs out first.
 */
final class ZlibCodec {

    /** BTRFS_ZLIB_DEFAULT_LEVEL (compression.h). */
    static final int DEFAULT_LEVEL = 3;

    /** btrfs_zlib_compress.max_level. */
    static final int MAX_LEVEL = 9;

    /**
     * Input the kernel hands deflate between two Z_SYNC_FLUSHes: one page (the workspace buffer,
     * PAGE_SIZE, without s390 hardware deflate).
     */
    static final int INPUT_CHUNK_BYTES = 4096;

    /** Length of the RFC 1950 header (CMF, FLG). */
    static final int HEADER_LEN = 2;

    /** PRESET_DICT: FDICT bit of FLG. */
    private static final int PRESET_DICT = 0x20;

    /** Z_DEFLATED: the only compression method of RFC 1950. */
    private static final int Z_DEFLATED = 8;

    /**
     * Bound on inflate() calls that make no progress before we call the stream stuck; zlib never
     * needs more than one such call once it has both input and output room.
     */
    private static final int STALLED_CALLS_MAX = 4;

    private ZlibCodec() {
    }

    /** zlib_decompress_bio(): header check, then raw inflate into exactly ramBytes bytes. */
    static byte[] decompress(byte[] src, int off, int len, int ramBytes) throws CorruptImageException {
        checkHeader(src, off, len, ramBytes);
        byte[] out = new byte[ramBytes];
        Inflater inflater = new Inflater(true);
        try {
            inflater.setInput(src, off + HEADER_LEN, len - HEADER_LEN);
            int outPos = 0;
            int stalled = 0;
            while (outPos < ramBytes && !inflater.finished()) {
                int n = inflater.inflate(out, outPos, ramBytes - outPos);
                outPos += n;
                if (n > 0) {
                    stalled = 0;
                } else if (inflater.needsInput()) {
                    throw corrupt("stream truncated: input ends after " + outPos + " of " + ramBytes
                            + " bytes, before the end of the deflate data", len, ramBytes);
                } else if (++stalled > STALLED_CALLS_MAX || inflater.needsDictionary()) {
                    throw corrupt("inflate makes no progress after " + outPos + " bytes", len, ramBytes);
                }
            }
            if (!inflater.finished() && outPos == ramBytes) {
                checkNothingMore(inflater, len, ramBytes);
            }
            return out;
        } catch (DataFormatException e) {
            throw new CorruptImageException("zlib extent (compressed length " + len + ", ram_bytes " + ramBytes
                    + "): invalid deflate data: " + e.getMessage(), e);
        } finally {
            inflater.end();
        }
    }

    /**
     * The output is full but the stream has not ended: it is fine if no more data would come
     * (the end-of-block code, or input, is all that is left), corrupt if it would.
     */
    private static void checkNothingMore(Inflater inflater, int len, int ramBytes)
            throws DataFormatException, CorruptImageException {
        byte[] probe = new byte[1];
        for (int i = 0; i <= STALLED_CALLS_MAX && !inflater.finished() && !inflater.needsInput(); i++) {
            if (inflater.inflate(probe) > 0) {
                throw corrupt("stream decodes to more than ram_bytes " + ramBytes, len, ramBytes);
            }
        }
    }

    /** The header test of zlib_decompress_bio(); where the kernel falls back, inflate would fail. */
    private static void checkHeader(byte[] src, int off, int len, int ramBytes) throws CorruptImageException {
        if (len <= HEADER_LEN) {
            throw corrupt("compressed length " + len + ", expected more than the " + HEADER_LEN
                    + "-byte zlib header", len, ramBytes);
        }
        int cmf = src[off] & 0xff;
        int flg = src[off + 1] & 0xff;
        if ((cmf & 0x0f) != Z_DEFLATED || (cmf >>> 4) > 7 || (flg & PRESET_DICT) != 0
                || (cmf * 256 + flg) % 31 != 0) {
            throw corrupt(String.format("zlib header %02x %02x, expected method 8, window <= 32 KiB,"
                    + " no preset dictionary and a valid check (e.g. 78 5e)", cmf, flg), len, ramBytes);
        }
    }

    /**
     * zlib_compress_folios(): deflate at {@code level}, a Z_SYNC_FLUSH after each page of input,
     * then Z_FINISH. Returns null if the stream would be longer than {@code maxOutBytes}.
     */
    static byte[] compress(byte[] src, int off, int len, int level, int maxOutBytes) {
        assert level >= 1 && level <= MAX_LEVEL : level;
        // Stored blocks cost 5 bytes per 64 KiB, each flush at most 10 more, plus header and trailer.
        long bound = len + 16L * (len / INPUT_CHUNK_BYTES + 2) + 64;
        int cap = (int) Math.min(bound, maxOutBytes);
        if (cap <= 0) {
            return null;
        }
        byte[] out = new byte[cap];
        Deflater deflater = new Deflater(level);
        try {
            int outPos = 0;
            for (int in = 0; in < len; in += INPUT_CHUNK_BYTES) {
                deflater.setInput(src, off + in, Math.min(INPUT_CHUNK_BYTES, len - in));
                while (true) {
                    int space = cap - outPos;
                    if (space == 0) {
                        return overflow(cap, bound);
                    }
                    int n = deflater.deflate(out, outPos, space, Deflater.SYNC_FLUSH);
                    outPos += n;
                    if (n < space) {
                        break; // the flush completed: all input consumed and emitted
                    }
                }
                assert deflater.needsInput();
            }
            deflater.finish();
            while (!deflater.finished()) {
                if (outPos == cap) {
                    return overflow(cap, bound);
                }
                outPos += deflater.deflate(out, outPos, cap - outPos);
            }
            return outPos == cap ? out : Arrays.copyOf(out, outPos);
        } finally {
            deflater.end();
        }
    }

    /** Output did not fit: fine if the caller's limit was the cap, a bug in our bound if not. */
    private static byte[] overflow(int cap, long bound) {
        if (cap < bound) {
            return null;
        }
        throw new IllegalStateException("deflate output exceeded its computed bound " + bound);
    }

    private static CorruptImageException corrupt(String what, int len, int ramBytes) {
        return new CorruptImageException("zlib extent (compressed length " + len + ", ram_bytes " + ramBytes
                + "): " + what);
    }
}
