package org.jbtrfs.bench.jmh;

import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import org.jbtrfs.Errno;
import org.jbtrfs.FsException;
import org.jbtrfs.format.BlockGroupItem;
import org.jbtrfs.space.FlushPolicy;
import org.jbtrfs.space.Flusher;
import org.jbtrfs.space.SpaceInfo;
import org.jbtrfs.space.SpaceInfos;
import org.jbtrfs.space.SpaceType;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.infra.BenchmarkParams;

/**
 * The reservation ticket path near ENOSPC: many threads ({@link JmhSuite#TICKET_THREADS}) each
 * reserve one tree block with FLUSH_ALL and give it back, on a METADATA space_info with room for
 * exactly one block (the rest is used, no unallocated device space, so no overcommit). Any two
 * reservations that overlap make the second queue a ticket; since normal reservations never pass
 * waiting tickets, the threads settle into a FIFO convoy where most reservations wait on a ticket
 * and are granted by the release before them ({@code SpaceInfo.freeBytesMayUse} →
 * {@code tryGrantingTickets} → unpark). What it measures is that hand-off: lock, ticket, park,
 * grant, wakeup, plus the reclaimer's kicks. The suite reports it as wall-clock nanoseconds per
 * reservation (the per-thread score divided by the thread count) over the uncontended fast path
 * ({@link ReservationBench#reserveRelease}, one thread) of the same run, and beside the fast path
 * contended by as many threads (lock contention alone).
 *
 * <p>The share of reservations that waited on a ticket is printed per iteration: on a quiet
 * 2-core machine it is 99-100%; on a busy one it falls (a quarter was seen with the load at 6),
 * because the space_info lock is a non-fair ReentrantLock: a running thread re-takes it and finds
 * the block free while the other threads are parked on the lock itself, not yet queued as tickets.
 * Holding reservations longer or leaving more room does not help (with room for half the threads,
 * the two running ones took the fast path 99% of the time). Read the ratio with the printed share.
 *
 * <p>A benchmark that silently took the fast path would be worthless, so each iteration's teardown
 * asserts that most reservations were granted through tickets
 * ({@link SpaceInfo#ticketsGranted()}), and that bytes_may_use, reclaim_size and the ticket lists
 * are back to zero; the trial's teardown stops the reclaimer and asserts it never failed and that
 * nothing leaked. A ticket that failed (ENOSPC, EINTR) throws out of the benchmark method, and the
 * suite runs with fail-on-error.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class TicketBench {
    static final int NODESIZE = 16384;
    static final long METADATA_BYTES = 1L << 30;
    /** Free bytes of METADATA: one reservation at a time fits, every overlapping one queues. */
    static final long FREE_BYTES = NODESIZE;
    /**
     * Share of reservations that must have been granted through a ticket, below which the
     * iteration fails as having measured the fast path: low enough for a busy machine (see above),
     * far above what an uncontended run gives (none).
     */
    static final double TICKET_SHARE_MIN = 0.1;

    SpaceInfos spaces;
    SpaceInfo metadata;
    /** Reservations made, counted striped so the count adds no shared line of its own. */
    final LongAdder reservations = new LongAdder();
    long grantedAtIterationStart;

    @Setup(Level.Trial)
    public void setup(BenchmarkParams params) {
        if (params.getThreads() < 2) {
            throw new IllegalStateException("the ticket path needs contending threads, not " + params.getThreads());
        }
        // freeChunkSpace 0: nothing left to allocate, so metadata cannot overcommit.
        spaces = new SpaceInfos(NODESIZE, 4096, 0, BlockGroupItem.DUP, BlockGroupItem.DUP, true, () -> 0L);
        metadata = spaces.metadata();
        metadata.addBlockGroup(METADATA_BYTES, METADATA_BYTES - FREE_BYTES, 0);
        spaces.reclaimer().start(new ReleaseWaitingFlusher(metadata));
    }

    @Setup(Level.Iteration)
    public void startIteration() {
        reservations.reset();
        grantedAtIterationStart = metadata.ticketsGranted();
    }

    /** Runs once every thread has finished the iteration, so every reservation has ended. */
    @TearDown(Level.Iteration)
    public void checkIteration() throws InterruptedException {
        if (!spaces.reclaimer().awaitIdle(10, TimeUnit.SECONDS)) {
            throw new IllegalStateException("the reclaimer did not go idle: " + metadata.dump());
        }
        SpaceInfo.Counters c = metadata.counters();
        if (c.bytesMayUse() != 0 || c.reclaimSize() != 0 || c.tickets() != 0 || c.priorityTickets() != 0) {
            throw new IllegalStateException("reservations left behind after the iteration: " + metadata.dump());
        }
        long made = reservations.sum();
        long granted = metadata.ticketsGranted() - grantedAtIterationStart;
        double share = made == 0 ? 0 : (double) granted / made;
        System.out.printf(Locale.ROOT, "%n  ticket path: %d reservations, %d granted through a ticket (%.1f%%)%n",
                made, granted, share * 100);
        if (share < TICKET_SHARE_MIN) {
            throw new IllegalStateException(String.format(Locale.ROOT,
                    "only %d of %d reservations waited on a ticket: the bench measured the fast path", granted, made));
        }
    }

    @TearDown(Level.Trial)
    public void stop() {
        spaces.reclaimer().stop(Errno.EROFS, "the benchmark is over");
        if (spaces.reclaimer().failure() != null) {
            throw new IllegalStateException("the space reclaimer failed", spaces.reclaimer().failure());
        }
        spaces.assertNoLeak();
    }

    @Benchmark
    public void ticketPath() throws FsException {
        spaces.reserveBytes(metadata, NODESIZE, FlushPolicy.FLUSH_ALL);
        metadata.freeBytesMayUse(NODESIZE);
        reservations.increment();
    }

    /**
     * What the write core's flush stages would free here is exactly what the other threads give
     * back, so every stage is a no-op except the commit, which waits (as a real commit takes time)
     * until some ticket was granted or none waits, at most {@link #COMMIT_WAIT_MAX_NS}. Without
     * that wait the reclaimer would run through its stages in microseconds and fail the tickets
     * with ENOSPC whenever the holder of the free block is descheduled for a moment.
     */
    static final class ReleaseWaitingFlusher implements Flusher {
        static final long COMMIT_WAIT_MAX_NS = TimeUnit.SECONDS.toNanos(1);
        /** Poll period of the commit stand-in: rare (only after every other stage did nothing). */
        static final long POLL_NS = TimeUnit.MICROSECONDS.toNanos(100);

        private final SpaceInfo space;

        ReleaseWaitingFlusher(SpaceInfo space) {
            this.space = space;
        }

        @Override
        public void commitTransaction() {
            long granted = space.ticketsGranted();
            long deadlineNs = System.nanoTime() + COMMIT_WAIT_MAX_NS;
            while (space.ticketsGranted() == granted && space.counters().tickets() > 0
                    && System.nanoTime() < deadlineNs) {
                LockSupport.parkNanos(POLL_NS);
            }
        }

        @Override
        public void runDelayedItems(long items) {}

        @Override
        public void flushDelalloc(long bytes, boolean waitOrdered) {}

        @Override
        public void runDelayedRefs(long count) {}

        /** No unallocated device space: the allocator can only say so. */
        @Override
        public void allocateChunk(SpaceType type, boolean force) {
            space.setFull(true);
        }

        @Override
        public void runDelayedIputs() {}
    }
}
