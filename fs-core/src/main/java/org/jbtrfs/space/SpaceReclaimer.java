package org.jbtrfs.space;

import java.io.IOException;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.jbtrfs.Errno;
import org.jbtrfs.race.RacePoint;

/**
 * The async reclaim workers (btrfs_async_reclaim_metadata_space,
 * btrfs_async_reclaim_data_space) and the flushing they and priority reservations do
 * (flush_space, priority_reclaim_metadata_space, priority_reclaim_data_space).
 *
 * <h2>Threads</h2>
 * One daemon worker per space_info, named {@code jbtrfs-space-reclaim-<TYPE>} (the kernel's
 * separate async_reclaim_work and async_data_reclaim_work: data reclaim flushes delalloc, whose
 * writeback reserves metadata, so the two must not share one thread). A worker sleeps until a
 * reservation that queued a normal ticket {@link #kick}s it, then walks the flush states until no
 * ticket waits. The Filesystem owns the reclaimer: {@link #start} at a read-write mount,
 * {@link #stop} at remount-RO and unmount, before the transaction thread stops.
 *
 * <h2>Metadata: escalating stages</h2>
 * From {@link FlushState#FLUSH_DELAYED_ITEMS_NR} up to {@link FlushState#COMMIT_TRANS}; after
 * each stage, if a ticket was granted (tickets_id moved) start over from the first, else go up one.
 * The first trip skips FLUSH_DELALLOC_FULL and ALLOC_CHUNK_FORCE (flushing every dirty page or
 * forcing a chunk is a last resort; a commit may free pinned space first). Each trip past
 * COMMIT_TRANS is a commit cycle; progress gives one back. After more than
 * {@link #COMMIT_CYCLES_BEFORE_FAIL} cycles with no progress, {@link SpaceInfo#maybeFailAllTickets}
 * fails the tickets with ENOSPC — only then, when no stage freed anything.
 *
 * <h2>Data</h2>
 * First force chunk allocations while the allocator can; then {@link #DATA_FLUSH_STATES}, starting
 * over on progress; when a whole trip made none and the space is full (or did not grow: see
 * below), fail the tickets.
 *
 * <h2>Lock</h2>
 * {@link #lock} guards the worker state ({@code state}, {@code kicked}, {@code busy},
 * {@code workers}, {@code failure}). It is never held together with a space_info or block_rsv
 * lock: reservations kick after dropping the space_info lock. No flusher hook runs under it.
 *
 * <h2>Difference from the kernel</h2>
 * The kernel's data reclaim trusts btrfs_chunk_alloc to set space_info->full when the device is
 * exhausted, and loops while it is not. jbtrfs also counts a chunk allocation or a trip through the
 * data states that neither granted a ticket nor grew total_bytes as "the allocator can do no
 * more", so a {@link Flusher} that cannot allocate without saying so ends in ENOSPC, not a spin.
 */
public final class SpaceReclaimer {
    private static final Logger LOG = Logger.getLogger(SpaceReclaimer.class.getName());

    /** data_flush_states[]: what data reclaim tries after chunk allocation, in order. */
    static final FlushState[] DATA_FLUSH_STATES = {
        FlushState.FLUSH_DELALLOC_FULL, FlushState.RUN_DELAYED_IPUTS, FlushState.COMMIT_TRANS,
        FlushState.ALLOC_CHUNK_FORCE,
    };
    /** priority_flush_states[]: what FLUSH_LIMIT may do (the caller may hold a transaction). */
    static final FlushState[] PRIORITY_FLUSH_STATES = {
        FlushState.FLUSH_DELAYED_ITEMS_NR, FlushState.FLUSH_DELAYED_ITEMS, FlushState.ALLOC_CHUNK,
    };
    /** evict_flush_states[]: what FLUSH_EVICT may do, commit last. */
    static final FlushState[] EVICT_FLUSH_STATES = {
        FlushState.FLUSH_DELAYED_ITEMS_NR, FlushState.FLUSH_DELAYED_ITEMS, FlushState.FLUSH_DELAYED_REFS_NR,
        FlushState.FLUSH_DELAYED_REFS, FlushState.FLUSH_DELALLOC, FlushState.FLUSH_DELALLOC_WAIT,
        FlushState.FLUSH_DELALLOC_FULL, FlushState.ALLOC_CHUNK, FlushState.COMMIT_TRANS,
    };
    /**
     * Trips through every metadata state without a grant before the tickets fail (the kernel's
     * {@code commit_cycles > 2}): three commits in a row that free nothing mean nothing will.
     */
    static final int COMMIT_CYCLES_BEFORE_FAIL = 2;
    /**
     * How long {@link #stop} waits for a worker to finish its current stage (a commit can take a
     * while). Past it, stop fails loudly rather than let unmount hang.
     */
    public static final long STOP_WAIT_MAX_SECONDS = 60;

    private enum State { NEW, RUNNING, STOPPING, STOPPED }

    private final SpaceInfos spaces;

    /** Guards state, kicked, busy, workers, failure. Never held with any other lock of this package. */
    private final ReentrantLock lock = new ReentrantLock();
    /** Signalled on kick, on a worker finishing a round, and on stop. */
    private final Condition changed = lock.newCondition();
    /** Guarded by lock. */
    private State state = State.NEW;
    /** Space types with a kick not yet taken by their worker. Guarded by lock. */
    private final EnumSet<SpaceType> kicked = EnumSet.noneOf(SpaceType.class);
    /** Space types whose worker is in a reclaim round. Guarded by lock. */
    private final EnumSet<SpaceType> busy = EnumSet.noneOf(SpaceType.class);
    /** Guarded by lock. */
    private final List<Worker> workers = new ArrayList<>();
    /** The first unexpected throwable a worker caught. Guarded by lock. */
    private Throwable failure;

    /** The hooks; {@link Flusher#NONE} until started and after stopped. */
    private volatile Flusher flusher = Flusher.NONE;
    /** Read by workers between stages, so a stop does not wait for a whole round. */
    private volatile boolean stopRequested;

    SpaceReclaimer(SpaceInfos spaces) {
        this.spaces = spaces;
    }

    /** True for the reclaimer's own threads (which must never wait on a normal ticket). */
    static boolean isReclaimWorker(Thread t) {
        return t instanceof Worker;
    }

    /** Starts one worker per space_info and opens tickets. Again after {@link #stop} is fine. */
    public void start(Flusher hooks) {
        if (hooks == null) {
            throw new IllegalArgumentException("null flusher");
        }
        lock.lock();
        try {
            if (state == State.RUNNING || state == State.STOPPING) {
                throw new IllegalStateException("space reclaimer already " + state);
            }
            flusher = hooks;
            stopRequested = false;
            kicked.clear();
            busy.clear();
            state = State.RUNNING;
            for (SpaceInfo s : spaces.all()) {
                Worker w = new Worker(s);
                workers.add(w);
                w.start();
            }
        } finally {
            lock.unlock();
        }
        for (SpaceInfo s : spaces.all()) {
            s.openTickets();
        }
    }

    /**
     * Stops the workers. Every ticket still waiting fails with {@code errno} and {@code reason},
     * and until the next start a reservation that would have to wait fails at once with them.
     * Waits up to {@link #STOP_WAIT_MAX_SECONDS} for each worker to finish its current stage.
     */
    public void stop(Errno errno, String reason) {
        List<Worker> stopping;
        lock.lock();
        try {
            if (state != State.RUNNING) {
                return;
            }
            state = State.STOPPING;
            stopRequested = true;
            changed.signalAll();
            stopping = new ArrayList<>(workers);
        } finally {
            lock.unlock();
        }
        for (SpaceInfo s : spaces.all()) {
            s.closeTickets(errno, reason);
        }
        boolean interrupted = false;
        long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(STOP_WAIT_MAX_SECONDS);
        for (Worker w : stopping) {
            if (w == Thread.currentThread()) {
                continue; // a flusher hook stopping us from our own thread: it returns to the loop and exits
            }
            while (w.isAlive()) {
                long leftNs = deadlineNs - System.nanoTime();
                if (leftNs <= 0) {
                    throw new IllegalStateException(w.getName() + " did not stop within " + STOP_WAIT_MAX_SECONDS + " s");
                }
                try {
                    w.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(leftNs)));
                } catch (InterruptedException e) {
                    interrupted = true; // finish stopping; the caller sees its interrupt afterwards
                }
            }
        }
        lock.lock();
        try {
            workers.clear();
            kicked.clear();
            busy.clear();
            flusher = Flusher.NONE;
            state = State.STOPPED;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    public boolean isRunning() {
        lock.lock();
        try {
            return state == State.RUNNING;
        } finally {
            lock.unlock();
        }
    }

    /**
     * queue_work(async_reclaim_work): wakes {@code space}'s worker. Called with no space_info lock
     * held. False if no reclaimer runs (the ticket is then failed by {@link #stop}'s close).
     */
    boolean kick(SpaceInfo space) {
        lock.lock();
        try {
            if (state != State.RUNNING) {
                return false;
            }
            kicked.add(space.type);
            changed.signalAll();
            return true;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Waits until no worker has a kick pending or a round under way; false on timeout. For tests
     * and for the unmount sequence, which wants reclaim quiet before its final checks.
     */
    public boolean awaitIdle(long timeout, TimeUnit unit) throws InterruptedException {
        long leftNs = unit.toNanos(timeout);
        lock.lock();
        try {
            while (!kicked.isEmpty() || !busy.isEmpty()) {
                if (leftNs <= 0) {
                    return false;
                }
                leftNs = changed.awaitNanos(leftNs);
            }
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** The first unexpected throwable a worker caught (a bug: tests assert it is null). */
    public Throwable failure() {
        lock.lock();
        try {
            return failure;
        } finally {
            lock.unlock();
        }
    }

    private void recordFailure(Throwable t) {
        LOG.log(Level.SEVERE, "space reclaimer failed", t);
        lock.lock();
        try {
            if (failure == null) {
                failure = t;
            }
        } finally {
            lock.unlock();
        }
    }

    /** A worker's wait for its next round; false when it should exit. */
    private boolean takeWork(SpaceType type) {
        lock.lock();
        try {
            while (state == State.RUNNING && !kicked.contains(type)) {
                changed.awaitUninterruptibly();
            }
            if (state != State.RUNNING) {
                return false;
            }
            kicked.remove(type);
            busy.add(type);
            return true;
        } finally {
            lock.unlock();
        }
    }

    private void roundDone(SpaceType type) {
        lock.lock();
        try {
            busy.remove(type);
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** One reclaim worker (a work item in the kernel). */
    private final class Worker extends Thread {
        private final SpaceInfo space;

        Worker(SpaceInfo space) {
            super("jbtrfs-space-reclaim-" + space.type);
            this.space = space;
            setDaemon(true);
        }

        @Override
        public void run() {
            while (takeWork(space.type)) {
                try {
                    if (space.type == SpaceType.DATA) {
                        asyncReclaimDataSpace(space);
                    } else {
                        asyncReclaimMetadataSpace(space);
                    }
                } catch (Throwable t) {
                    recordFailure(t);
                    // Nobody else would serve the tickets: fail them rather than leave them waiting.
                    try {
                        space.failAllTickets(Errno.EIO, "the space reclaimer failed: " + t);
                    } catch (Throwable again) {
                        recordFailure(again);
                    }
                } finally {
                    roundDone(space.type);
                }
            }
        }
    }

    // -------------------------------------------------------------------------------------------
    // flush_space and the reclaim loops.

    /** calc_reclaim_items_nr(): how many items' worth of insert reservation toReclaim is. */
    private long calcReclaimItemsNr(long toReclaim) {
        return Math.max(1, toReclaim / BlockRsvs.calcInsertMetadataSize(spaces.nodesize, 1));
    }

    /** calc_delayed_refs_nr(): as above, per delayed ref (twice with a free space tree). */
    private long calcDelayedRefsNr(long toReclaim) {
        return Math.max(1, toReclaim / BlockRsvs.calcDelayedRefBytes(spaces.nodesize, 1, spaces.freeSpaceTree));
    }

    /**
     * flush_space(): one stage. Advisory: a hook's failure is logged and the caller looks at the
     * space_info to see what it achieved. Called with no lock held.
     */
    void flushSpace(SpaceInfo space, long numBytes, FlushState state) {
        RacePoint.RECLAIM_FLUSH.hit();
        Flusher f = flusher;
        try {
            switch (state) {
                case FLUSH_DELAYED_ITEMS_NR -> f.runDelayedItems(calcReclaimItemsNr(numBytes) * 2);
                case FLUSH_DELAYED_ITEMS -> f.runDelayedItems(Flusher.ALL);
                case FLUSH_DELALLOC -> f.flushDelalloc(numBytes, false);
                case FLUSH_DELALLOC_WAIT -> f.flushDelalloc(numBytes, true);
                case FLUSH_DELALLOC_FULL -> f.flushDelalloc(Flusher.ALL, true);
                case FLUSH_DELAYED_REFS_NR -> f.runDelayedRefs(calcDelayedRefsNr(numBytes));
                case FLUSH_DELAYED_REFS -> f.runDelayedRefs(Flusher.ALL);
                case ALLOC_CHUNK -> f.allocateChunk(space.type, false);
                case ALLOC_CHUNK_FORCE -> f.allocateChunk(space.type, true);
                case RUN_DELAYED_IPUTS -> f.runDelayedIputs();
                case COMMIT_TRANS -> f.commitTransaction();
                default -> throw new AssertionError(state);
            }
        } catch (IOException e) {
            LOG.log(Level.WARNING, "flush " + state + " for " + numBytes + " bytes of " + space.type + " failed", e);
        }
    }

    /**
     * After a stage, with the space_info lock held: if the filesystem aborted ({@code aborted},
     * read from the flusher before taking the lock), fail every ticket with EIO.
     */
    private static boolean failedOnFsError(SpaceInfo space, boolean aborted) {
        if (!aborted) {
            return false;
        }
        space.maybeFailAllTickets(true);
        space.clearFlush();
        return true;
    }

    /** btrfs_async_reclaim_metadata_space(): escalate until no ticket waits or none can be served. */
    void asyncReclaimMetadataSpace(SpaceInfo space) {
        long toReclaim;
        long lastTicketsId;
        space.lock.lock();
        try {
            toReclaim = space.calcReclaimMetadataSize();
            if (toReclaim == 0) {
                space.clearFlush();
                return;
            }
            lastTicketsId = space.ticketsId();
        } finally {
            space.lock.unlock();
        }
        final int first = FlushState.FLUSH_DELAYED_ITEMS_NR.code;
        final int last = FlushState.COMMIT_TRANS.code;
        int state = first;
        int commitCycles = 0;
        do {
            if (stopRequested) {
                return; // stop() fails the tickets
            }
            flushSpace(space, toReclaim, FlushState.ofCode(state));
            boolean aborted = flusher.fsError();
            space.lock.lock();
            try {
                if (!space.hasTickets()) {
                    space.clearFlush();
                    return;
                }
                if (failedOnFsError(space, aborted)) {
                    return;
                }
                toReclaim = space.calcReclaimMetadataSize();
                if (lastTicketsId == space.ticketsId()) {
                    state++;
                } else {
                    lastTicketsId = space.ticketsId();
                    state = first;
                    if (commitCycles > 0) {
                        commitCycles--;
                    }
                }
                // Flushing all delalloc or forcing a chunk waits for a trip that did not help.
                if (state == FlushState.FLUSH_DELALLOC_FULL.code && commitCycles == 0) {
                    state++;
                }
                if (state == FlushState.ALLOC_CHUNK_FORCE.code && commitCycles == 0) {
                    state++;
                }
                if (state > last) {
                    commitCycles++;
                    if (commitCycles > COMMIT_CYCLES_BEFORE_FAIL) {
                        if (space.maybeFailAllTickets(false)) {
                            state = first;
                            commitCycles--;
                        } else {
                            space.clearFlush();
                        }
                    } else {
                        state = first;
                    }
                }
            } finally {
                space.lock.unlock();
            }
        } while (state <= last);
    }

    /** btrfs_async_reclaim_data_space(): chunks first, then the data states, then fail. */
    void asyncReclaimDataSpace(SpaceInfo space) {
        long lastTicketsId;
        space.lock.lock();
        try {
            if (!space.hasTickets()) {
                space.clearFlush();
                return;
            }
            lastTicketsId = space.ticketsId();
        } finally {
            space.lock.unlock();
        }
        while (true) {
            long totalBefore;
            space.lock.lock();
            try {
                if (space.isFull()) {
                    break;
                }
                totalBefore = space.totalBytes();
            } finally {
                space.lock.unlock();
            }
            if (stopRequested) {
                return;
            }
            flushSpace(space, Flusher.ALL, FlushState.ALLOC_CHUNK_FORCE);
            boolean aborted = flusher.fsError();
            space.lock.lock();
            try {
                if (!space.hasTickets()) {
                    space.clearFlush();
                    return;
                }
                if (failedOnFsError(space, aborted)) {
                    return;
                }
                boolean progress = space.ticketsId() != lastTicketsId || space.totalBytes() > totalBefore;
                lastTicketsId = space.ticketsId();
                if (!progress) {
                    break; // the allocator neither grew the space nor said it is full
                }
            } finally {
                space.lock.unlock();
            }
        }
        flushDataStates(space, lastTicketsId);
    }

    private void flushDataStates(SpaceInfo space, long lastTicketsId) {
        long tripStartTotal;
        space.lock.lock();
        try {
            tripStartTotal = space.totalBytes();
        } finally {
            space.lock.unlock();
        }
        int i = 0;
        while (i < DATA_FLUSH_STATES.length) {
            if (stopRequested) {
                return;
            }
            flushSpace(space, Flusher.ALL, DATA_FLUSH_STATES[i]);
            boolean aborted = flusher.fsError();
            space.lock.lock();
            try {
                if (!space.hasTickets()) {
                    space.clearFlush();
                    return;
                }
                if (failedOnFsError(space, aborted)) {
                    return;
                }
                if (lastTicketsId == space.ticketsId()) {
                    i++;
                } else {
                    lastTicketsId = space.ticketsId();
                    i = 0;
                    tripStartTotal = space.totalBytes();
                }
                if (i >= DATA_FLUSH_STATES.length) {
                    boolean grew = space.totalBytes() > tripStartTotal;
                    if (space.isFull() || !grew) {
                        if (space.maybeFailAllTickets(false)) {
                            i = 0;
                        } else {
                            space.clearFlush();
                        }
                    } else {
                        i = 0;
                    }
                    lastTicketsId = space.ticketsId();
                    tripStartTotal = space.totalBytes();
                }
            } finally {
                space.lock.unlock();
            }
        }
    }

    /**
     * priority_reclaim_metadata_space(): a priority reserver flushes {@code states} itself, then
     * steals from the global reserve or fails its ticket with ENOSPC.
     */
    void priorityReclaimMetadataSpace(SpaceInfo space, ReserveTicket ticket, FlushState[] states) {
        long toReclaim;
        space.lock.lock();
        try {
            toReclaim = space.calcReclaimMetadataSize();
        } finally {
            space.lock.unlock();
        }
        for (int i = 0;; i++) {
            space.lock.lock();
            try {
                if (!ticket.isPending()) {
                    return;
                }
                if (i == states.length) {
                    if (!space.stealFromGlobalRsv(ticket)) {
                        space.failTicket(ticket, Errno.ENOSPC, "no space for " + ticket.bytes + " bytes of "
                                + space.type + " after priority flushing");
                    }
                    // We may have been a big ticket in front of small ones that fit now.
                    space.tryGrantingTickets();
                    return;
                }
            } finally {
                space.lock.unlock();
            }
            flushSpace(space, toReclaim, states[i]);
        }
    }

    /** priority_reclaim_data_space(): allocate chunks while the allocator can, then ENOSPC. */
    void priorityReclaimDataSpace(SpaceInfo space, ReserveTicket ticket) {
        while (true) {
            long totalBefore;
            space.lock.lock();
            try {
                if (!ticket.isPending()) {
                    return;
                }
                if (space.isFull()) {
                    space.failTicket(ticket, Errno.ENOSPC, "no data space for " + ticket.bytes + " bytes");
                    space.tryGrantingTickets();
                    return;
                }
                totalBefore = space.totalBytes();
            } finally {
                space.lock.unlock();
            }
            flushSpace(space, Flusher.ALL, FlushState.ALLOC_CHUNK_FORCE);
            space.lock.lock();
            try {
                if (ticket.isPending() && space.totalBytes() <= totalBefore) {
                    space.failTicket(ticket, Errno.ENOSPC, "no data space for " + ticket.bytes
                            + " bytes: no chunk could be allocated");
                    space.tryGrantingTickets();
                    return;
                }
            } finally {
                space.lock.unlock();
            }
        }
    }
}
