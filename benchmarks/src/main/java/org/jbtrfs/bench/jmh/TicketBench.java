package org.jbtrfs.bench.jmh;

import java.util.Locale;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
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
 * The reservation ticket path near ENOSPC: many threads ({@link JmhSuite#TICKET_THREADS}) reserve
 * one tree block each with FLUSH_ALL on a METADATA space_info with room for half of them (the
 * rest used, no unallocated device space, so no overcommit), and end their operation by handing
 * the block back. Handed-back blocks are given back to the space_info by the async reclaimer's flush
 * stages ({@link HandBackFlusher}, the stand-in for the delayed items, refs and commit that return
 * space in the write core), one at a time and only while a ticket waits, so each is granted to
 * the head ticket in the same lock hold ({@code freeBytesMayUse} → {@code tryGrantingTickets}) and
 * the block is never seen free. Every reservation but the first few of an iteration therefore waits:
 * ticket queued (FIFO), reclaimer kicked, flush, grant, wakeup — the path the kernel takes when
 * space is nearly full and tickets are granted as space comes back.
 *
 * <p>Why not let the threads release their own blocks: the space_info lock is a non-fair
 * ReentrantLock, so on a busy machine a running thread re-takes it and finds its own block free
 * while the other threads are parked on the lock itself, not yet queued as tickets; that design
 * gave 99-100% ticketed reservations on a quiet 2-core machine and 6% on a loaded one.
 *
 * <p>The suite reports wall-clock nanoseconds per reservation (the per-thread score divided by the
 * thread count) over the uncontended fast path ({@link ReservationBench#reserveRelease}, one
 * thread) of the same run, and beside the fast path contended by as many threads. A benchmark
 * that silently took the fast path would be worthless, so each iteration's teardown asserts that
 * at least {@link #TICKET_SHARE_MIN} of the reservations were granted through tickets
 * ({@link SpaceInfo#ticketsGranted()}) and, once the handed-back blocks are given back, that
 * bytes_may_use, reclaim_size and the ticket lists are zero; the trial's teardown stops the
 * reclaimer and asserts it never failed and nothing leaked. A ticket that failed (ENOSPC, EINTR)
 * throws out of the benchmark method, and the suite runs with fail-on-error.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class TicketBench {
    static final int NODESIZE = 16384;
    static final long METADATA_BYTES = 1L << 30;
    /** Only the first reservations of an iteration (one per free block) find space free. */
    static final double TICKET_SHARE_MIN = 0.9;

    SpaceInfos spaces;
    SpaceInfo metadata;
    /** Blocks whose operation ended and that the reclaimer has not given back yet (permits). */
    final Semaphore handedBack = new Semaphore(0);
    /** Reservations made, counted striped so the count adds no shared line of its own. */
    final LongAdder reservations = new LongAdder();
    long grantedAtIterationStart;

    @Setup(Level.Trial)
    public void setup(BenchmarkParams params) {
        setupFor(params.getThreads());
    }

    /** The trial's setup for {@code threads} threads (tests call it without JMH). */
    void setupFor(int threads) {
        if (threads < 1) {
            throw new IllegalStateException("no threads: " + threads);
        }
        // freeChunkSpace 0: nothing left to allocate, so metadata cannot overcommit.
        spaces = new SpaceInfos(NODESIZE, 4096, 0, BlockGroupItem.DUP, BlockGroupItem.DUP, true, () -> 0L);
        metadata = spaces.metadata();
        metadata.addBlockGroup(METADATA_BYTES, METADATA_BYTES - freeBytes(threads), 0);
        spaces.reclaimer().start(new HandBackFlusher(metadata, handedBack));
    }

    /**
     * Free bytes of METADATA: room for half the threads' reservations (at least one), so several
     * hand-offs are in flight at once but most threads always wait.
     */
    static long freeBytes(int threads) {
        return (long) Math.max(1, threads / 2) * NODESIZE;
    }

    @Setup(Level.Iteration)
    public void startIteration() {
        reservations.reset();
        grantedAtIterationStart = metadata.ticketsGranted();
    }

    /**
     * Runs once every thread has finished the iteration (JMH's pre-teardown barrier), so no
     * reservation is in flight: the handed-back blocks go back, then everything must be zero.
     */
    @TearDown(Level.Iteration)
    public void checkIteration() throws InterruptedException {
        if (!spaces.reclaimer().awaitIdle(10, TimeUnit.SECONDS)) {
            throw new IllegalStateException("the reclaimer did not go idle: " + metadata.dump());
        }
        int left = handedBack.drainPermits();
        if (left > 0) {
            metadata.freeBytesMayUse((long) left * NODESIZE);
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

    /** One operation: reserve (waiting on a ticket), then end and hand the block back. */
    @Benchmark
    public void ticketPath() throws FsException {
        spaces.reserveBytes(metadata, NODESIZE, FlushPolicy.FLUSH_ALL);
        reservations.increment();
        handedBack.release();
    }

    /**
     * The write core's flush stages, reduced to what frees space here: every stage gives back
     * handed-back blocks, one at a time and only while a ticket waits (so each goes straight to
     * a ticket, never to free space); the commit, as a real one takes time, also waits up to
     * {@link #COMMIT_WAIT_MAX_SECONDS} for an operation to hand its block back. Chunk allocation
     * can only say the device is full.
     */
    static final class HandBackFlusher implements Flusher {
        /** Long enough for a granted waiter to be scheduled on a busy machine; 3 in a row fail the tickets. */
        static final long COMMIT_WAIT_MAX_SECONDS = 10;

        private final SpaceInfo space;
        private final Semaphore handedBack;

        HandBackFlusher(SpaceInfo space, Semaphore handedBack) {
            this.space = space;
            this.handedBack = handedBack;
        }

        /** Gives back handed-back blocks while tickets wait; each grant happens in that lock hold. */
        private void giveBack() {
            while (space.counters().tickets() > 0 && handedBack.tryAcquire()) {
                space.freeBytesMayUse(NODESIZE);
            }
        }

        @Override
        public void runDelayedItems(long items) {
            giveBack();
        }

        @Override
        public void flushDelalloc(long bytes, boolean waitOrdered) {
            giveBack();
        }

        @Override
        public void runDelayedRefs(long count) {
            giveBack();
        }

        @Override
        public void allocateChunk(SpaceType type, boolean force) {
            space.setFull(true); // no unallocated device space
        }

        @Override
        public void runDelayedIputs() {
            giveBack();
        }

        @Override
        public void commitTransaction() throws java.io.IOException {
            try {
                if (space.counters().tickets() > 0 && handedBack.tryAcquire(COMMIT_WAIT_MAX_SECONDS, TimeUnit.SECONDS)) {
                    space.freeBytesMayUse(NODESIZE);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException("commit stand-in interrupted");
            }
            giveBack();
        }
    }
}
