package org.jbtrfs.compress;

import static org.jbtrfs.compress.CompressTestSupport.COMPRESSED;
import static org.jbtrfs.compress.CompressTestSupport.SECTOR;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import org.jbtrfs.CorruptImageException;
import org.jbtrfs.compress.CompressTestSupport.Data;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Compress then decompress gives the input back, for every type, size and kind of data. */
class RoundTripTest {

    /** Sizes around the edges that matter: tiny, one sector, sector +- 1, BTRFS_MAX_UNCOMPRESSED. */
    private static final int[] SIZES = {0, 1, 2, 3, 4, 17, 100, 511, 4091, 4092, 4095, 4096, 4097, 8191, 8192,
        12293, 65536, 100_000, Decompressor.MAX_UNCOMPRESSED};

    @Test
    void assertionsAreEnabled() {
        assertTrue(Decompressor.class.desiredAssertionStatus(), "tests must run with -ea");
    }

    @ParameterizedTest
    @EnumSource(value = CompressionType.class, names = {"ZLIB", "LZO", "ZSTD"})
    void everySizeAndKindRoundTrips(CompressionType type) throws Exception {
        long seed = CompressTestSupport.seed("everySizeAndKindRoundTrips " + type);
        Random random = new Random(seed);
        for (int len : SIZES) {
            for (Data kind : Data.values()) {
                byte[] data = kind.make(random, len);
                String what = type + " " + kind + " len " + len + " seed " + seed;
                byte[] stream = CompressTestSupport.encode(type, data, SECTOR);
                assertArrayEquals(data, Decompressor.decompress(type, stream, 0, stream.length, len, SECTOR), what);
                byte[] onDisk = CompressTestSupport.padToSector(stream, SECTOR);
                assertArrayEquals(data, Decompressor.decompress(type, onDisk, 0, onDisk.length, len, SECTOR),
                        what + " padded to sectors");
                checkPublicCompress(type, data, what);
            }
        }
    }

    private static void checkPublicCompress(CompressionType type, byte[] data, String what) throws Exception {
        byte[] c = Compressor.compress(type, data, 0, data.length, Compressor.DEFAULT_LEVEL, SECTOR);
        if (c != null) {
            assertTrue(c.length < data.length, what + ": compressed " + c.length + " >= " + data.length);
            assertArrayEquals(data, Decompressor.decompress(type, c, 0, c.length, data.length, SECTOR), what);
        }
    }

    @ParameterizedTest
    @EnumSource(value = CompressionType.class, names = {"ZLIB", "LZO", "ZSTD"})
    void compressReturnsNullOnlyWhenItDoesNotShrink(CompressionType type) throws Exception {
        long seed = CompressTestSupport.seed("compressReturnsNull " + type);
        Random random = new Random(seed);
        for (Data kind : new Data[] {Data.ZEROS, Data.TEXT, Data.RUNS}) {
            byte[] data = kind.make(random, Decompressor.MAX_UNCOMPRESSED);
            assertNotNull(Compressor.compress(type, data, 0, data.length, -1, SECTOR), type + " " + kind);
        }
        byte[] noise = Data.RANDOM.make(random, Decompressor.MAX_UNCOMPRESSED);
        assertNull(Compressor.compress(type, noise, 0, noise.length, -1, SECTOR), type + " random data, seed " + seed);
        assertNull(Compressor.compress(type, new byte[1], 0, 1, -1, SECTOR), type + " one byte cannot shrink");
        assertNull(Compressor.compress(type, new byte[0], 0, 0, -1, SECTOR), type + " empty input");
    }

    @ParameterizedTest
    @EnumSource(value = CompressionType.class, names = {"ZLIB", "LZO", "ZSTD"})
    void slicesAtAnOffsetRoundTrip(CompressionType type) throws Exception {
        long seed = CompressTestSupport.seed("slicesAtAnOffset " + type);
        Random random = new Random(seed);
        byte[] data = Data.TEXT.make(random, 3 * SECTOR + 77);
        byte[] big = new byte[data.length + 50];
        System.arraycopy(data, 0, big, 13, data.length);
        byte[] c = Compressor.compress(type, big, 13, data.length, -1, SECTOR);
        assertNotNull(c);
        byte[] embedded = new byte[c.length + 20];
        System.arraycopy(c, 0, embedded, 7, c.length);
        assertArrayEquals(data, Decompressor.decompress(type, embedded, 7, c.length, data.length, SECTOR));
    }

    @ParameterizedTest
    @EnumSource(value = CompressionType.class, names = {"ZLIB", "LZO", "ZSTD"})
    void shortStreamIsZeroPaddedLongStreamIsCorrupt(CompressionType type) throws Exception {
        long seed = CompressTestSupport.seed("shortAndLong " + type);
        Random random = new Random(seed);
        for (int len : new int[] {1, 100, SECTOR, 3 * SECTOR + 5, Decompressor.MAX_UNCOMPRESSED}) {
            byte[] data = Data.MIXED.make(random, len);
            byte[] c = CompressTestSupport.encode(type, data, SECTOR);
            byte[] longer = Decompressor.decompress(type, c, 0, c.length, len + 1000, SECTOR);
            assertArrayEquals(data, Arrays.copyOf(longer, len), type + " len " + len);
            assertTrue(Arrays.equals(new byte[1000], 0, 1000, longer, len, len + 1000), "zero padding");
            CorruptImageException e = assertThrows(CorruptImageException.class,
                    () -> Decompressor.decompress(type, c, 0, c.length, len - 1, SECTOR), type + " len " + len);
            assertTrue(e.getMessage().contains("ram_bytes"), e.getMessage());
        }
    }

    @ParameterizedTest
    @EnumSource(value = CompressionType.class, names = {"ZLIB", "LZO", "ZSTD"})
    void oneMebibyteRoundTrips(CompressionType type) throws Exception {
        long seed = CompressTestSupport.seed("oneMebibyte " + type);
        Random random = new Random(seed);
        for (Data kind : new Data[] {Data.TEXT, Data.MIXED, Data.RANDOM}) {
            byte[] data = kind.make(random, 1 << 20);
            byte[] c = CompressTestSupport.encode(type, data, SECTOR);
            assertArrayEquals(data, Decompressor.decompress(type, c, 0, c.length, data.length, SECTOR),
                    type + " " + kind + " seed " + seed);
        }
    }

    @Test
    void everyLevelRoundTrips() throws Exception {
        long seed = CompressTestSupport.seed("everyLevel");
        byte[] data = Data.TEXT.make(new Random(seed), 40_000);
        for (int level = 1; level <= ZlibCodec.MAX_LEVEL; level++) {
            roundTripAtLevel(CompressionType.ZLIB, data, level);
        }
        for (int level = 1; level <= ZstdCodec.MAX_LEVEL; level++) {
            roundTripAtLevel(CompressionType.ZSTD, data, level);
        }
        roundTripAtLevel(CompressionType.LZO, data, 1);
    }

    private static void roundTripAtLevel(CompressionType type, byte[] data, int level) throws Exception {
        byte[] c = Compressor.compress(type, data, 0, data.length, level, SECTOR);
        assertNotNull(c, type + " level " + level);
        assertArrayEquals(data, Decompressor.decompress(type, c, 0, c.length, data.length, SECTOR),
                type + " level " + level);
    }

    @ParameterizedTest
    @EnumSource(value = CompressionType.class, names = {"ZLIB", "LZO", "ZSTD"})
    void otherSectorSizesRoundTrip(CompressionType type) throws Exception {
        long seed = CompressTestSupport.seed("otherSectorSizes " + type);
        Random random = new Random(seed);
        for (int sector : new int[] {512, 1024, 2048, 16384, 65536}) {
            for (Data kind : Data.values()) {
                byte[] data = kind.make(random, 3 * sector + random.nextInt(sector));
                byte[] c = CompressTestSupport.encode(type, data, sector);
                assertArrayEquals(data, Decompressor.decompress(type, c, 0, c.length, data.length, sector),
                        type + " " + kind + " sector " + sector + " seed " + seed);
            }
        }
    }

    @Test
    void argumentsAreChecked() throws Exception {
        byte[] c = CompressTestSupport.encode(CompressionType.ZSTD, new byte[100], SECTOR);
        for (CompressionType type : COMPRESSED) {
            assertThrows(CorruptImageException.class, () -> Decompressor.decompress(type, c, 0, c.length, -1, SECTOR));
            assertThrows(CorruptImageException.class, () -> Decompressor.decompress(type, c, 0, c.length,
                    Decompressor.RAM_BYTES_MAX + 1, SECTOR));
            assertThrows(IllegalArgumentException.class, () -> Decompressor.decompress(type, c, 0, c.length, 100, 4095));
            assertThrows(IllegalArgumentException.class, () -> Decompressor.decompress(type, c, 0, c.length, 100, 256));
            assertThrows(IndexOutOfBoundsException.class,
                    () -> Decompressor.decompress(type, c, 1, c.length, 100, SECTOR));
            assertThrows(IllegalArgumentException.class, () -> Compressor.compress(type, c, 0, c.length, 0, SECTOR));
            assertThrows(IllegalArgumentException.class, () -> Compressor.compress(type, c, 0, c.length, 16, SECTOR));
        }
        assertThrows(IllegalArgumentException.class, () -> Compressor.compress(CompressionType.LZO, c, 0, 5, 2, SECTOR));
        assertThrows(IllegalArgumentException.class,
                () -> Decompressor.decompress(CompressionType.NONE, c, 0, c.length, 100, SECTOR));
        assertThrows(IllegalArgumentException.class,
                () -> Compressor.compress(CompressionType.NONE, c, 0, c.length, -1, SECTOR));
        for (CompressionType type : COMPRESSED) {
            byte[] empty = CompressTestSupport.encode(type, new byte[0], SECTOR);
            assertEquals(0, Decompressor.decompress(type, empty, 0, empty.length, 0, SECTOR).length, type.name());
        }
    }
}
