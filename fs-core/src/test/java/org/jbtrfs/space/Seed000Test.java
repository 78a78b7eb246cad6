package org.jbtrfs.space;

import static org.jbtrfs.space.SpaceTestSupport.KIB;
import static org.jbtrfs.space.SpaceTestSupport.MIB;
import static org.jbtrfs.space.SpaceTestSupport.WAIT_SECONDS;
import static org.jbtrfs.space.SpaceTestSupport.spaces;
import static org.jbtrfs.space.SpaceTestSupport.stopAndCheck;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jbtrfs.Errno;
import org.jbtrfs.race.RacePoint;
import org.jbtrfs.space.SpaceTestSupport.Reserver;
import org.jbtrfs.space.SpaceTestSupport.ScriptedFlusher;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Seed 000 (shared/seeds/000_e6d467e046e214eb.txt): a task waiting on a metadata reservation
 * ticket is interrupted (killed) while the async reclaimer can grant its ticket. Before the fix the
 * waiter set EINTR on its ticket without taking it off the list; the reclaimer then granted it,
 * adding to bytes_may_use for a caller that had already returned an error, and the bytes leaked
 * (fstests generic/269: fill the filesystem, kill fsstress, unmount: WARN in
 * btrfs_free_block_groups, "may_use=196608").
 *
 * <p>Both orders of the race are forced with race points, never with sleeps:
 * <ul>
 *   <li>the grant wins: the reclaimer grants while the interrupted waiter is between its wakeup and
 *       the check of its ticket; the waiter keeps the grant and returns success, interrupt still
 *       pending;</li>
 *   <li>the interrupt wins (the seed's order): the waiter checks first, fails with EINTR and takes
 *       its ticket off the list; the reclaimer, exhausting its stages, fails the big ticket ahead
 *       of it and tries to grant the rest — and must find nothing to grant.</li>
 * </ul>
 * Both end with the unmount leak check.
 */
class Seed000Test {
    @AfterEach
    void disarm() {
        RacePoint.disarmAll();
    }

    private static Reserver queue(SpaceInfos s, SpaceInfo space, long bytes, String name, AtomicBoolean owns)
            throws InterruptedException {
        Reserver r = new Reserver(name, () -> {
            s.reserveBytes(space, bytes, FlushPolicy.FLUSH_ALL);
            owns.set(true);
        });
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
    void grantBeforeTheInterruptedWaitersCheckIsKeptAndReleased() throws Exception {
        SpaceInfos s = spaces(1 * MIB, 0);
        SpaceInfo m = s.metadata();
        s.reserveBytes(m, 1 * MIB, FlushPolicy.NO_FLUSH); // the filesystem is full
        ScriptedFlusher f = new ScriptedFlusher().held();
        // The reclaimer's first stage frees 256K (say, delayed items ran), which grants at once.
        AtomicBoolean freed = new AtomicBoolean();
        f.action = state -> {
            if (freed.compareAndSet(false, true)) {
                m.freeBytesMayUse(256 * KIB);
            }
        };
        s.reclaimer().start(f);

        AtomicBoolean waiterOwns = new AtomicBoolean();
        Reserver waiter = new Reserver("waiter", () -> {
            s.reserveBytes(m, 64 * KIB, FlushPolicy.FLUSH_ALL);
            waiterOwns.set(true);
        });
        RacePoint.Gate beforeCheck = RacePoint.TICKET_WAIT_BEFORE_CHECK.arm(waiter);
        waiter.start();
        assertTrue(f.entered.await(WAIT_SECONDS, TimeUnit.SECONDS), "the reclaimer never started flushing");

        // The task is killed: woken, it stops just before taking the lock to check its ticket.
        waiter.interrupt();
        assertTrue(beforeCheck.awaitHit(WAIT_SECONDS, TimeUnit.SECONDS), "the waiter never woke");

        // At that moment the reclaimer frees space and is about to grant the ticket, lock held.
        RacePoint.Gate grant = RacePoint.TICKET_GRANT.arm();
        f.open();
        assertTrue(grant.awaitHit(WAIT_SECONDS, TimeUnit.SECONDS), "the reclaimer never came to grant");
        assertSame(f.lastThread, grant.hitBy(), "the grant is the reclaimer's");
        assertTrue(grant.hitBy().getName().startsWith("jbtrfs-space-reclaim-METADATA"), grant.hitBy().getName());

        // The waiter goes for the lock (and queues on it); the grant completes first.
        beforeCheck.release();
        grant.release();
        waiter.assertSucceeded();
        assertTrue(waiterOwns.get(), "granted before its check: the waiter keeps the bytes");
        assertTrue(waiter.interruptedAfter(), "and its interrupt stays pending for the caller");

        SpaceInfo.Counters c = m.counters();
        assertEquals(1 * MIB - 256 * KIB + 64 * KIB, c.bytesMayUse());
        assertEquals(0, c.tickets());
        assertEquals(0, c.reclaimSize());
        // The owner of a successful reservation releases it; then nothing is left.
        m.freeBytesMayUse(64 * KIB);
        m.freeBytesMayUse(1 * MIB - 256 * KIB);
        stopAndCheck(s);
    }

    @Test
    void interruptedWaiterTakesItsTicketOffTheListBeforeTheReclaimerCanGrantIt() throws Exception {
        SpaceInfos s = spaces(1 * MIB, 0);
        SpaceInfo m = s.metadata();
        long holder = 1 * MIB - 64 * KIB;
        s.reserveBytes(m, holder, FlushPolicy.NO_FLUSH); // 64K free
        ScriptedFlusher f = new ScriptedFlusher().held(); // frees nothing, ever
        s.reclaimer().start(f);

        // A big reservation waits; the small one (it would fit in the 64K) waits behind it (FIFO).
        AtomicBoolean bigOwns = new AtomicBoolean();
        AtomicBoolean waiterOwns = new AtomicBoolean();
        Reserver big = queue(s, m, 512 * KIB, "big", bigOwns);
        Reserver waiter = queue(s, m, 16 * KIB, "waiter", waiterOwns);
        assertEquals(List.of(512 * KIB, 16 * KIB), m.queuedTicketBytes(false));
        assertTrue(f.entered.await(WAIT_SECONDS, TimeUnit.SECONDS), "the reclaimer never started flushing");

        // The waiter is killed and checks its ticket: still pending, so it fails with EINTR.
        RacePoint.Gate beforeCheck = RacePoint.TICKET_WAIT_BEFORE_CHECK.arm(waiter);
        waiter.interrupt();
        assertTrue(beforeCheck.awaitHit(WAIT_SECONDS, TimeUnit.SECONDS), "the waiter never woke");
        RacePoint.Gate grant = RacePoint.TICKET_GRANT.observe();
        beforeCheck.release();
        waiter.assertFailed(Errno.EINTR);
        assertFalse(waiterOwns.get());
        assertTrue(waiter.interruptedAfter());
        assertEquals(List.of(512 * KIB), m.queuedTicketBytes(false), "the EINTR ticket is off the list");

        // The reclaimer flushes everything, frees nothing, and fails the big ticket; trying to
        // grant what is behind it (the seed's step 6) must find nothing.
        f.open();
        big.assertFailed(Errno.ENOSPC);
        assertTrue(s.reclaimer().awaitIdle(WAIT_SECONDS, TimeUnit.SECONDS));
        SpaceInfo.Counters c = m.counters();
        assertEquals(holder, c.bytesMayUse(), "bytes_may_use leaked: " + m.dump());
        assertFalse(grant.wasHit(), "a ticket was granted after its waiter failed with EINTR");
        grant.release();
        assertEquals(0, c.tickets());
        assertEquals(0, c.reclaimSize());
        m.freeBytesMayUse(holder);
        stopAndCheck(s);
    }
}
