package org.jbtrfs.extent;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.jbtrfs.FsException;
import org.jbtrfs.device.ChunkMap;
import org.jbtrfs.format.BlockGroupItem;
import org.jbtrfs.format.ChunkItem;
import org.junit.jupiter.api.Test;

/** The allocator keeps off the logical addresses that map onto superblock copies (exclude_super_stripes). */
class BlockGroupsSuperRangesTest {
    private static final long MIB = 1L << 20;
    private static final long K64 = 64 * 1024;

    private static ChunkMap.Mapping chunk(long logical, long length, long... stripes) {
        List<ChunkItem.Stripe> s = new ArrayList<>();
        for (long off : stripes) {
            s.add(new ChunkItem.Stripe(1, off, new byte[16]));
        }
        return new ChunkMap.Mapping(logical, length, BlockGroupItem.METADATA | BlockGroupItem.DUP, s);
    }

    /** {@link BlockGroups#superStripes} as sorted [start, end) pairs. */
    private static long[][] superRanges(ChunkMap.Mapping m) {
        List<long[]> l = new ArrayList<>();
        for (long[] r : BlockGroups.superStripes(m.logical(), m.length(), m.stripes())) {
            l.add(new long[] {r[0], r[0] + r[1]});
        }
        l.sort((x, y) -> Long.compareUnsigned(x[0], y[0]));
        return l.toArray(new long[0][]);
    }

    @Test
    void rangesFollowEachStripeAndStopAtTheChunkEnd() {
        // (logical, length, stripes) -> expected [start, end) ranges
        // The 256 MiB mkfs layout: only the second stripe (49..81 MiB) holds the copy at 64 MiB.
        assertArrayEquals(new long[][] {{24 * MIB, 24 * MIB + K64}},
                superRanges(chunk(9 * MIB, 32 * MIB, 17 * MIB, 49 * MIB)));
        // Both stripes around the copy (DUP stripes 1 MiB apart): two ranges, sorted.
        assertArrayEquals(new long[][] {{20 * MIB, 20 * MIB + K64}, {21 * MIB, 21 * MIB + K64}},
                superRanges(chunk(16 * MIB, 8 * MIB, 60 * MIB, 59 * MIB)));
        assertEquals(0, superRanges(chunk(MIB, 8 * MIB, MIB, 9 * MIB)).length, "no copy inside");
        // The copy at 64 MiB is the chunk's last 32 KiB on the first stripe: cut at the end.
        long[][] cut = superRanges(chunk(100 * MIB, 32 * MIB + 32 * 1024, 32 * MIB, 200 * MIB));
        assertArrayEquals(new long[][] {{132 * MIB, 132 * MIB + 32 * 1024}}, cut);
        // The primary copy at 64 KiB is below every chunk (the first MiB is reserved), but if a
        // stripe did cover it, it would be excluded too, with everything below it.
        assertArrayEquals(new long[][] {{0, K64}, {K64, 2 * K64}}, superRanges(chunk(0, MIB, 0)));
    }

    @Test
    void reserveSkipsTheSuperRangeAndStillFillsTheRest() throws FsException {
        BlockGroups groups = new BlockGroups(4096);
        // Stripe 1 starts 1 MiB before the copy at 64 MiB: logical 1 MiB into the group maps onto it.
        BlockGroup bg = groups.makeBlockGroup(chunk(10 * MIB, 2 * MIB, 80 * MIB, 63 * MIB));
        long mirror = 11 * MIB;
        long total = 0;
        List<Long> got = new ArrayList<>();
        while (true) {
            long at;
            try {
                at = groups.reserve(BlockGroupItem.METADATA, 16384, 0);
            } catch (FsException e) {
                break;
            }
            assertTrue(at + 16384 <= mirror || at >= mirror + K64, "allocated " + at + " over the superblock copy");
            got.add(at);
            total += 16384;
        }
        assertEquals(2 * MIB - K64, total, "everything but the 64 KiB around the copy is handed out");
        assertEquals(mirror + K64, (long) got.get((int) ((mirror - 10 * MIB) / 16384)), "the first block after the gap");
        assertTrue(bg.used() == 0);
    }
}
