package org.jbtrfs.space;

import static org.jbtrfs.space.FlushState.ALLOC_CHUNK;
import static org.jbtrfs.space.FlushState.ALLOC_CHUNK_FORCE;
import static org.jbtrfs.space.FlushState.COMMIT_TRANS;
import static org.jbtrfs.space.FlushState.FLUSH_DELALLOC;
import static org.jbtrfs.space.FlushState.FLUSH_DELALLOC_FULL;
import static org.jbtrfs.space.FlushState.FLUSH_DELALLOC_WAIT;
import static org.jbtrfs.space.FlushState.FLUSH_DELAYED_ITEMS;
import static org.jbtrfs.space.FlushState.FLUSH_DELAYED_ITEMS_NR;
import static org.jbtrfs.space.FlushState.FLUSH_DELAYED_REFS;
import static org.jbtrfs.space.FlushState.FLUSH_DELAYED_REFS_NR;
import static org.jbtrfs.space.FlushState.RUN_DELAYED_IPUTS;
import static org.jbtrfs.space.SpaceTestSupport.KIB;
import static org.jbtrfs.space.SpaceTestSupport.MIB;
import static org.jbtrfs.space.SpaceTestSupport.WAIT_SECONDS;
import static org.jbtrfs.space.SpaceTestSupport.spaces;
import static org.jbtrfs.space.SpaceTestSupport.stopAndCheck;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.jbtrfs.Errno;
import org.jbtrfs.FsException;
import org.jbtrfs.race.RacePoint;
import org.jbtrfs.space.SpaceTestSupport.Reserver;
import org.jbtrfs.space.SpaceTestSupport.ScriptedFlusher;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The async reclaimer's escalation, its end in ENOSPC or EIO, and the priority flushers. */
class SpaceReclaimerTest {
    @AfterEach
    void disarm() {
        RacePoint.disarmAll();
    }

    private static final List<FlushState> FIRST_TRIP = List.of(FLUSH_DELAYED_ITEMS_NR, FLUSH_DELAYED_ITEMS,
            FLUSH_DELAYED_REFS_NR, FLUSH_DELAYED_REFS, FLUSH_DELALLOC, FLUSH_DELALLOC_WAIT,
            /* no FLUSH_DELALLOC_FULL */ ALLOC_CHUNK, /* no ALLOC_CHUNK_FORCE */ RUN_DELAYED_IPUTS, COMMIT_TRANS);
    private static final List<FlushState> FULL_TRIP = List.of(FlushState.values());

    /** A full metadata space_info and its reclaimer, started with {@code f}. */
    private static SpaceInfos fullMetadata(Flusher f) throws FsException {
        SpaceInfos s = spaces(1 * MIB, 0);
        s.reserveBytes(s.metadata(), 1 * MIB, FlushPolicy.NO_FLUSH);
        s.reclaimer().start(f);
        return s;
    }

    @Test
    void escalatesThroughEveryStageThreeTimesThenFailsWithEnospc() throws Exception {
        ScriptedFlusher f = new ScriptedFlusher();
        SpaceInfos s = fullMetadata(f);
        SpaceInfo m = s.metadata();
        FsException e = assertThrows(FsException.class, () -> s.reserveBytes(m, 64 * KIB, FlushPolicy.FLUSH_ALL));
        assertEquals(Errno.ENOSPC, e.errno());
        List<FlushState> expected = new ArrayList<>(FIRST_TRIP);
        expected.addAll(FULL_TRIP); // second trip: one commit cycle behind us, everything allowed
        expected.addAll(FULL_TRIP); // third trip; then commit_cycles > 2 and the tickets fail
        assertTrue(s.reclaimer().awaitIdle(WAIT_SECONDS, TimeUnit.SECONDS));
        assertEquals(expected, f.snapshot());
        assertEquals(1 * MIB, m.counters().bytesMayUse());
        m.freeBytesMayUse(1 * MIB);
        stopAndCheck(s);
    }

    @Test
    void stopsEscalatingOnceACommitFreesEnough() throws Exception {
        ScriptedFlusher f = new ScriptedFlusher();
        SpaceInfos s = spaces(1 * MIB, 0);
        SpaceInfo m = s.metadata();
        s.reserveBytes(m, 768 * KIB, FlushPolicy.NO_FLUSH);
        m.lock().lock();
        try {
            m.addBytesPinned(256 * KIB); // freed in this transaction, reusable after the commit
        } finally {
            m.lock().unlock();
        }
        f.action = state -> {
            if (state == COMMIT_TRANS) {
                m.unpinBytes(256 * KIB, false);
            }
        };
        s.reclaimer().start(f);
        s.reserveBytes(m, 128 * KIB, FlushPolicy.FLUSH_ALL);
        assertTrue(s.reclaimer().awaitIdle(WAIT_SECONDS, TimeUnit.SECONDS));
        assertEquals(FIRST_TRIP, f.snapshot(), "the commit granted the ticket; no further stage ran");
        m.freeBytesMayUse(768 * KIB + 128 * KIB);
        stopAndCheck(s);
    }

    @Test
    void failingABigTicketLetsSmallerOnesBehindItThrough() throws Exception {
        // maybe_fail_all_tickets' reason to retry grants after each failure.
        SpaceInfos s = spaces(1 * MIB, 0);
        SpaceInfo m = s.metadata();
        s.reserveBytes(m, 1 * MIB - 64 * KIB, FlushPolicy.NO_FLUSH);
        ScriptedFlusher f = new ScriptedFlusher().held();
        s.reclaimer().start(f);
        Reserver big = TicketTest.queue(s, m, 512 * KIB, FlushPolicy.FLUSH_ALL, "big");
        Reserver small = TicketTest.queue(s, m, 32 * KIB, FlushPolicy.FLUSH_ALL, "small");
        f.open();
        big.assertFailed(Errno.ENOSPC);
        small.assertSucceeded();
        m.freeBytesMayUse(1 * MIB - 32 * KIB);
        stopAndCheck(s);
    }

    @Test
    void dataReclaimAllocatesAChunkFirst() throws Exception {
        ScriptedFlusher f = new ScriptedFlusher();
        SpaceInfos s = spaces(0, 1 * MIB);
        SpaceInfo d = s.data();
        s.reserveDataBytes(1 * MIB, FlushPolicy.FLUSH_DATA);
        f.action = state -> {
            if (state == ALLOC_CHUNK_FORCE) {
                d.addBlockGroup(8 * MIB, 0, 0);
            }
        };
        s.reclaimer().start(f);
        s.reserveDataBytes(512 * KIB, FlushPolicy.FLUSH_DATA);
        assertTrue(s.reclaimer().awaitIdle(WAIT_SECONDS, TimeUnit.SECONDS));
        assertEquals(List.of(ALLOC_CHUNK_FORCE), f.snapshot());
        d.freeBytesMayUse(1 * MIB + 512 * KIB);
        stopAndCheck(s);
    }

    @Test
    void dataReclaimFailsWithEnospcOnceTheDeviceIsFull() throws Exception {
        ScriptedFlusher f = new ScriptedFlusher();
        SpaceInfos s = spaces(0, 1 * MIB);
        SpaceInfo d = s.data();
        s.reserveDataBytes(1 * MIB, FlushPolicy.FLUSH_DATA);
        f.action = state -> {
            if (state == ALLOC_CHUNK_FORCE) {
                d.setFull(true); // no device space left for a data chunk
            }
        };
        s.reclaimer().start(f);
        FsException e = assertThrows(FsException.class, () -> s.reserveDataBytes(4 * KIB, FlushPolicy.FLUSH_DATA));
        assertEquals(Errno.ENOSPC, e.errno());
        assertTrue(s.reclaimer().awaitIdle(WAIT_SECONDS, TimeUnit.SECONDS));
        assertEquals(List.of(ALLOC_CHUNK_FORCE, FLUSH_DELALLOC_FULL, RUN_DELAYED_IPUTS, COMMIT_TRANS, ALLOC_CHUNK_FORCE),
                f.snapshot());
        d.freeBytesMayUse(1 * MIB);
        stopAndCheck(s);
    }

    @Test
    void dataReclaimEndsEvenIfTheAllocatorNeverSaysFull() throws Exception {
        SpaceInfos s = spaces(0, 1 * MIB);
        s.reserveDataBytes(1 * MIB, FlushPolicy.FLUSH_DATA);
        s.reclaimer().start(Flusher.NONE);
        FsException e = assertThrows(FsException.class, () -> s.reserveDataBytes(4 * KIB, FlushPolicy.FLUSH_DATA));
        assertEquals(Errno.ENOSPC, e.errno());
        s.data().freeBytesMayUse(1 * MIB);
        stopAndCheck(s);
    }

    @Test
    void anAbortedFilesystemFailsTicketsWithEio() throws Exception {
        ScriptedFlusher f = new ScriptedFlusher();
        f.fsError = true;
        SpaceInfos s = fullMetadata(f);
        FsException e = assertThrows(FsException.class,
                () -> s.reserveBytes(s.metadata(), 64 * KIB, FlushPolicy.FLUSH_ALL));
        assertEquals(Errno.EIO, e.errno());
        assertTrue(s.reclaimer().awaitIdle(WAIT_SECONDS, TimeUnit.SECONDS));
        assertEquals(List.of(FLUSH_DELAYED_ITEMS_NR), f.snapshot());
        s.metadata().freeBytesMayUse(1 * MIB);
        stopAndCheck(s);
    }

    @Test
    void flushLimitFlushesItsOwnStatesInItsOwnThreadThenFails() throws Exception {
        ScriptedFlusher f = new ScriptedFlusher();
        SpaceInfos s = fullMetadata(f);
        Reserver r = new Reserver("limit", () -> s.reserveBytes(s.metadata(), 64 * KIB, FlushPolicy.FLUSH_LIMIT));
        r.begin().assertFailed(Errno.ENOSPC);
        assertEquals(List.of(FLUSH_DELAYED_ITEMS_NR, FLUSH_DELAYED_ITEMS, ALLOC_CHUNK), f.snapshot());
        assertSame(r, f.lastThread, "a priority reserver flushes in its own thread");
        s.metadata().freeBytesMayUse(1 * MIB);
        stopAndCheck(s);
    }

    @Test
    void evictionStealsFromTheGlobalReserveWhenFlushingFails() throws Exception {
        ScriptedFlusher f = new ScriptedFlusher();
        SpaceInfos s = spaces(8 * MIB, 0);
        SpaceInfo m = s.metadata();
        BlockRsvs rsvs = s.blockRsvs();
        rsvs.updateGlobalBlockRsv(BlockRsvTest.trees(16 * KIB, 16 * KIB, 16 * KIB, 16 * KIB));
        long global = rsvs.globalRsv.reserved();
        assertEquals(5632 * KIB, global, "an empty filesystem's global reserve: the unlink floor");
        s.reserveBytes(m, 8 * MIB - global, FlushPolicy.NO_FLUSH); // the rest of the space
        s.reclaimer().start(f);

        s.reserveBytes(m, 256 * KIB, FlushPolicy.FLUSH_EVICT);
        assertEquals(List.of(SpaceReclaimer.EVICT_FLUSH_STATES), f.snapshot());
        assertEquals(global - 256 * KIB, rsvs.globalRsv.reserved(), "taken from the global reserve");
        assertEquals(8 * MIB, m.counters().bytesMayUse(), "stealing moves bytes, it adds none");
        // FLUSH_ALL may not steal: it fails once the (no-op) flushing is done.
        FsException e = assertThrows(FsException.class, () -> s.reserveBytes(m, 256 * KIB, FlushPolicy.FLUSH_ALL));
        assertEquals(Errno.ENOSPC, e.errno());

        m.freeBytesMayUse(8 * MIB - global + 256 * KIB);
        stopAndCheck(s);
    }

    @Test
    void aReclaimerThatBreaksFailsItsTicketsAndSaysWhy() throws Exception {
        SpaceInfos s = spaces(1 * MIB, 0);
        SpaceInfo m = s.metadata();
        s.reserveBytes(m, 1 * MIB, FlushPolicy.NO_FLUSH);
        ScriptedFlusher f = new ScriptedFlusher();
        // A hook that makes a reservation which may commit would wait for itself: refused.
        f.action = state -> {
            try {
                s.reserveBytes(m, 4 * KIB, FlushPolicy.FLUSH_ALL);
            } catch (FsException e) {
                throw new AssertionError(e);
            }
        };
        s.reclaimer().start(f);
        FsException e = assertThrows(FsException.class, () -> s.reserveBytes(m, 64 * KIB, FlushPolicy.FLUSH_ALL));
        assertEquals(Errno.EIO, e.errno());
        assertTrue(e.getMessage().contains("space reclaimer failed"), e.getMessage());
        assertTrue(s.reclaimer().awaitIdle(WAIT_SECONDS, TimeUnit.SECONDS));
        Throwable failure = s.reclaimer().failure();
        assertNotNull(failure);
        assertInstanceOf(AssertionError.class, failure);
        assertTrue(failure.getMessage().contains("the reclaimer would wait for itself"), failure.getMessage());
        s.reclaimer().stop(Errno.EROFS, "test over");
        m.freeBytesMayUse(1 * MIB);
        s.assertNoLeak();
    }
}
