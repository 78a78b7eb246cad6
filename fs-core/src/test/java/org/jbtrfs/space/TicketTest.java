package org.jbtrfs.space;

import static org.jbtrfs.space.SpaceTestSupport.KIB;
import static org.jbtrfs.space.SpaceTestSupport.MIB;
import static org.jbtrfs.space.SpaceTestSupport.WAIT_SECONDS;
import static org.jbtrfs.space.SpaceTestSupport.spaces;
import static org.jbtrfs.space.SpaceTestSupport.stopAndCheck;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.TimeUnit;
import org.jbtrfs.Errno;
import org.jbtrfs.FsException;
import org.jbtrfs.race.RacePoint;
import org.jbtrfs.space.SpaceTestSupport.Reserver;
import org.jbtrfs.space.SpaceTestSupport.ScriptedFlusher;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Tickets: queued in order, granted as space comes back, priority first, failed when no reclaimer
 * runs. The reclaimer is held busy in its first stage (a long commit) so that only the test's
 * releases grant.
 */
class TicketTest {
    @AfterEach
    void disarm() {
        RacePoint.disarmAll();
    }

    /** Starts a reservation in its own thread and returns once its ticket is queued. */
    static Reserver queue(SpaceInfos s, SpaceInfo space, long bytes, FlushPolicy flush, String name)
            throws InterruptedException {
        Reserver r = new Reserver(name, () -> s.reserveBytes(space, bytes, flush));
        RacePoint.Gate queued = RacePoint.TICKET_QUEUED.arm(r);
        r.start();
        try {
            assertTrue(queued.awaitHit(WAIT_SECONDS, TimeUnit.SECONDS), name + " never queued a ticket");
        } finally {
            queued.release();
        }
        return r;
    }

    @Test
    void withoutReclaimerAWaitingReservationFailsAtOnce() throws FsException {
        SpaceInfos s = spaces(1 * MIB, 0);
        SpaceInfo m = s.metadata();
        s.reserveBytes(m, 1 * MIB, FlushPolicy.NO_FLUSH);
        FsException e = assertThrows(FsException.class, () -> s.reserveBytes(m, 4 * KIB, FlushPolicy.FLUSH_ALL));
        assertEquals(Errno.ENOSPC, e.errno());
        assertTrue(e.getMessage().contains("reclaimer is not running"), e.getMessage());
        m.freeBytesMayUse(1 * MIB);
        s.assertNoLeak();
    }

    @Test
    void ticketsAreGrantedInOrderAsAnotherThreadReleases() throws Exception {
        SpaceInfos s = spaces(1 * MIB, 0);
        SpaceInfo m = s.metadata();
        s.reserveBytes(m, 1 * MIB, FlushPolicy.NO_FLUSH);
        ScriptedFlusher f = new ScriptedFlusher().held();
        s.reclaimer().start(f);

        Reserver a = queue(s, m, 300 * KIB, FlushPolicy.FLUSH_ALL, "A");
        Reserver b = queue(s, m, 100 * KIB, FlushPolicy.FLUSH_ALL, "B");
        Reserver c = queue(s, m, 50 * KIB, FlushPolicy.FLUSH_ALL, "C");
        assertEquals(List.of(300 * KIB, 100 * KIB, 50 * KIB), m.queuedTicketBytes(false));
        assertEquals(450 * KIB, m.counters().reclaimSize());

        // A new reservation that would fit still waits behind them: NO_FLUSH fails instead.
        Reserver releaser = new Reserver("releaser", () -> m.freeBytesMayUse(50 * KIB)).begin();
        releaser.assertSucceeded();
        assertEquals(List.of(300 * KIB, 100 * KIB, 50 * KIB), m.queuedTicketBytes(false),
                "C fits in 50K but waits behind A: FIFO");
        assertThrows(FsException.class, () -> s.reserveBytes(m, 4 * KIB, FlushPolicy.NO_FLUSH));

        new Reserver("releaser", () -> m.freeBytesMayUse(250 * KIB)).begin().assertSucceeded();
        a.assertSucceeded();
        assertEquals(List.of(100 * KIB, 50 * KIB), m.queuedTicketBytes(false));
        assertFalse(b.isDone());

        new Reserver("releaser", () -> m.freeBytesMayUse(150 * KIB)).begin().assertSucceeded();
        b.assertSucceeded();
        c.assertSucceeded();
        assertEquals(List.of(), m.queuedTicketBytes(false));
        SpaceInfo.Counters after = m.counters();
        assertEquals(1 * MIB, after.bytesMayUse(), "holder's 574K plus A, B and C");
        assertEquals(0, after.reclaimSize());

        m.freeBytesMayUse(1 * MIB);
        f.open();
        stopAndCheck(s);
    }

    @Test
    void priorityTicketsAreGrantedFirst() throws Exception {
        SpaceInfos s = spaces(1 * MIB, 0);
        SpaceInfo m = s.metadata();
        s.reserveBytes(m, 1 * MIB, FlushPolicy.NO_FLUSH);
        ScriptedFlusher f = new ScriptedFlusher().held();
        s.reclaimer().start(f);

        Reserver normal = queue(s, m, 200 * KIB, FlushPolicy.FLUSH_ALL, "normal");
        Reserver priority = queue(s, m, 200 * KIB, FlushPolicy.FLUSH_LIMIT, "priority");
        assertEquals(List.of(200 * KIB), m.queuedTicketBytes(false));
        assertEquals(List.of(200 * KIB), m.queuedTicketBytes(true));

        m.freeBytesMayUse(200 * KIB);
        assertEquals(List.of(), m.queuedTicketBytes(true), "the priority ticket came second and was served first");
        assertEquals(List.of(200 * KIB), m.queuedTicketBytes(false));

        // With 100K free and the normal ticket still waiting, a priority reservation goes through
        // (it waits only behind priority tickets); a NO_FLUSH one does not jump the queue.
        m.freeBytesMayUse(100 * KIB);
        assertThrows(FsException.class, () -> s.reserveBytes(m, 100 * KIB, FlushPolicy.NO_FLUSH));
        s.reserveBytes(m, 100 * KIB, FlushPolicy.FLUSH_LIMIT);
        assertEquals(List.of(200 * KIB), m.queuedTicketBytes(false));

        m.freeBytesMayUse(200 * KIB);
        assertEquals(List.of(), m.queuedTicketBytes(false));
        assertEquals(1 * MIB, m.counters().bytesMayUse());

        f.open(); // the priority reserver was flushing in its own thread, held in the flusher
        priority.assertSucceeded();
        normal.assertSucceeded();
        m.freeBytesMayUse(1 * MIB);
        stopAndCheck(s);
    }

    @Test
    void interruptedWaiterFailsWithEintrAndTakesItsTicketAway() throws Exception {
        SpaceInfos s = spaces(1 * MIB, 0);
        SpaceInfo m = s.metadata();
        s.reserveBytes(m, 1 * MIB, FlushPolicy.NO_FLUSH);
        ScriptedFlusher f = new ScriptedFlusher().held();
        s.reclaimer().start(f);

        Reserver w = queue(s, m, 64 * KIB, FlushPolicy.FLUSH_ALL, "waiter");
        w.interrupt();
        FsException e = w.assertFailed(Errno.EINTR);
        assertTrue(e.getMessage().contains("interrupted while waiting for 65536 bytes of METADATA"), e.getMessage());
        assertTrue(w.interruptedAfter(), "the interrupt stays pending for the caller, like a signal");
        SpaceInfo.Counters c = m.counters();
        assertEquals(0, c.tickets());
        assertEquals(0, c.reclaimSize());
        assertEquals(1 * MIB, c.bytesMayUse(), "nothing reserved for the interrupted waiter");

        m.freeBytesMayUse(1 * MIB);
        f.open();
        stopAndCheck(s);
    }

    @Test
    void stoppingTheReclaimerFailsWaitingTicketsWithTheReason() throws Exception {
        SpaceInfos s = spaces(1 * MIB, 0);
        SpaceInfo m = s.metadata();
        s.reserveBytes(m, 1 * MIB - 64 * KIB, FlushPolicy.NO_FLUSH);
        ScriptedFlusher f = new ScriptedFlusher().held();
        s.reclaimer().start(f);
        Reserver w = queue(s, m, 128 * KIB, FlushPolicy.FLUSH_ALL, "waiter");

        // stop() fails the tickets first, then waits for the worker, which is busy in a stage.
        Reserver stopper = new Reserver("stopper",
                () -> s.reclaimer().stop(Errno.EROFS, "the filesystem is being remounted read-only")).begin();
        FsException e = w.assertFailed(Errno.EROFS);
        assertTrue(e.getMessage().contains("remounted read-only"), e.getMessage());
        f.open();
        stopper.assertSucceeded();
        assertFalse(s.reclaimer().isRunning());

        // Stopped: a reservation that would wait fails at once; one that fits still goes through.
        FsException again = assertThrows(FsException.class, () -> s.reserveBytes(m, 128 * KIB, FlushPolicy.FLUSH_ALL));
        assertEquals(Errno.EROFS, again.errno());
        s.reserveBytes(m, 64 * KIB, FlushPolicy.FLUSH_ALL);

        // Started again (remount read-write): tickets wait for the reclaimer again.
        s.reclaimer().start(Flusher.NONE);
        FsException enospc = assertThrows(FsException.class, () -> s.reserveBytes(m, 4 * KIB, FlushPolicy.FLUSH_ALL));
        assertEquals(Errno.ENOSPC, enospc.errno());
        assertTrue(enospc.getMessage().contains("after flushing everything"), enospc.getMessage());
        m.freeBytesMayUse(1 * MIB);
        stopAndCheck(s);
    }
}
