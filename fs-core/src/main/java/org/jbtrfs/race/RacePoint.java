package org.jbtrfs.race;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Named interleavings that production code marks and tests force (style guide practice 10; the
 * kernel's ALLOW_ERROR_INJECTION points, TigerBeetle's marks.zig).
 *
 * <p>Production code calls {@code RacePoint.X.hit()} at the exact place where a documented race
 * (a seed under {@code shared/seeds/}) needs another thread to act. Disarmed, {@link #hit()} is one
 * volatile read. A test {@link #arm() arms} a point and gets a {@link Gate}: the first thread that
 * reaches the point (or the one thread the gate was armed for) blocks there until the test calls
 * {@link Gate#release()}; the test can wait for that arrival ({@link Gate#awaitHit}) and assert
 * afterwards that the point was, or was not, reached ({@link Gate#wasHit()}). A gate is one-shot:
 * other threads pass while it holds its captive, and releasing it disarms the point. A test that
 * only needs to know whether a point was reached {@link #observe() observes} it instead: the
 * arrival is recorded and nobody is held (TigerBeetle's marks).
 *
 * <p>A thread blocked at a point keeps its interrupt status: an interrupt that arrives while it is
 * held is remembered and set again when it is released, because some points (seed 000) exist
 * precisely to study what an interrupted thread does next.
 *
 * <p>Each constant's Javadoc names the seed it serves and says which locks are held where it sits.
 */
public enum RacePoint {
    /**
     * Seed 000 (e6d467e046e214eb, metadata space leak after a task waiting on a ticket got a
     * signal), steps 2 to 4: a reservation could not be satisfied, its ticket is on the space_info's
     * list, the reserver has dropped the space_info lock and has not yet kicked the async reclaimer
     * nor started to wait. Hit by {@code org.jbtrfs.space.SpaceInfos#reserveBytes} with no lock
     * held. Tests use it to queue tickets in a known order.
     */
    TICKET_QUEUED,

    /**
     * Seed 000, step 5: a task waiting on a reservation ticket has been woken — by a grant, a
     * failure, an interrupt or spuriously — and is about to take the space_info lock to check its
     * ticket. Hit by {@code org.jbtrfs.space.SpaceInfo#waitReserveTicket} with no lock held. Every
     * wakeup passes here, an interrupt included, so a test can hold an interrupted waiter exactly
     * between its wakeup and the check of its ticket.
     */
    TICKET_WAIT_BEFORE_CHECK,

    /**
     * Seed 000, step 6: a thread — the async reclaimer, or anyone returning space — is about to
     * grant a queued ticket in {@code org.jbtrfs.space.SpaceInfo#tryGrantingTickets}. Hit with the
     * space_info lock held: armed, it blocks with that lock held (tests only; a spinlock is never
     * held across a wait in production), so a waiter released meanwhile queues on the lock and
     * checks its ticket only after the grant.
     */
    TICKET_GRANT,

    /**
     * Seed 000, the reclaim side: a reclaimer (the async worker, or a priority reserver flushing
     * for itself) is about to run one flush stage, which may free space and grant tickets or, at
     * the last stage, fail them. Hit by {@code org.jbtrfs.space.SpaceReclaimer#flushSpace} with no
     * lock held. Holding it keeps every queued ticket pending, so a test can interrupt a waiter
     * (through FUSE: SIGKILL of the client) and see it leave on its own.
     */
    RECLAIM_FLUSH,

    /**
     * Seed 003 (c1f76ad01eb07ba9, patch 3/5, race between RO remount and the cleaner): the cleaner
     * has taken its mutex and checked that the filesystem is writable, and is about to do its work
     * (delayed iputs), which starts transactions. Hit by {@code org.jbtrfs.lifecycle.Cleaner} with
     * the cleaner mutex held. A remount to read-only arriving now must wait for the cleaner to
     * finish; the kernel's bug was the cleaner starting a transaction after the remount's commit.
     */
    CLEANER_WORKING,

    /**
     * Seed 003 (patch 5/5, delayed iputs left pending) and the space reclaimer's RUN_DELAYED_IPUTS
     * stage: the cleaner thread was woken for a round and has not taken its mutex yet. Hit by
     * {@code org.jbtrfs.lifecycle.Cleaner} with no lock held. Holding it leaves queued delayed iputs
     * pending with the cleaner idle, as when the cleaner has not been scheduled yet: whoever needs
     * their space (a reservation on a full filesystem) must run them itself.
     */
    CLEANER_WOKEN,

    /**
     * Seed 003, patch 4/5: close has stopped the workers and committed, and is about to check that
     * no transaction is open or committing, no delayed iput pending, no dirty block left. Hit by
     * {@code org.jbtrfs.Filesystem#close} with the op lock held. Tests start a transaction here, as
     * a worker that was not stopped would, to see the check report it.
     */
    UNMOUNT_BEFORE_CHECK,

    /**
     * Seed 004 (7fe75ed26e782a5e, extent buffer readahead vs releasepage): a readahead of a tree
     * block has published its buffer in the cache (TREE_REF and READAHEAD set, no user reference)
     * and its read task is about to read the device. Hit by the readahead task in
     * {@code org.jbtrfs.ctree.ExtentBufferCache#readahead} with no lock held. Holding it keeps the
     * IO in flight for as long as a test needs.
     */
    READAHEAD_SUBMITTED,

    /**
     * Seed 004: an eviction sweep has picked a buffer that was not recently used and is about to
     * try to drop the cache's reference on it (try_release_extent_buffer). Hit by
     * {@code org.jbtrfs.ctree.ExtentBufferCache#shrink} with the cache's eviction lock held (a leaf
     * lock that lookups and IO never take), once per candidate.
     */
    EVICT_BEFORE_RELEASE,

    /**
     * Seed 004's rule at unmount: a filesystem's readahead has stopped taking reads and is about to
     * wait for the ones queued or in flight, before the device closes. Hit by
     * {@code org.jbtrfs.ctree.Readahead#stop} with no lock held (under the Filesystem's close).
     * Tests observe it to know the close got there while a readahead read is held in flight.
     */
    READAHEAD_STOPPING,

    /**
     * Seed 003 (patch 2/5 and 3/5: dead roots wait for a read-write mount; a remount to read-only
     * waits for the cleaner): the cleaner has ended one step of dropping a dead root (its progress
     * is in the ROOT_ITEM, its transaction ended) and is about to decide whether to go on. Hit by
     * {@code org.jbtrfs.subvol.DeadRoots#run} with the cleaner mutex held and no other lock. A
     * remount or unmount arriving now makes the cleaner stop here; the drop resumes later.
     */
    DROP_SNAPSHOT_STEP;

    /**
     * How long a thread stays held at an armed point before it gives up and fails: a test that
     * forgets to release a gate must fail, not hang the build.
     */
    public static final long HELD_MAX_SECONDS = 60;

    private final AtomicReference<Gate> gate = new AtomicReference<>();

    /** Marks that the current thread reached this point; blocks only while a test has armed it. */
    public void hit() {
        Gate g = gate.get();
        if (g != null) {
            g.arrive();
        }
    }

    /** Arms this point for whichever thread reaches it first. */
    public Gate arm() {
        return arm(null);
    }

    /**
     * Arms this point for {@code only} (null: the first thread to arrive). Fails if the point is
     * already armed: two tests sharing a point would see each other's threads.
     */
    public Gate arm(Thread only) {
        return install(new Gate(this, only, true));
    }

    /**
     * Records the first thread that reaches this point without holding it, until
     * {@link Gate#release()}: for asserting that a point was, or was not, reached.
     */
    public Gate observe() {
        return install(new Gate(this, null, false));
    }

    private Gate install(Gate g) {
        if (!gate.compareAndSet(null, g)) {
            throw new IllegalStateException("race point " + this + " is already armed");
        }
        return g;
    }

    /** Releases and disarms every point; for test cleanup, so a failed test leaves no thread held. */
    public static void disarmAll() {
        for (RacePoint p : values()) {
            Gate g = p.gate.get();
            if (g != null) {
                g.release();
            }
        }
    }

    /** One arming of a point: captures one thread, holds it until released. */
    public static final class Gate implements AutoCloseable {
        private final RacePoint point;
        private final Thread only;
        /** False for an observing gate: arrivals are recorded, nobody waits. */
        private final boolean holds;
        private final AtomicReference<Thread> hitBy = new AtomicReference<>();
        private final CountDownLatch arrived = new CountDownLatch(1);
        private final CountDownLatch released = new CountDownLatch(1);

        private Gate(RacePoint point, Thread only, boolean holds) {
            this.point = point;
            this.only = only;
            this.holds = holds;
        }

        private void arrive() {
            Thread me = Thread.currentThread();
            if (only != null && only != me) {
                return;
            }
            if (!hitBy.compareAndSet(null, me)) {
                return; // one-shot: the gate already holds its captive, later arrivals pass
            }
            arrived.countDown();
            if (!holds) {
                return;
            }
            boolean interrupted = false;
            boolean releasedInTime = false;
            long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(HELD_MAX_SECONDS);
            while (true) {
                try {
                    long leftNs = deadlineNs - System.nanoTime();
                    releasedInTime = leftNs > 0 && released.await(leftNs, TimeUnit.NANOSECONDS);
                    break;
                } catch (InterruptedException e) {
                    interrupted = true; // keep waiting; the status is set again below
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
            if (!releasedInTime) {
                throw new AssertionError("race point " + point + " held " + me.getName() + " for "
                        + HELD_MAX_SECONDS + " s and was never released");
            }
        }

        /** Waits until the captured thread has reached the point; false on timeout. */
        public boolean awaitHit(long timeout, TimeUnit unit) throws InterruptedException {
            return arrived.await(timeout, unit);
        }

        /** True once a thread was captured at the point. */
        public boolean wasHit() {
            return hitBy.get() != null;
        }

        /** The captured thread, or null. */
        public Thread hitBy() {
            return hitBy.get();
        }

        /** Lets the captured thread (if any) go on, and disarms the point. Idempotent. */
        public void release() {
            point.gate.compareAndSet(this, null);
            released.countDown();
        }

        @Override
        public void close() {
            release();
        }
    }
}
