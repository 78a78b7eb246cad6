package org.jbtrfs.space;

import static org.jbtrfs.space.SpaceTestSupport.KIB;
import static org.jbtrfs.space.SpaceTestSupport.MIB;
import static org.jbtrfs.space.SpaceTestSupport.spaces;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.jbtrfs.Errno;
import org.jbtrfs.FsException;
import org.junit.jupiter.api.Test;

/** The counters, their updaters and the fast path of reservation (no ticket, no thread). */
class SpaceInfoTest {

    @Test
    void blockGroupAccountsTotalAndDiskWithTheProfileFactor() {
        SpaceInfos s = spaces(0, 0);
        s.metadata().addBlockGroup(8 * MIB, 3 * MIB, 64 * KIB);
        s.data().addBlockGroup(8 * MIB, 1 * MIB, 0);
        SpaceInfo.Counters m = s.metadata().counters();
        assertEquals(8 * MIB, m.totalBytes());
        assertEquals(16 * MIB, m.diskTotal(), "metadata is DUP: twice the device bytes");
        assertEquals(3 * MIB, m.bytesUsed());
        assertEquals(6 * MIB, m.diskUsed());
        assertEquals(64 * KIB, m.bytesReadonly());
        SpaceInfo.Counters d = s.data().counters();
        assertEquals(8 * MIB, d.diskTotal(), "data is SINGLE");
        assertEquals(1 * MIB, d.diskUsed());
    }

    @Test
    void fastPathReservesIntoBytesMayUseAndFreesBack() throws FsException {
        SpaceInfos s = spaces(1 * MIB, 0);
        SpaceInfo m = s.metadata();
        s.reserveBytes(m, 256 * KIB, FlushPolicy.FLUSH_ALL);
        s.reserveBytes(m, 768 * KIB, FlushPolicy.NO_FLUSH);
        assertEquals(1 * MIB, m.counters().bytesMayUse());
        FsException e = assertThrows(FsException.class, () -> s.reserveBytes(m, 4 * KIB, FlushPolicy.NO_FLUSH));
        assertEquals(Errno.ENOSPC, e.errno());
        assertEquals(1 * MIB, m.counters().bytesMayUse(), "a failed reservation reserves nothing");
        m.freeBytesMayUse(1 * MIB);
        assertTrue(m.leakLines().isEmpty(), m.leakLines().toString());
    }

    /** One row of the extent lifecycle: an operation and the counters after it. */
    record Step(String what, Consumer<SpaceInfo> op, long mayUse, long reserved, long used, long pinned,
            long readonly, long diskUsed) {}

    @Test
    void extentLifecycleMovesBytesBetweenCounters() throws FsException {
        SpaceInfos s = spaces(0, 0);
        SpaceInfo d = s.data();
        d.addBlockGroup(1 * MIB, 0, 0);
        s.reserveDataBytes(128 * KIB, FlushPolicy.FLUSH_DATA);
        // Table in the style of fs/btrfs/tests: each step and the counters it must leave.
        List<Step> steps = List.of(
                new Step("allocate 64K for a 128K compressed write", x -> x.addReservedBytes(128 * KIB, 64 * KIB),
                        0, 64 * KIB, 0, 0, 0, 0),
                new Step("insert its reference", x -> x.allocUsedBytes(64 * KIB), 0, 0, 64 * KIB, 0, 0, 64 * KIB),
                new Step("drop the last reference", x -> x.freeUsedBytes(64 * KIB), 0, 0, 0, 64 * KIB, 0, 0),
                new Step("commit unpins it", x -> x.unpinBytes(64 * KIB, false), 0, 0, 0, 0, 0, 0),
                new Step("a block group turns read-only", x -> x.incBlockGroupRo(32 * KIB), 0, 0, 0, 0, 32 * KIB, 0),
                new Step("and back", x -> x.decBlockGroupRo(32 * KIB), 0, 0, 0, 0, 0, 0));
        for (Step step : steps) {
            step.op().accept(d);
            SpaceInfo.Counters c = d.counters();
            String at = step.what() + ": " + d.dump();
            assertEquals(step.mayUse(), c.bytesMayUse(), at);
            assertEquals(step.reserved(), c.bytesReserved(), at);
            assertEquals(step.used(), c.bytesUsed(), at);
            assertEquals(step.pinned(), c.bytesPinned(), at);
            assertEquals(step.readonly(), c.bytesReadonly(), at);
            assertEquals(step.diskUsed(), c.diskUsed(), at);
        }
        d.assertNoLeak();
    }

    @Test
    void underflowFailsWithTheValues() {
        SpaceInfo m = spaces(1 * MIB, 0).metadata();
        AssertionError e = assertThrows(AssertionError.class, () -> m.freeBytesMayUse(4096));
        assertTrue(e.getMessage().contains("METADATA bytes_may_use underflow: have 0, delta -4096"), e.getMessage());
        assertEquals(0, m.counters().bytesMayUse(), "the failed update changed nothing");
        assertFalse(m.lock().isHeldByCurrentThread(), "the lock was released on the way out");
    }

    @Test
    void updaterWithoutTheLockFails() {
        SpaceInfo m = spaces(1 * MIB, 0).metadata();
        AssertionError e = assertThrows(AssertionError.class, () -> m.addBytesMayUse(4096));
        assertTrue(e.getMessage().contains("without its space_info lock"), e.getMessage());
        AssertionError read = assertThrows(AssertionError.class, m::bytesMayUse);
        assertTrue(read.getMessage().contains("without its lock"), read.getMessage());
    }

    @Test
    void overcommitIsBoundedByUnallocatedSpace() throws FsException {
        // 16 MiB unallocated, metadata DUP: 8 MiB could still become metadata chunks. FLUSH_ALL may
        // overcommit by 1/8 of that (1 MiB), other policies by 1/2 (4 MiB); strictly less than.
        AtomicLong unallocated = new AtomicLong(16 * MIB);
        SpaceInfos s = spaces(1 * MIB, 0, unallocated);
        SpaceInfo m = s.metadata();
        s.reserveBytes(m, 1 * MIB, FlushPolicy.NO_FLUSH);
        s.reserveBytes(m, 1 * MIB - 4 * KIB, FlushPolicy.FLUSH_ALL);
        assertEquals(2 * MIB - 4 * KIB, m.counters().bytesMayUse(), "FLUSH_ALL overcommitted to just under 1/8");
        s.reserveBytes(m, 3 * MIB, FlushPolicy.NO_FLUSH);
        FsException e = assertThrows(FsException.class, () -> s.reserveBytes(m, 4 * KIB, FlushPolicy.NO_FLUSH));
        assertEquals(Errno.ENOSPC, e.errno(), "NO_FLUSH stops just under total + 1/2 of the chunk space");
        // Chunk space shrinking (someone allocated a data chunk) shrinks the bound at once.
        unallocated.set(0);
        m.freeBytesMayUse(3 * MIB);
        assertThrows(FsException.class, () -> s.reserveBytes(m, 4 * KIB, FlushPolicy.NO_FLUSH));
        m.freeBytesMayUse(2 * MIB - 4 * KIB);
        m.assertNoLeak();
    }

    @Test
    void dataNeverOvercommits() {
        SpaceInfos s = spaces(0, 1 * MIB, new AtomicLong(1L << 40));
        SpaceInfo d = s.data();
        d.lock().lock();
        try {
            assertFalse(d.canOvercommit(4096, FlushPolicy.NO_FLUSH));
        } finally {
            d.lock().unlock();
        }
    }

    @Test
    void emergencyIgnoresBytesMayUseButNotRealSpace() throws FsException {
        SpaceInfos s = spaces(1 * MIB, 0);
        SpaceInfo m = s.metadata();
        s.reserveBytes(m, 1 * MIB, FlushPolicy.NO_FLUSH);
        s.reserveBytes(m, 16 * KIB, FlushPolicy.FLUSH_EMERGENCY);
        assertEquals(1 * MIB + 16 * KIB, m.counters().bytesMayUse());
        m.lock().lock();
        try {
            m.addBytesUsed(1 * MIB);
        } finally {
            m.lock().unlock();
        }
        assertThrows(FsException.class, () -> s.reserveBytes(m, 4 * KIB, FlushPolicy.FLUSH_EMERGENCY));
        m.freeBytesMayUse(1 * MIB + 16 * KIB);
    }

    @Test
    void leakLinesNameTypeCounterAndValue() throws FsException {
        SpaceInfos s = spaces(1 * MIB, 1 * MIB);
        s.reserveBytes(s.metadata(), 196608, FlushPolicy.NO_FLUSH);
        s.data().lock().lock();
        try {
            s.data().addBytesReserved(8192);
        } finally {
            s.data().lock().unlock();
        }
        assertEquals(List.of("LEAK METADATA bytes_may_use 196608", "LEAK DATA bytes_reserved 8192"), s.leakLines());
        AssertionError e = assertThrows(AssertionError.class, s::assertNoLeak);
        assertTrue(e.getMessage().startsWith("LEAK METADATA bytes_may_use 196608"), e.getMessage());
        assertTrue(e.getMessage().contains("space_info METADATA has"), e.getMessage());
    }

    @Test
    void profilesOtherThanSingleAndDupAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> SpaceType.profileFactor(org.jbtrfs.format.BlockGroupItem.RAID1));
        assertEquals(SpaceType.METADATA, SpaceType.ofFlags(org.jbtrfs.format.BlockGroupItem.METADATA
                | org.jbtrfs.format.BlockGroupItem.DUP));
    }
}
