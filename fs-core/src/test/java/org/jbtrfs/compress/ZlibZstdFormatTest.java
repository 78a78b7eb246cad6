package org.jbtrfs.compress;

import static org.jbtrfs.compress.CompressTestSupport.SECTOR;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.luben.zstd.ZstdCompressCtx;
import java.util.Arrays;
import java.util.Random;
import java.util.zip.Deflater;
import org.jbtrfs.CorruptImageException;
import org.jbtrfs.compress.CompressTestSupport.Data;
import org.junit.jupiter.api.Test;

/** The zlib and zstd streams: what the kernel writes, what it accepts, what it refuses. */
class ZlibZstdFormatTest {

    private static final Random RANDOM = new Random(20240917);

    private static byte[] text(int len) {
        return Data.TEXT.make(RANDOM, len);
    }

    // ---- zlib ----

    @Test
    void zlibHeaderIsTheKernels() {
        byte[] data = text(3 * SECTOR);
        int[][] levelHeader = {{1, 0x01}, {3, 0x5e}, {6, 0x9c}, {9, 0xda}};
        for (int[] lh : levelHeader) {
            byte[] c = Compressor.compress(CompressionType.ZLIB, data, 0, data.length, lh[0], SECTOR);
            assertEquals(0x78, c[0] & 0xff, "CMF at level " + lh[0]);
            assertEquals(lh[1], c[1] & 0xff, "FLG at level " + lh[0]);
        }
        byte[] def = Compressor.compress(CompressionType.ZLIB, data, 0, data.length, -1, SECTOR);
        assertEquals(0x5e, def[1] & 0xff, "default level is BTRFS_ZLIB_DEFAULT_LEVEL 3");
    }

    @Test
    void zlibSyncFlushesEveryPage() {
        byte[] data = text(4 * ZlibCodec.INPUT_CHUNK_BYTES);
        byte[] c = Compressor.compress(CompressionType.ZLIB, data, 0, data.length, -1, SECTOR);
        int markers = 0;
        for (int i = 0; i + 4 <= c.length; i++) {
            if (c[i] == 0 && c[i + 1] == 0 && c[i + 2] == (byte) 0xff && c[i + 3] == (byte) 0xff) {
                markers++;
            }
        }
        assertTrue(markers >= 4, "expected a Z_SYNC_FLUSH marker (00 00 ff ff) per page, found " + markers);
    }

    @Test
    void zlibAdler32IsNotCheckedLikeTheKernel() throws Exception {
        byte[] data = text(10_000);
        byte[] c = CompressTestSupport.encode(CompressionType.ZLIB, data, SECTOR);
        c[c.length - 1] ^= 0x5a;
        assertArrayEquals(data, Decompressor.decompress(CompressionType.ZLIB, c, 0, c.length, data.length, SECTOR));
    }

    @Test
    void zlibStandardStreamFromTheJdkDecodes() throws Exception {
        byte[] data = text(50_000);
        Deflater d = new Deflater(Deflater.BEST_COMPRESSION);
        d.setInput(data);
        d.finish();
        byte[] buf = new byte[data.length];
        int n = d.deflate(buf);
        d.end();
        byte[] disk = CompressTestSupport.padToSector(Arrays.copyOf(buf, n), SECTOR);
        assertArrayEquals(data, Decompressor.decompress(CompressionType.ZLIB, disk, 0, disk.length, data.length,
                SECTOR));
    }

    @Test
    void zlibBadHeadersAreCorrupt() {
        byte[] c = CompressTestSupport.encode(CompressionType.ZLIB, text(5000), SECTOR);
        int[][] headers = {
            {0x78, 0x5f},            // check bits wrong
            {0x77, 0x5e},            // method 7
            {0x88, 0x1c},            // window 2^16: (0x88 * 256 + 0x1c) % 31 == 0, CINFO 8
            {0x78, 0xbb},            // FDICT set: (0x78 * 256 + 0xbb) % 31 == 0
            {0x1f, 0x8b},            // a gzip header
        };
        for (int[] h : headers) {
            byte[] b = c.clone();
            b[0] = (byte) h[0];
            b[1] = (byte) h[1];
            CorruptImageException e = assertThrows(CorruptImageException.class,
                    () -> Decompressor.decompress(CompressionType.ZLIB, b, 0, b.length, 5000, SECTOR),
                    String.format("%02x %02x", h[0], h[1]));
            assertTrue(e.getMessage().contains("zlib header"), e.getMessage());
        }
        assertThrows(CorruptImageException.class,
                () -> Decompressor.decompress(CompressionType.ZLIB, c, 0, 2, 5000, SECTOR));
    }

    // ---- zstd ----

    private static int fhd(byte[] frame) {
        return frame[4] & 0xff;
    }

    @Test
    void zstdFrameIsTheKernels() throws Exception {
        for (int len : new int[] {100, SECTOR, Decompressor.MAX_UNCOMPRESSED, 1 << 20}) {
            byte[] data = text(len);
            byte[] c = Compressor.compress(CompressionType.ZSTD, data, 0, len, -1, SECTOR);
            assertEquals(ZstdCodec.MAGIC, Decompressor.getLe32(c, 0));
            assertEquals(0, fhd(c) & 0x04, "no checksum, len " + len);
            assertEquals(0, fhd(c) & 0x03, "no dictionary, len " + len);
            assertTrue((fhd(c) >>> 6) != 0 || (fhd(c) & 0x20) != 0, "content size stored, len " + len);
            if ((fhd(c) & 0x20) == 0) {
                int wd = c[5] & 0xff;
                long base = 1L << (10 + (wd >>> 3));
                assertTrue(base + base / 8 * (wd & 7) <= ZstdCodec.WINDOW_BYTES_MAX, "window, len " + len);
            }
            assertEquals(c.length, ZstdCodec.walkFrame(c, 0, c.length, len));
        }
    }

    @Test
    void zstdTrailingBytesAndSecondFramesAreIgnored() throws Exception {
        byte[] data = text(20_000);
        byte[] c = CompressTestSupport.encode(CompressionType.ZSTD, data, SECTOR);
        byte[] other = CompressTestSupport.encode(CompressionType.ZSTD, text(1000), SECTOR);
        byte[] two = Arrays.copyOf(c, c.length + other.length);
        System.arraycopy(other, 0, two, c.length, other.length);
        assertArrayEquals(data, Decompressor.decompress(CompressionType.ZSTD, two, 0, two.length, data.length, SECTOR));
        byte[] garbage = Arrays.copyOf(c, c.length + 100);
        Arrays.fill(garbage, c.length, garbage.length, (byte) 0xa5);
        assertArrayEquals(data, Decompressor.decompress(CompressionType.ZSTD, garbage, 0, garbage.length,
                data.length, SECTOR));
    }

    @Test
    void zstdFramesWithoutContentSizeOrWithChecksumDecode() throws Exception {
        byte[] data = text(70_000);
        for (boolean checksum : new boolean[] {false, true}) {
            byte[] c;
            try (ZstdCompressCtx ctx = new ZstdCompressCtx()) {
                ctx.setLevel(3).setWindowLog(17).setContentSize(false).setChecksum(checksum);
                c = ctx.compress(data);
            }
            assertEquals(0, fhd(c) >>> 6, "no content size");
            byte[] disk = CompressTestSupport.padToSector(c, SECTOR);
            assertArrayEquals(data, Decompressor.decompress(CompressionType.ZSTD, disk, 0, disk.length, data.length,
                    SECTOR), "checksum " + checksum);
            byte[] longer = Decompressor.decompress(CompressionType.ZSTD, disk, 0, disk.length, data.length + 10,
                    SECTOR);
            assertArrayEquals(data, Arrays.copyOf(longer, data.length));
            assertThrows(CorruptImageException.class, () -> Decompressor.decompress(CompressionType.ZSTD, disk, 0,
                    disk.length, data.length - 1, SECTOR), "longer than ram_bytes without a content size");
            if (checksum) {
                c[c.length - 1] ^= 1;
                assertThrows(CorruptImageException.class, () -> Decompressor.decompress(CompressionType.ZSTD, c, 0,
                        c.length, data.length, SECTOR), "bad content checksum");
            }
        }
    }

    @Test
    void zstdWindowOverTheKernelsLimitIsCorrupt() {
        byte[] data = text(1 << 20);
        byte[] c;
        try (ZstdCompressCtx ctx = new ZstdCompressCtx()) {
            ctx.setLevel(3).setWindowLog(20);
            c = ctx.compress(data);
        }
        CorruptImageException e = assertThrows(CorruptImageException.class,
                () -> Decompressor.decompress(CompressionType.ZSTD, c, 0, c.length, data.length, SECTOR));
        assertTrue(e.getMessage().contains("window"), e.getMessage());
    }

    @Test
    void zstdHeaderFieldsAreChecked() {
        byte[] c = CompressTestSupport.encode(CompressionType.ZSTD, text(5000), SECTOR);
        byte[] magic = c.clone();
        magic[0] = 0x29; // 0xFD2FB529: an older (v0.8) magic, or garbage
        assertMessage(magic, 5000, "magic");
        byte[] skippable = c.clone();
        CompressTestSupport.putLe32(skippable, 0, 0x184D2A50);
        assertMessage(skippable, 5000, "magic");
        byte[] reserved = c.clone();
        reserved[4] |= 0x08;
        assertMessage(reserved, 5000, "reserved");
        assertMessage(c, 4999, "content size");
        assertFalse(c.length < 9, "frame long enough to cut");
        assertMessage(Arrays.copyOf(c, 7), 5000, "shorter");
    }

    private static void assertMessage(byte[] src, int ramBytes, String expected) {
        CorruptImageException e = assertThrows(CorruptImageException.class,
                () -> Decompressor.decompress(CompressionType.ZSTD, src, 0, src.length, ramBytes, SECTOR));
        assertTrue(e.getMessage().contains(expected), "expected '" + expected + "' in: " + e.getMessage());
    }
}
