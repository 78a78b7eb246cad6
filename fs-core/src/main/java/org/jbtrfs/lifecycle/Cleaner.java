package org.jbtrfs.lifecycle;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.jbtrfs.InodeId;
import org.jbtrfs.race.RacePoint;

/**
 * btrfs's cleaner kthread, for the work jbtrfs has of it: delayed iputs — inodes whose last name
 * and last open handle are gone, evicted in the background (btrfs_add_delayed_iput,
 * btrfs_run_delayed_iputs) — then dead roots (btrfs_clean_one_deleted_snapshot, in bounded steps
 * that stop when {@link #shouldYield} says so) and unused block groups (btrfs_delete_unused_bgs):
 * the {@link Job} after the iputs.
 *
 * <h2>Seed 003</h2>
 * The cleaner does its work holding {@link #mutex} (the kernel's cleaner_mutex) and checks, under
 * it, that the filesystem is writable before it starts (a transaction would follow). A remount to
 * read-only takes the same mutex ({@link #holdIdle}) before it runs the pending delayed iputs
 * itself and commits: so the cleaner is idle while the remount commits, and finds the filesystem
 * read-only afterwards — no transaction starts after the remount's commit (patches 3 and 5).
 */
public final class Cleaner {
    private static final Logger LOG = Logger.getLogger(Cleaner.class.getName());

    /** Evicts one inode (the Filesystem's evict, in its own transaction). */
    public interface Evictor {
        void evict(InodeId id) throws IOException;
    }

    /** Other work of a round, after the delayed iputs (dead roots, unused block groups). */
    public interface Job {
        void run() throws IOException;
    }

    private final Evictor evictor;
    private final BooleanSupplier writable;
    private final Job afterIputs;
    /** The cleaner_mutex: held by the cleaner while it works, and by a remount to read-only. */
    private final ReentrantLock mutex = new ReentrantLock();
    /** Guards the queue; never held while evicting. */
    private final ReentrantLock lock = new ReentrantLock();
    private final ArrayDeque<InodeId> delayedIputs = new ArrayDeque<>();
    private final Worker worker = new Worker() {
        @Override
        long intervalNanos() {
            return Long.MAX_VALUE; // only when there is work
        }

        @Override
        void round() {
            cleanOnce();
        }
    };

    public Cleaner(Evictor evictor, BooleanSupplier writable, Job afterIputs) {
        this.evictor = evictor;
        this.writable = writable;
        this.afterIputs = afterIputs;
    }

    /** Wakes the cleaner for a round (after a commit: groups may have become empty). */
    public void kick() {
        worker.kick();
    }

    public void start(String name) {
        worker.start(name);
    }

    /** btrfs_add_delayed_iput: queue an eviction and wake the cleaner. */
    public void addDelayedIput(InodeId id) {
        lock.lock();
        try {
            delayedIputs.add(id);
        } finally {
            lock.unlock();
        }
        worker.kick();
    }

    /** Delayed iputs not run yet. */
    public int pending() {
        lock.lock();
        try {
            return delayedIputs.size();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Waits until the cleaner is idle and keeps it so: returns holding the cleaner mutex, which the
     * caller releases with {@link #releaseIdle}. Used by remount read-only and close.
     */
    public void holdIdle() {
        mutex.lock();
    }

    public void releaseIdle() {
        mutex.unlock();
    }

    /** Whether some thread (the cleaner, or a remount holding it idle) holds the cleaner mutex. */
    public boolean isBusy() {
        return mutex.isLocked();
    }

    /**
     * btrfs_need_cleaner_sleep for long work (dead roots): stop at the next step boundary when the
     * filesystem is going read-only or closing, or anyone waits for the cleaner mutex (a remount,
     * close, or a caller running the cleaner's work itself). The work left stays queued.
     */
    public boolean shouldYield() {
        return worker.stopRequested() || mutex.hasQueuedThreads() || !writable.getAsBoolean();
    }

    /** Threads waiting for the cleaner mutex: tests use it to see a remount blocked on a busy cleaner. */
    public int waitingForMutex() {
        return mutex.getQueueLength();
    }

    /**
     * btrfs_run_delayed_iputs: runs every queued eviction in the calling thread, which must hold the
     * cleaner mutex (through {@link #holdIdle}, or being the cleaner). Returns how many ran; the
     * first failure stops it and is thrown, the rest stay queued.
     */
    public int runDelayedIputs() throws IOException {
        return runDelayedIputs(evictor);
    }

    /**
     * The space reclaimer's RUN_DELAYED_IPUTS stage: when the cleaner is idle (its mutex free) and
     * the filesystem writable, runs the queue in the calling thread with {@code reclaimEvictor} —
     * one that does not wait for space, since the reclaimer itself would have to make it. A busy
     * cleaner is running the queue already, or a remount holds it: then this does nothing (waiting
     * could deadlock with a cleaner that waits for space). Returns how many ran.
     */
    public int runDelayedIputsIfIdle(Evictor reclaimEvictor) throws IOException {
        if (!mutex.tryLock()) {
            return 0;
        }
        try {
            return writable.getAsBoolean() ? runDelayedIputs(reclaimEvictor) : 0;
        } finally {
            mutex.unlock();
        }
    }

    private int runDelayedIputs(Evictor ev) throws IOException {
        if (!mutex.isHeldByCurrentThread()) {
            throw new IllegalStateException("delayed iputs run without the cleaner mutex");
        }
        int ran = 0;
        while (true) {
            InodeId id;
            lock.lock();
            try {
                id = delayedIputs.peek();
            } finally {
                lock.unlock();
            }
            if (id == null) {
                return ran;
            }
            ev.evict(id);
            lock.lock();
            try {
                delayedIputs.poll();
            } finally {
                lock.unlock();
            }
            ran++;
        }
    }

    /** Stops the thread after its current round; the queue stays for whoever runs it next. */
    public void stop() {
        worker.stop();
    }

    /** One round: under the mutex, if the filesystem is writable, run the queue. */
    private void cleanOnce() {
        RacePoint.CLEANER_WOKEN.hit();
        mutex.lock();
        try {
            // Under the mutex: a remount to read-only either finished (we see it) or waits for us.
            if (!writable.getAsBoolean()) {
                return;
            }
            RacePoint.CLEANER_WORKING.hit();
            runDelayedIputs();
            afterIputs.run();
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.WARNING, "cleaner: delayed iput failed: " + e, e);
        } finally {
            mutex.unlock();
        }
    }

    /** The queue, for leak reports. */
    public List<InodeId> pendingIds() {
        lock.lock();
        try {
            return new ArrayList<>(delayedIputs);
        } finally {
            lock.unlock();
        }
    }
}
