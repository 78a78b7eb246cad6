package org.jbtrfs.space;

import static org.jbtrfs.space.SpaceTestSupport.KIB;
import static org.jbtrfs.space.SpaceTestSupport.MIB;
import static org.jbtrfs.space.SpaceTestSupport.spaces;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.jbtrfs.Errno;
import org.jbtrfs.FsException;
import org.junit.jupiter.api.Test;

/** Block reserves: sizes, reserve/use/release with spill-over, migrate, fallbacks, leaks. */
class BlockRsvTest {

    static GlobalRsvTrees trees(long rootTree, long... globalRoots) {
        return new GlobalRsvTrees() {
            @Override
            public long rootTreeBytesUsed() {
                return rootTree;
            }

            @Override
            public long[] globalRootsBytesUsed() {
                return globalRoots.clone();
            }
        };
    }

    /** nodesize, items, insert size, change size, delayed ref bytes with and without free space tree. */
    record SizeRow(int nodesize, long items, long insert, long change, long refsFst, long refsNoFst) {}

    @Test
    void worstCaseSizesAreNodesizeTimesMaxLevelPerItem() {
        List<SizeRow> rows = List.of(
                new SizeRow(16384, 1, 256 * KIB, 128 * KIB, 512 * KIB, 256 * KIB),
                new SizeRow(16384, 6, 1536 * KIB, 768 * KIB, 3 * MIB, 1536 * KIB),
                new SizeRow(4096, 1, 64 * KIB, 32 * KIB, 128 * KIB, 64 * KIB),
                new SizeRow(65536, 3, 3 * MIB, 1536 * KIB, 6 * MIB, 3 * MIB));
        for (SizeRow r : rows) {
            assertEquals(r.insert(), BlockRsvs.calcInsertMetadataSize(r.nodesize(), r.items()), r.toString());
            assertEquals(r.change(), BlockRsvs.calcMetadataSize(r.nodesize(), r.items()), r.toString());
            assertEquals(r.refsFst(), BlockRsvs.calcDelayedRefBytes(r.nodesize(), r.items(), true), r.toString());
            assertEquals(r.refsNoFst(), BlockRsvs.calcDelayedRefBytes(r.nodesize(), r.items(), false), r.toString());
        }
        assertThrows(ArithmeticException.class, () -> BlockRsvs.calcInsertMetadataSize(65536, Long.MAX_VALUE / 4));
    }

    /** root tree used, global roots used, expected global reserve size (nodesize 16K, free space tree). */
    record GlobalRow(String what, long rootTree, long[] roots, long size) {}

    @Test
    void globalReserveIsSizedFromTheTreesTheKernelsWay() {
        BlockRsvs rsvs = spaces(1 * MIB, 0).blockRsvs();
        // Floor: (1 + roots + 6 unlink items) inserts plus 6 delayed refs (doubled: free space tree).
        long floor3 = 10 * 256 * KIB + 6 * 512 * KIB;
        long floor4 = 11 * 256 * KIB + 6 * 512 * KIB;
        List<GlobalRow> rows = List.of(
                new GlobalRow("fresh mkfs: the unlink floor", 16 * KIB, new long[] {16 * KIB, 16 * KIB, 16 * KIB},
                        floor3),
                new GlobalRow("block group tree adds an item", 16 * KIB,
                        new long[] {16 * KIB, 16 * KIB, 16 * KIB, 16 * KIB}, floor4),
                new GlobalRow("big trees: their size", 10 * MIB, new long[] {40 * MIB, 30 * MIB, 20 * MIB}, 100 * MIB),
                new GlobalRow("huge trees: capped", 1L << 30, new long[] {1L << 32, 1L << 32, 1L << 30},
                        BlockRsvs.GLOBAL_RSV_SIZE_MAX_BYTES));
        for (GlobalRow r : rows) {
            assertEquals(r.size(), rsvs.globalRsvSize(trees(r.rootTree(), r.roots())), r.what());
        }
    }

    @Test
    void updatingTheGlobalReserveReservesAndFreesAtOnce() {
        SpaceInfos s = spaces(64 * MIB, 0);
        BlockRsvs rsvs = s.blockRsvs();
        SpaceInfo m = s.metadata();
        rsvs.updateGlobalBlockRsv(trees(10 * MIB, 40 * MIB, 30 * MIB, 20 * MIB));
        assertEquals(100 * MIB, rsvs.globalRsv.size());
        assertEquals(100 * MIB, rsvs.globalRsv.reserved());
        assertTrue(rsvs.globalRsv.isFull());
        assertEquals(100 * MIB, m.counters().bytesMayUse(), "the global reserve may overcommit");
        m.lock().lock();
        try {
            assertTrue(m.forceAlloc(), "a global reserve bigger than the space forces a chunk");
        } finally {
            m.lock().unlock();
        }
        rsvs.updateGlobalBlockRsv(trees(16 * KIB, 16 * KIB, 16 * KIB, 16 * KIB));
        assertEquals(5632 * KIB, m.counters().bytesMayUse(), "shrunk: the excess is freed");
        rsvs.releaseGlobalBlockRsv();
        s.assertNoLeak();
    }

    @Test
    void addUseAndReleaseAccountInBytesMayUse() throws FsException {
        SpaceInfos s = spaces(4 * MIB, 0);
        SpaceInfo m = s.metadata();
        BlockRsvs rsvs = s.blockRsvs();
        BlockRsv trans = rsvs.transRsv;
        rsvs.add(trans, 1 * MIB, FlushPolicy.FLUSH_ALL);
        assertEquals(1 * MIB, trans.size());
        assertEquals(1 * MIB, trans.reserved());
        assertEquals(1 * MIB, m.counters().bytesMayUse());

        // A tree block allocation uses 16K: it leaves the rsv and becomes an allocated extent.
        assertSame(trans, rsvs.useBlockRsv(trans, 16 * KIB));
        m.addReservedBytes(16 * KIB, 16 * KIB);
        assertEquals(1 * MIB - 16 * KIB, trans.reserved());
        assertFalse(trans.isFull());

        // Ending the handle releases the whole size; what it still holds goes back.
        assertEquals(1 * MIB - 16 * KIB, rsvs.release(trans, 1 * MIB));
        assertEquals(0, trans.size());
        assertEquals(0, trans.reserved());
        SpaceInfo.Counters c = m.counters();
        assertEquals(0, c.bytesMayUse());
        assertEquals(16 * KIB, c.bytesReserved());
        m.allocUsedBytes(16 * KIB);
        s.assertNoLeak();
    }

    @Test
    void releasedExcessTopsUpTheDelayedRefsReserveThenTheGlobalOne() throws FsException {
        SpaceInfos s = spaces(8 * MIB, 0);
        SpaceInfo m = s.metadata();
        BlockRsvs rsvs = s.blockRsvs();
        // The delayed refs reserve has spent its 512K on extent tree blocks: size 512K, reserved 0.
        rsvs.add(rsvs.delayedRefsRsv, 512 * KIB, FlushPolicy.NO_FLUSH);
        rsvs.delayedRefsRsv.useBytes(512 * KIB);
        m.addReservedBytes(512 * KIB, 512 * KIB);

        rsvs.add(rsvs.transRsv, 1 * MIB, FlushPolicy.NO_FLUSH);
        rsvs.release(rsvs.transRsv, 1 * MIB);
        assertEquals(512 * KIB, rsvs.delayedRefsRsv.reserved(), "half the excess refilled the delayed refs rsv");
        assertTrue(rsvs.delayedRefsRsv.isFull());
        assertEquals(512 * KIB, m.counters().bytesMayUse(), "the other half went back to the space_info");

        // The delayed refs reserve spills into the global one (empty here, so it all goes back).
        rsvs.release(rsvs.delayedRefsRsv, BlockRsvs.RELEASE_ALL);
        assertEquals(0, m.counters().bytesMayUse());
        m.freeReservedBytes(512 * KIB, false);
        s.assertNoLeak();
    }

    @Test
    void migrateMovesReservedBytesOrFailsWithEnospc() throws FsException {
        SpaceInfos s = spaces(4 * MIB, 0);
        BlockRsvs rsvs = s.blockRsvs();
        BlockRsv src = rsvs.allocBlockRsv(BlockRsvType.TEMP);
        BlockRsv dst = rsvs.allocBlockRsv(BlockRsvType.TEMP);
        rsvs.add(src, 100 * KIB, FlushPolicy.NO_FLUSH);
        BlockRsvs.migrate(src, dst, 60 * KIB, true);
        assertEquals(40 * KIB, src.reserved());
        assertEquals(60 * KIB, dst.size());
        assertEquals(60 * KIB, dst.reserved());
        FsException e = assertThrows(FsException.class, () -> BlockRsvs.migrate(src, dst, 50 * KIB, true));
        assertEquals(Errno.ENOSPC, e.errno());
        assertEquals(100 * KIB, s.metadata().counters().bytesMayUse(), "migration moves, never reserves");
        rsvs.freeBlockRsv(src);
        rsvs.freeBlockRsv(dst);
        s.assertNoLeak();
    }

    @Test
    void refillReservesOnlyWhatIsMissing() throws FsException {
        SpaceInfos s = spaces(4 * MIB, 0);
        BlockRsvs rsvs = s.blockRsvs();
        BlockRsv rsv = rsvs.allocBlockRsv(BlockRsvType.TEMP);
        rsvs.refill(rsv, 128 * KIB, FlushPolicy.NO_FLUSH);
        rsvs.refill(rsv, 64 * KIB, FlushPolicy.NO_FLUSH);
        assertEquals(128 * KIB, rsv.reserved());
        rsvs.refill(rsv, 256 * KIB, FlushPolicy.NO_FLUSH);
        assertEquals(256 * KIB, rsv.reserved());
        assertEquals(0, rsv.size(), "refill does not change the size");
        assertEquals(256 * KIB, s.metadata().counters().bytesMayUse());
        rsvs.freeBlockRsv(rsv);
        s.assertNoLeak();
    }

    @Test
    void useBlockRsvFallsBackToTheSpaceThenGlobalThenEmergency() throws FsException {
        SpaceInfos s = spaces(2 * MIB, 0);
        SpaceInfo m = s.metadata();
        BlockRsvs rsvs = s.blockRsvs();
        // A reserve of size 0 goes straight to a NO_FLUSH reservation in the space_info.
        assertSame(rsvs.emptyRsv, rsvs.useBlockRsv(rsvs.emptyRsv, 16 * KIB));
        assertEquals(16 * KIB, m.counters().bytesMayUse());
        // Promise the rest of the space, 32K of it to the global reserve.
        s.reserveBytes(m, 2 * MIB - 48 * KIB, FlushPolicy.NO_FLUSH);
        rsvs.refill(rsvs.globalRsv, 32 * KIB, FlushPolicy.NO_FLUSH);
        assertEquals(2 * MIB, m.counters().bytesMayUse());
        // Full: the global reserve pays, twice; then an emergency reservation, since nothing is
        // used or allocated yet (only promised), so real space remains.
        assertSame(rsvs.globalRsv, rsvs.useBlockRsv(rsvs.emptyRsv, 16 * KIB));
        assertSame(rsvs.globalRsv, rsvs.useBlockRsv(rsvs.emptyRsv, 16 * KIB));
        assertEquals(0, rsvs.globalRsv.reserved());
        assertSame(rsvs.emptyRsv, rsvs.useBlockRsv(rsvs.emptyRsv, 16 * KIB));
        assertEquals(2 * MIB + 16 * KIB, m.counters().bytesMayUse());
        // A failfast reserve that runs short fails instead of falling back.
        m.freeBytesMayUse(64 * KIB);
        BlockRsv temp = rsvs.allocBlockRsv(BlockRsvType.TEMP);
        temp.setFailfast(true);
        rsvs.add(temp, 16 * KIB, FlushPolicy.NO_FLUSH);
        assertSame(temp, rsvs.useBlockRsv(temp, 16 * KIB));
        FsException e = assertThrows(FsException.class, () -> rsvs.useBlockRsv(temp, 16 * KIB));
        assertEquals(Errno.ENOSPC, e.errno());
        assertTrue(e.getMessage().contains("failfast"), e.getMessage());
        rsvs.freeBlockRsv(temp);
        // The blocks' bytes are still promised (no extent was really allocated here): give back.
        m.freeBytesMayUse(m.counters().bytesMayUse());
        rsvs.releaseGlobalBlockRsv();
        s.assertNoLeak();
    }

    @Test
    void unreleasedReservesAreLeaks() throws FsException {
        SpaceInfos s = spaces(4 * MIB, 0);
        BlockRsvs rsvs = s.blockRsvs();
        rsvs.add(rsvs.transRsv, 64 * KIB, FlushPolicy.NO_FLUSH);
        BlockRsv temp = rsvs.allocBlockRsv(BlockRsvType.TEMP);
        rsvs.add(temp, 32 * KIB, FlushPolicy.NO_FLUSH);
        List<String> lines = s.leakLines();
        assertEquals("LEAK METADATA trans_block_rsv.size 65536", lines.get(0));
        assertEquals("LEAK METADATA trans_block_rsv.reserved 65536", lines.get(1));
        assertEquals("LEAK METADATA temp_block_rsv(allocated).size 32768", lines.get(2));
        assertEquals("LEAK METADATA temp_block_rsv(allocated).reserved 32768", lines.get(3));
        assertTrue(lines.get(4).startsWith("LEAK METADATA temp_block_rsv(allocated) not freed (created at "
                + BlockRsvTest.class.getName()), lines.get(4));
        assertEquals("LEAK METADATA bytes_may_use 98304", lines.get(5));
        assertEquals(6, lines.size(), lines.toString());
        rsvs.release(rsvs.transRsv, 64 * KIB);
        rsvs.freeBlockRsv(temp);
        s.assertNoLeak();
    }

    @Test
    void releasingMoreThanTheSizeIsABug() throws FsException {
        SpaceInfos s = spaces(4 * MIB, 0);
        BlockRsvs rsvs = s.blockRsvs();
        rsvs.add(rsvs.transRsv, 64 * KIB, FlushPolicy.NO_FLUSH);
        AssertionError e = assertThrows(AssertionError.class, () -> rsvs.release(rsvs.transRsv, 128 * KIB));
        assertTrue(e.getMessage().contains("trans_block_rsv.size underflow: have 65536, delta -131072"), e.getMessage());
        rsvs.release(rsvs.transRsv, 64 * KIB);
        s.assertNoLeak();
    }
}
