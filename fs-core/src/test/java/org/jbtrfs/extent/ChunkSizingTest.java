package org.jbtrfs.extent;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.jbtrfs.Errno;
import org.jbtrfs.FsException;
import org.jbtrfs.format.BlockGroupItem;
import org.jbtrfs.format.ChunkItem;
import org.junit.jupiter.api.Test;

/**
 * The pure parts of chunk allocation against hand-computed kernel answers: the dev extent hole
 * search (find_free_dev_extent), the chunk sizing (decide_stripe_size_regular) and where the
 * superblock copies fall in a chunk (exclude_super_stripes).
 */
class ChunkSizingTest {
    static final long MIB = 1L << 20;
    static final long GIB = 1L << 30;
    static final long DATA = BlockGroupItem.DATA;
    static final long META = BlockGroupItem.METADATA;
    static final long SYS = BlockGroupItem.SYSTEM;
    static final long DUP = BlockGroupItem.DUP;

    /** The mkfs.btrfs 6.2 layout of a 256 MiB image with 4K nodes (dump-tree -t dev). */
    static DevExtents mkfs256() {
        DevExtents d = new DevExtents(256 * MIB);
        d.add(13631488, 8 * MIB);
        d.add(22020096, 8 * MIB);
        d.add(30408704, 8 * MIB);
        d.add(38797312, 32 * MIB);
        d.add(72351744, 32 * MIB);
        return d;
    }

    @Test
    void holeSearchStartsAtOneMibAndTakesTheFirstHoleBigEnough() {
        DevExtents d = mkfs256();
        // 1 MiB .. 13 MiB is the first hole (12 MiB).
        assertEquals(new DevExtents.Hole(MIB, 12 * MIB, true), d.findFreeDevExtent(4 * MIB));
        assertEquals(new DevExtents.Hole(MIB, 12 * MIB, true), d.findFreeDevExtent(12 * MIB));
        // Bigger than 12 MiB: the tail hole 101 MiB .. 256 MiB.
        assertEquals(new DevExtents.Hole(105906176, 256 * MIB - 105906176, true), d.findFreeDevExtent(13 * MIB));
        // Bigger than any: the biggest hole, not enough.
        assertEquals(new DevExtents.Hole(105906176, 256 * MIB - 105906176, false), d.findFreeDevExtent(GIB));
        assertEquals(92274688, d.allocatedBytes());
    }

    @Test
    void holeSearchIgnoresExtentsBelowTheReservedRangeAndOverlapsAreRefused() {
        DevExtents d = new DevExtents(64 * MIB);
        assertTrue(d.tryAdd(512 << 10, MIB)); // 0.5 MiB .. 1.5 MiB: only its part above 1 MiB matters
        assertEquals(new DevExtents.Hole(MIB + (MIB / 2), 64 * MIB - MIB - MIB / 2, true), d.findFreeDevExtent(MIB));
        assertFalse(d.tryAdd(MIB, 4096), "overlap");
        assertFalse(d.tryAdd(63 * MIB, 2 * MIB), "beyond the device end");
        assertTrue(d.tryAdd(MIB + MIB / 2, 62 * MIB + MIB / 2));
        DevExtents.Hole none = d.findFreeDevExtent(64 << 10);
        assertFalse(none.enough());
        assertEquals(0, none.size());
    }

    @Test
    void holeSearchMatchesABruteForceScanOfRandomLayouts() {
        long seed = Long.getLong("jbtrfs.seed", System.nanoTime());
        System.out.println("ChunkSizingTest: seed=" + seed);
        Random rnd = new Random(seed);
        for (int round = 0; round < 200; round++) {
            long unit = 64 << 10;
            int units = 32 + rnd.nextInt(200);
            DevExtents d = new DevExtents(units * unit);
            boolean[] used = new boolean[units];
            for (int i = 0; i < 20; i++) {
                int s = rnd.nextInt(units);
                int n = 1 + rnd.nextInt(8);
                if (d.tryAdd(s * unit, n * unit)) {
                    for (int k = s; k < s + n; k++) {
                        assertFalse(used[k], "seed " + seed + ": overlap accepted");
                        used[k] = true;
                    }
                }
            }
            long want = (1 + rnd.nextInt(20)) * unit;
            // Brute force over the 64 KiB units from 1 MiB.
            long firstStart = -1;
            long firstSize = 0;
            long bestStart = DevExtents.DEVICE_RANGE_RESERVED;
            long bestSize = 0;
            int u = (int) (DevExtents.DEVICE_RANGE_RESERVED / unit);
            while (u < units) {
                if (used[u]) {
                    u++;
                    continue;
                }
                int e = u;
                while (e < units && !used[e]) {
                    e++;
                }
                long size = (e - u) * unit;
                if (size > bestSize) {
                    bestStart = u * unit;
                    bestSize = size;
                }
                if (size >= want && firstStart < 0) {
                    firstStart = u * unit;
                    firstSize = size;
                }
                u = e;
            }
            DevExtents.Hole h = d.findFreeDevExtent(want);
            String ctx = "seed " + seed + " round " + round + " want " + want;
            if (firstStart >= 0) {
                assertEquals(new DevExtents.Hole(firstStart, firstSize, true), h, ctx);
            } else {
                assertEquals(new DevExtents.Hole(bestStart, bestSize, false), h, ctx);
            }
        }
    }

    @Test
    void sizesFollowTheKernelOnSmallAndLargeDevices() throws FsException {
        // 256 MiB: 10% is 25.6 MiB, rounded up to 32 MiB; DUP stripes back to back in the tail hole.
        ChunkSizing.Plan meta = ChunkSizing.plan(META, DUP, mkfs256());
        assertEquals(META | DUP, meta.flags());
        assertEquals(32 * MIB, meta.stripeSize());
        assertArrayEquals(new long[] {105906176, 105906176 + 32 * MIB}, meta.stripeOffsets());
        assertEquals(32 * MIB, ChunkSizing.plan(DATA, 0, mkfs256()).chunkSize());
        assertEquals(32 * MIB, ChunkSizing.plan(SYS, DUP, mkfs256()).chunkSize());

        // 1 GiB: 10% = 107374182 -> 112 MiB for data and metadata; system stays 32 MiB.
        assertEquals(112 * MIB, ChunkSizing.plan(DATA, 0, new DevExtents(GIB)).chunkSize());
        assertEquals(112 * MIB, ChunkSizing.plan(META, DUP, new DevExtents(GIB)).chunkSize());
        assertEquals(32 * MIB, ChunkSizing.plan(SYS, DUP, new DevExtents(GIB)).chunkSize());

        // 20 GiB: data 1 GiB, metadata 256 MiB, system 32 MiB, all starting at 1 MiB.
        ChunkSizing.Plan data = ChunkSizing.plan(DATA, 0, new DevExtents(20 * GIB));
        assertEquals(GIB, data.chunkSize());
        assertArrayEquals(new long[] {MIB}, data.stripeOffsets());
        assertEquals(256 * MIB, ChunkSizing.plan(META, DUP, new DevExtents(20 * GIB)).chunkSize());
        assertEquals(512 * MIB, ChunkSizing.plan(META, DUP, new DevExtents(20 * GIB)).deviceBytes());

        // Over 50 GiB: metadata 1 GiB, data stripes still at most 1 GiB.
        assertEquals(GIB, ChunkSizing.plan(META, DUP, new DevExtents(100 * GIB)).chunkSize());
        assertEquals(GIB, ChunkSizing.plan(DATA, 0, new DevExtents(100 * GIB)).chunkSize());
    }

    @Test
    void aSmallHoleGivesASmallerChunkDownToOneStripe() throws FsException {
        DevExtents d = new DevExtents(256 * MIB);
        d.add(MIB, 256 * MIB - MIB - 3 * MIB - (200 << 10)); // leaves 3 MiB + 200 KiB at the end
        ChunkSizing.Plan p = ChunkSizing.plan(META, DUP, d);
        // (3 MiB + 200 KiB) / 2 = 1.5 MiB + 100 KiB, rounded down to 64 KiB: 1.5 MiB + 64 KiB.
        assertEquals(MIB + MIB / 2 + (64 << 10), p.stripeSize());
        assertEquals(p.stripeOffsets()[0] + p.stripeSize(), p.stripeOffsets()[1]);

        DevExtents tiny = new DevExtents(256 * MIB);
        tiny.add(MIB, 256 * MIB - MIB - (100 << 10)); // 100 KiB left: room for SINGLE, not for DUP
        assertEquals(64 << 10, ChunkSizing.plan(DATA, 0, tiny).chunkSize());
        FsException e = assertThrows(FsException.class, () -> ChunkSizing.plan(META, DUP, tiny));
        assertEquals(Errno.ENOSPC, e.errno());
        assertTrue(e.getMessage().contains("no unallocated hole"), e.getMessage());
    }

    @Test
    void superblockCopiesMapToTheLogicalStripeTheyFallIn() {
        // mkfs 256 MiB: the metadata chunk at 30408704 has stripe 0 at 38797312 (37 MiB), so the
        // copy at 64 MiB is 27 MiB into it; stripe 1 (69 MiB ..) holds none.
        List<ChunkItem.Stripe> stripes = new ArrayList<>();
        stripes.add(new ChunkItem.Stripe(1, 38797312, new byte[16]));
        stripes.add(new ChunkItem.Stripe(1, 72351744, new byte[16]));
        List<long[]> s = BlockGroups.superStripes(30408704, 32 * MIB, stripes);
        assertEquals(1, s.size());
        assertArrayEquals(new long[] {58720256, 64 << 10}, s.get(0));
        // A chunk ending 16 KiB after the copy: cut at the chunk end.
        List<long[]> cut = BlockGroups.superStripes(10 * MIB, 16 << 10,
                List.of(new ChunkItem.Stripe(1, 64 * MIB, new byte[16])));
        assertArrayEquals(new long[] {10 * MIB, 16 << 10}, cut.get(0));
        assertTrue(BlockGroups.superStripes(10 * MIB, MIB, List.of(new ChunkItem.Stripe(1, 2 * MIB, new byte[16]))).isEmpty());
    }
}
