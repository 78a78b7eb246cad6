package org.jbtrfs.space;

import static org.jbtrfs.space.SpaceTestSupport.KIB;
import static org.jbtrfs.space.SpaceTestSupport.MIB;
import static org.jbtrfs.space.SpaceTestSupport.spaces;
import static org.jbtrfs.space.SpaceTestSupport.stopAndCheck;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.jbtrfs.Errno;
import org.jbtrfs.FsException;
import org.junit.jupiter.api.Test;

/** Data reservations: sector alignment, reserve and free, waiting on the data reclaimer. */
class DelallocSpaceTest {
    record Range(long start, long len, long aligned) {}

    @Test
    void rangesWidenToWholeSectors() {
        DelallocSpace d = new DelallocSpace(spaces(0, 1 * MIB));
        List<Range> rows = List.of(
                new Range(0, 0, 0), new Range(0, 1, 4096), new Range(4095, 2, 8192), new Range(4096, 4096, 4096),
                new Range(1, 4096, 8192), new Range(123456789, 1000000, 1003520));
        for (Range r : rows) {
            assertEquals(r.aligned(), d.alignedLength(r.start(), r.len()), r.toString());
        }
        assertThrows(IllegalArgumentException.class, () -> d.alignedLength(-1, 1));
        assertThrows(IllegalArgumentException.class, () -> d.freeReservedDataSpaceNoquota(100));
    }

    @Test
    void reserveThenFreeLeavesNothing() throws FsException {
        SpaceInfos s = spaces(0, 1 * MIB);
        DelallocSpace d = new DelallocSpace(s);
        // [4095, 12289) touches sectors 0 to 3: 16K.
        assertEquals(16 * KIB, d.checkDataFreeSpace(4095, 8194, false, false));
        assertEquals(16 * KIB, s.data().counters().bytesMayUse());
        d.freeReservedDataSpace(4095, 8194);
        s.assertNoLeak();
    }

    @Test
    void noflushFailsAtOnceAndWaitingIsServedByTheDataReclaimer() throws Exception {
        SpaceInfos s = spaces(0, 1 * MIB);
        DelallocSpace d = new DelallocSpace(s);
        SpaceInfo data = s.data();
        d.checkDataFreeSpace(0, 1 * MIB - 64 * KIB, false, false);
        data.lock().lock();
        try {
            data.addBytesPinned(64 * KIB); // an overwritten extent, free after the commit
        } finally {
            data.lock().unlock();
        }
        FsException e = assertThrows(FsException.class, () -> d.checkDataFreeSpace(0, 1, true, false));
        assertEquals(Errno.ENOSPC, e.errno());

        SpaceTestSupport.ScriptedFlusher f = new SpaceTestSupport.ScriptedFlusher();
        f.action = state -> {
            if (state == FlushState.ALLOC_CHUNK_FORCE) {
                data.setFull(true); // no data chunk fits on the device any more
            } else if (state == FlushState.COMMIT_TRANS) {
                data.unpinBytes(64 * KIB, false);
            }
        };
        s.reclaimer().start(f);
        assertEquals(64 * KIB, d.allocDataChunkOndemand(64 * KIB - 100, false));
        assertEquals(List.of(FlushState.ALLOC_CHUNK_FORCE, FlushState.FLUSH_DELALLOC_FULL,
                FlushState.RUN_DELAYED_IPUTS, FlushState.COMMIT_TRANS), f.snapshot());
        assertEquals(1 * MIB, data.counters().bytesMayUse());
        d.freeReservedDataSpaceNoquota(1 * MIB);
        stopAndCheck(s);
    }
}
