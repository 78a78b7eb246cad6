package org.jbtrfs.compress;

import static org.jbtrfs.compress.CompressTestSupport.SECTOR;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.jbtrfs.CorruptImageException;
import org.jbtrfs.compress.CompressTestSupport.Data;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Damaged streams: whatever is done to a valid stream, decompress either returns exactly
 * ram_bytes bytes or throws {@link CorruptImageException}; never another exception, never an
 * allocation beyond its bounds. Seeded; a failure names seed, iteration and mutation.
 */
class CorruptionTest {

    /**
     * Mutations per type; each costs at most one decode of 128 KiB. -Djbtrfs.compress.mutations=N
     * runs more for a stress run.
     */
    private static final int ITERATIONS = Integer.getInteger("jbtrfs.compress.mutations", 4000);

    /** A valid stream and what it decodes to. */
    private record Sample(String name, byte[] data, byte[] stream) {
    }

    private static List<Sample> samples(CompressionType type, Random random) {
        List<Sample> samples = new ArrayList<>();
        Object[][] inputs = {
            {"text 128K", Data.TEXT.make(random, Decompressor.MAX_UNCOMPRESSED)},
            {"mixed 20000", Data.MIXED.make(random, 20_000)},
            {"random 5000", Data.RANDOM.make(random, 5000)},
            {"runs 9000", Data.RUNS.make(random, 9000)},
            {"text 100", Data.TEXT.make(random, 100)},
            {"one byte", new byte[] {42}},
        };
        for (Object[] in : inputs) {
            byte[] data = (byte[]) in[1];
            byte[] stream = CompressTestSupport.encode(type, data, SECTOR);
            samples.add(new Sample(in[0] + " inline", data, stream));
            samples.add(new Sample(in[0] + " on disk", data, CompressTestSupport.padToSector(stream, SECTOR)));
        }
        return samples;
    }

    /** Damage done to a stream; returns what it did, for the failure message. */
    private interface Mutation {
        String apply(Random r, byte[][] src, int[] ramBytes);
    }

    private static final Mutation[] MUTATIONS = {
        (r, s, ram) -> {
            int n = 1 + r.nextInt(4);
            StringBuilder what = new StringBuilder("flip bits at");
            for (int i = 0; i < n; i++) {
                int pos = r.nextInt(s[0].length);
                s[0][pos] ^= (byte) (1 << r.nextInt(8));
                what.append(' ').append(pos);
            }
            return what.toString();
        },
        (r, s, ram) -> {
            int pos = r.nextInt(Math.min(s[0].length, 24)); // headers live at the front
            s[0][pos] = (byte) r.nextInt(256);
            return "header byte " + pos + " = " + s[0][pos];
        },
        (r, s, ram) -> {
            int cut = r.nextInt(s[0].length);
            s[0] = Arrays.copyOf(s[0], cut);
            return "truncate to " + cut;
        },
        (r, s, ram) -> {
            int extra = 1 + r.nextInt(SECTOR);
            byte[] garbage = new byte[extra];
            r.nextBytes(garbage);
            byte[] b = Arrays.copyOf(s[0], s[0].length + extra);
            System.arraycopy(garbage, 0, b, s[0].length, extra);
            s[0] = b;
            return "append " + extra + " random bytes";
        },
        (r, s, ram) -> {
            if (s[0].length < 4) {
                return "nothing";
            }
            int pos = r.nextInt(s[0].length - 3);
            int v = new int[] {0, 1, 3, 4, 5, 4095, 4096, 4419, 4420, -1, Integer.MAX_VALUE, r.nextInt()}[r.nextInt(12)];
            CompressTestSupport.putLe32(s[0], pos, v);
            return "le32 at " + pos + " = " + v;
        },
        (r, s, ram) -> {
            byte[] b = new byte[r.nextInt(2 * SECTOR)];
            r.nextBytes(b);
            if (b.length >= 4 && r.nextBoolean()) {
                System.arraycopy(s[0], 0, b, 0, Math.min(8, Math.min(b.length, s[0].length))); // keep a valid magic
            }
            s[0] = b;
            return "random stream of " + b.length;
        },
        (r, s, ram) -> {
            ram[0] = r.nextInt(2 * ram[0] + 2);
            return "ram_bytes " + ram[0];
        },
        (r, s, ram) -> {
            int from = r.nextInt(s[0].length);
            int to = Math.min(s[0].length, from + 1 + r.nextInt(64));
            Arrays.fill(s[0], from, to, (byte) (r.nextBoolean() ? 0 : 0xff));
            return "fill " + from + ".." + to;
        },
    };

    private static String mutate(Mutation m, Random random, byte[][] src, int[] ramBytes) {
        return src[0].length == 0 ? "nothing (empty)" : m.apply(random, src, ramBytes);
    }

    @ParameterizedTest
    @EnumSource(value = CompressionType.class, names = {"ZLIB", "LZO", "ZSTD"})
    void mutatedStreamsFailCleanly(CompressionType type) {
        long seed = CompressTestSupport.seed("mutatedStreamsFailCleanly " + type);
        Random random = new Random(seed);
        List<Sample> samples = samples(type, random);
        int corrupt = 0;
        for (int i = 0; i < ITERATIONS; i++) {
            Sample sample = samples.get(random.nextInt(samples.size()));
            byte[][] src = {sample.stream().clone()};
            int[] ramBytes = {sample.data().length};
            int m = random.nextInt(MUTATIONS.length);
            String what = mutate(MUTATIONS[m], random, src, ramBytes);
            if (random.nextInt(4) == 0) { // sometimes a second blow
                what += ", then " + mutate(MUTATIONS[random.nextInt(MUTATIONS.length)], random, src, ramBytes);
            }
            String where = type + " seed " + seed + " iteration " + i + " sample " + sample.name() + ": " + what;
            try {
                byte[] out = Decompressor.decompress(type, src[0], 0, src[0].length, ramBytes[0], SECTOR);
                assertEquals(ramBytes[0], out.length, where);
            } catch (CorruptImageException e) {
                corrupt++;
            } catch (Throwable t) {
                throw new AssertionError(where + ": threw " + t, t);
            }
        }
        System.out.println(type + ": " + corrupt + " of " + ITERATIONS + " mutations detected as corrupt");
    }

    /**
     * Cutting a stream short is corruption, except where the kernel itself reads it fine: a zlib
     * stream whose data is complete but whose final bytes (end of block, Adler-32) are missing.
     */
    @ParameterizedTest
    @EnumSource(value = CompressionType.class, names = {"ZLIB", "LZO", "ZSTD"})
    void truncatedStreamsAreCorrupt(CompressionType type) throws Exception {
        long seed = CompressTestSupport.seed("truncatedStreamsAreCorrupt " + type);
        Random random = new Random(seed);
        for (Sample sample : samples(type, random)) {
            if (sample.name().endsWith("on disk")) {
                continue; // cutting padding is not truncation
            }
            byte[] s = sample.stream();
            for (int cut = 0; cut < s.length; cut += 1 + random.nextInt(Math.max(1, s.length / 200))) {
                String where = type + " seed " + seed + " " + sample.name() + " cut to " + cut + " of " + s.length;
                try {
                    byte[] out = Decompressor.decompress(type, s, 0, cut, sample.data().length, SECTOR);
                    // The last sync-flush marker, final empty block and Adler-32 hold no data.
                    if (type != CompressionType.ZLIB || cut < s.length - 16) {
                        fail(where + ": decoded a truncated stream");
                    }
                    assertArrayEquals(sample.data(), out, where);
                } catch (CorruptImageException expected) {
                    // the point
                }
            }
        }
    }
}
