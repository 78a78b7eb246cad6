package org.jbtrfs.compress;

import static org.jbtrfs.compress.CompressTestSupport.SECTOR;
import static org.jbtrfs.compress.CompressTestSupport.getLe32;
import static org.jbtrfs.compress.CompressTestSupport.lzoLiterals;
import static org.jbtrfs.compress.CompressTestSupport.lzoLiteralsLength;
import static org.jbtrfs.compress.CompressTestSupport.putLe32;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.Arrays;
import java.util.Random;
import org.jbtrfs.CorruptImageException;
import org.jbtrfs.compress.CompressTestSupport.Data;
import org.junit.jupiter.api.Test;

/**
 * btrfs' LZO framing (lzo.c): total length, segment headers, and the padding that keeps a
 * segment header from straddling a sector boundary. Streams are built by hand with
 * {@link CompressTestSupport#lzoLiterals}, so the decoder is tested against the format rather
 * than against our own encoder, and the encoder's layout is checked field by field.
 */
class LzoFramingTest {

    private static final int LZO_LEN = LzoCodec.LZO_LEN;

    /** One segment of a hand-built stream: n literal bytes of value b. */
    private record Seg(int n, byte b) {
        byte[] data() {
            byte[] d = new byte[n];
            Arrays.fill(d, b);
            return d;
        }
    }

    /**
     * Builds a stream the way lzo_compress_bio() lays it out: segments one after another, zero
     * padding when fewer than 4 bytes are left in a sector.
     */
    private static byte[] build(int sectorSize, Seg... segs) {
        byte[] out = new byte[LZO_LEN + segs.length * (2 * LZO_LEN + 2 * sectorSize)];
        int cur = LZO_LEN;
        for (Seg s : segs) {
            byte[] block = lzoLiterals(s.data(), 0, s.n());
            putLe32(out, cur, block.length);
            System.arraycopy(block, 0, out, cur + LZO_LEN, block.length);
            cur += LZO_LEN + block.length;
            int left = sectorSize - cur % sectorSize;
            if (left < LZO_LEN) {
                cur += left;
            }
        }
        putLe32(out, 0, cur);
        return Arrays.copyOf(out, cur);
    }

    private static byte[] expected(Seg... segs) {
        int total = Arrays.stream(segs).mapToInt(Seg::n).sum();
        byte[] out = new byte[total];
        int pos = 0;
        for (Seg s : segs) {
            Arrays.fill(out, pos, pos + s.n(), s.b());
            pos += s.n();
        }
        return out;
    }

    /** The literal count whose block is exactly {@code payloadLen} bytes long. */
    private static int literalsFor(int payloadLen) {
        for (int n = 1; n <= SECTOR; n++) {
            if (lzoLiteralsLength(n) == payloadLen) {
                return n;
            }
        }
        throw new AssertionError("no literal run encodes to " + payloadLen + " bytes");
    }

    @Test
    void literalHelperMatchesItsLength() throws Exception {
        for (int n : new int[] {1, 3, 4, 238, 239, 240, 273, 274, 528, 529, 4000, 4096}) {
            byte[] data = Data.RANDOM.make(new Random(n), n);
            byte[] block = lzoLiterals(data, 0, n);
            assertEquals(lzoLiteralsLength(n), block.length, "n " + n);
            byte[] back = new byte[SECTOR];
            assertEquals(n, new io.airlift.compress.lzo.LzoDecompressor().decompress(block, 0, block.length,
                    back, 0, back.length), "n " + n);
            assertArrayEquals(data, Arrays.copyOf(back, n));
        }
    }

    /**
     * The first segment ends with 0 to 4 bytes left in the first sector: 1..3 bytes force padding
     * (the next header moves to the next sector), 0 and 4 do not (the header fits or starts at the
     * boundary). The decoder must give back the concatenated data in every case.
     */
    @Test
    void segmentHeaderNeverStraddlesASector() throws Exception {
        for (int left = 0; left <= LZO_LEN; left++) {
            // First segment: total length field, its header, its payload; ends `left` bytes before 4096.
            int payload1 = SECTOR - left - 2 * LZO_LEN;
            Seg first = new Seg(literalsFor(payload1), (byte) 0x41);
            Seg second = new Seg(300, (byte) 0x42);
            Seg third = new Seg(17, (byte) 0x43);
            byte[] stream = build(SECTOR, first, second, third);
            int end1 = 2 * LZO_LEN + payload1;
            assertEquals(SECTOR - left, end1);
            int header2 = left > 0 && left < LZO_LEN ? SECTOR : end1;
            for (int i = end1; i < header2; i++) {
                assertEquals(0, stream[i], "padding byte at " + i + " with " + left + " left");
            }
            assertEquals(lzoLiteralsLength(second.n()), getLe32(stream, header2), "second header, left " + left);
            assertArrayEquals(expected(first, second, third), Decompressor.decompress(CompressionType.LZO, stream, 0,
                    stream.length, first.n() + second.n() + third.n(), SECTOR), "left " + left);
            byte[] onDisk = CompressTestSupport.padToSector(stream, SECTOR);
            assertArrayEquals(expected(first, second, third), Decompressor.decompress(CompressionType.LZO, onDisk, 0,
                    onDisk.length, first.n() + second.n() + third.n(), SECTOR), "on disk, left " + left);
        }
    }

    /** The last segment may end with 1..3 bytes left too: the padding counts in the total. */
    @Test
    void finalPaddingIsPartOfTheTotalLength() throws Exception {
        for (int left = 1; left < LZO_LEN; left++) {
            Seg only = new Seg(literalsFor(SECTOR - left - 2 * LZO_LEN), (byte) 7);
            byte[] stream = build(SECTOR, only);
            assertEquals(SECTOR, stream.length);
            assertEquals(SECTOR, getLe32(stream, 0));
            assertArrayEquals(expected(only), Decompressor.decompress(CompressionType.LZO, stream, 0, SECTOR,
                    only.n(), SECTOR));
        }
    }

    /** A buggy writer that puts a header across the boundary is caught, not misread. */
    @Test
    void headerWrittenAcrossABoundaryIsCorrupt() {
        int payload1 = SECTOR - 3 - 2 * LZO_LEN; // ends 3 bytes before the boundary
        byte[] block1 = lzoLiterals(new Seg(literalsFor(payload1), (byte) 1).data(), 0, literalsFor(payload1));
        byte[] block2 = lzoLiterals(new Seg(100, (byte) 0x55).data(), 0, 100);
        byte[] stream = new byte[2 * SECTOR];
        putLe32(stream, LZO_LEN, block1.length);
        System.arraycopy(block1, 0, stream, 2 * LZO_LEN, block1.length);
        int cur = 2 * LZO_LEN + block1.length;
        putLe32(stream, cur, block2.length); // straddles: no padding
        System.arraycopy(block2, 0, stream, cur + LZO_LEN, block2.length);
        int total = cur + LZO_LEN + block2.length;
        putLe32(stream, 0, total);
        assertThrows(CorruptImageException.class, () -> Decompressor.decompress(CompressionType.LZO, stream, 0,
                total, literalsFor(payload1) + 100, SECTOR));
    }

    /** Walks our encoder's output and checks every framing rule, for many inputs and sectors. */
    @Test
    void encoderLayoutFollowsTheKernel() throws Exception {
        long seed = CompressTestSupport.seed("encoderLayoutFollowsTheKernel");
        Random random = new Random(seed);
        int padded = 0;
        // 400 inputs, and more (bounded) until one needed padding: padding is a matter of chance.
        for (int i = 0; i < 400 || (padded == 0 && i < 20_000); i++) {
            int sector = new int[] {512, 1024, 4096, 4096, 65536}[random.nextInt(5)];
            int len = 1 + random.nextInt(12 * sector);
            Data kind = Data.values()[random.nextInt(Data.values().length)];
            byte[] data = kind.make(random, len);
            byte[] stream = CompressTestSupport.encode(CompressionType.LZO, data, sector);
            padded += checkLayout(stream, len, sector, "seed " + seed + " i " + i + " " + kind);
            assertArrayEquals(data, Decompressor.decompress(CompressionType.LZO, stream, 0, stream.length, len, sector));
        }
        System.out.println("encoderLayoutFollowsTheKernel: " + padded + " paddings seen");
        assertTrue(padded > 0, "no input needed padding; the padding path went untested");
    }

    /** Returns the number of paddings in the stream. */
    private static int checkLayout(byte[] s, int len, int sector, String what) {
        assertEquals(s.length, getLe32(s, 0), what + ": total length");
        int cur = LZO_LEN;
        int segments = 0;
        int paddings = 0;
        while (cur < s.length) {
            assertTrue(cur % sector <= sector - LZO_LEN, what + ": header straddles at " + cur);
            int segLen = getLe32(s, cur);
            assertTrue(segLen > 0 && segLen <= LzoCodec.worstCompress(sector), what + ": segment length " + segLen);
            cur += LZO_LEN + segLen;
            int left = sector - cur % sector;
            if (left < LZO_LEN) {
                for (int i = cur; i < cur + left; i++) {
                    assertEquals(0, s[i], what + ": padding at " + i);
                }
                cur += left;
                paddings++;
            }
            segments++;
        }
        assertEquals(s.length, cur, what + ": segments end at the total length");
        assertEquals((len + sector - 1) / sector, segments, what + ": one segment per sector of input");
        return paddings;
    }

    /** The kernel's "lzo header invalid" check and its neighbours. */
    @Test
    void totalLengthIsChecked() throws Exception {
        Seg seg = new Seg(1000, (byte) 9);
        byte[] stream = build(SECTOR, seg);
        byte[] disk = CompressTestSupport.padToSector(stream, SECTOR);
        assertArrayEquals(expected(seg), Decompressor.decompress(CompressionType.LZO, disk, 0, SECTOR, 1000, SECTOR));
        // Inline: the stream exactly, not sector aligned.
        assertArrayEquals(expected(seg), Decompressor.decompress(CompressionType.LZO, stream, 0, stream.length, 1000,
                SECTOR));
        for (int total : new int[] {0, 3, stream.length + 1, SECTOR + 1, -1}) {
            byte[] bad = disk.clone();
            putLe32(bad, 0, total);
            expectCorrupt(bad, SECTOR, 1000, "total " + total);
        }
        // A whole unused sector after the stream: round_up(total) < compressed length.
        byte[] twoSectors = Arrays.copyOf(stream, 2 * SECTOR);
        expectCorrupt(twoSectors, 2 * SECTOR, 1000, "unused sector");
        expectCorrupt(new byte[] {4, 0, 0}, 3, 0, "shorter than the header");
    }

    @Test
    void segmentLengthIsChecked() {
        byte[] disk = CompressTestSupport.padToSector(build(SECTOR, new Seg(1000, (byte) 9)), SECTOR);
        int[] bad = {0, 1, 2, 1000, LzoCodec.worstCompress(SECTOR) + 1, -1, getLe32(disk, 0)};
        for (int segLen : bad) {
            byte[] b = disk.clone();
            putLe32(b, LZO_LEN, segLen);
            expectCorrupt(b, SECTOR, 1000, "segment length " + segLen);
        }
    }

    @Test
    void segmentDecodingToMoreThanASectorIsCorrupt() {
        byte[] data = new byte[SECTOR + 1];
        byte[] block = lzoLiterals(data, 0, data.length);
        assertTrue(block.length <= LzoCodec.worstCompress(SECTOR));
        byte[] stream = new byte[2 * SECTOR];
        putLe32(stream, 0, 2 * LZO_LEN + block.length);
        putLe32(stream, LZO_LEN, block.length);
        System.arraycopy(block, 0, stream, 2 * LZO_LEN, block.length);
        expectCorrupt(stream, 2 * SECTOR, SECTOR + 1, "segment of sector + 1 bytes");
    }

    @Test
    void streamEndingEarlyIsZeroPadded() throws Exception {
        byte[] stream = build(SECTOR, new Seg(10, (byte) 3));
        byte[] out = Decompressor.decompress(CompressionType.LZO, stream, 0, stream.length, 3 * SECTOR, SECTOR);
        byte[] want = new byte[3 * SECTOR];
        Arrays.fill(want, 0, 10, (byte) 3);
        assertArrayEquals(want, out);
    }

    private static void expectCorrupt(byte[] src, int len, int ramBytes, String what) {
        try {
            Decompressor.decompress(CompressionType.LZO, src, 0, len, ramBytes, SECTOR);
            fail(what + ": expected CorruptImageException");
        } catch (CorruptImageException e) {
            assertTrue(e.getMessage().startsWith("lzo extent"), e.getMessage());
        }
    }
}
