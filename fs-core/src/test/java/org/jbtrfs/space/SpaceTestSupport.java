package org.jbtrfs.space;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.jbtrfs.Errno;
import org.jbtrfs.FsException;
import org.jbtrfs.format.BlockGroupItem;

/** Fixtures for the space tests: a deviceless filesystem's space accounting, threads, flushers. */
final class SpaceTestSupport {
    static final int NODESIZE = 16384;
    static final int SECTORSIZE = 4096;
    static final long KIB = 1024;
    static final long MIB = 1024 * KIB;
    /** Every wait in these tests is bounded by this: a hang is a failure, not a stuck build. */
    static final long WAIT_SECONDS = 10;

    private SpaceTestSupport() {}

    /**
     * SpaceInfos like mkfs.btrfs defaults (metadata DUP, data SINGLE, free space tree) with one
     * block group of each size given (0: none) and {@code freeChunkSpace} unallocated bytes.
     */
    static SpaceInfos spaces(long metadataBytes, long dataBytes, AtomicLong freeChunkSpace) {
        SpaceInfos s = new SpaceInfos(NODESIZE, SECTORSIZE, 0, BlockGroupItem.DUP, BlockGroupItem.DUP, true,
                freeChunkSpace::get);
        if (metadataBytes > 0) {
            s.metadata().addBlockGroup(metadataBytes, 0, 0);
        }
        if (dataBytes > 0) {
            s.data().addBlockGroup(dataBytes, 0, 0);
        }
        return s;
    }

    static SpaceInfos spaces(long metadataBytes, long dataBytes) {
        return spaces(metadataBytes, dataBytes, new AtomicLong());
    }

    /** Code a {@link Reserver} runs. */
    interface Op {
        void run() throws Exception;
    }

    /** A thread running one operation and keeping its outcome and its interrupt status after. */
    static final class Reserver extends Thread {
        private final Op op;
        private final CountDownLatch finished = new CountDownLatch(1);
        private volatile Throwable error;
        private volatile boolean interruptedAfter;

        Reserver(String name, Op op) {
            super(name);
            this.op = op;
            setDaemon(true);
        }

        @Override
        public void run() {
            try {
                op.run();
            } catch (Throwable t) {
                error = t;
            } finally {
                interruptedAfter = isInterrupted();
                finished.countDown();
            }
        }

        Reserver begin() {
            start();
            return this;
        }

        void awaitDone() throws InterruptedException {
            assertTrue(finished.await(WAIT_SECONDS, TimeUnit.SECONDS), getName() + " did not finish");
        }

        boolean isDone() {
            return finished.getCount() == 0;
        }

        /** Waits, then fails unless the operation succeeded. */
        void assertSucceeded() throws InterruptedException {
            awaitDone();
            if (error != null) {
                throw new AssertionError(getName() + " failed", error);
            }
        }

        /** Waits, then fails unless the operation threw FsException with {@code errno}. */
        FsException assertFailed(Errno errno) throws InterruptedException {
            awaitDone();
            if (!(error instanceof FsException)) {
                throw new AssertionError(getName() + " should have failed with " + errno + " but got " + error, error);
            }
            FsException e = assertInstanceOf(FsException.class, error);
            assertEquals(errno, e.errno(), getName() + ": " + e.getMessage());
            return e;
        }

        boolean interruptedAfter() {
            return interruptedAfter;
        }
    }

    /**
     * A flusher whose hooks record the {@link FlushState} they stand for, can all be held on a
     * gate (a reclaimer "busy in a long commit"), and run a test action after each call.
     */
    static final class ScriptedFlusher implements Flusher {
        final List<FlushState> calls = Collections.synchronizedList(new ArrayList<>());
        /** Counted down when the first hook is entered. */
        final CountDownLatch entered = new CountDownLatch(1);
        /** Hooks wait on this while it is non-null and not yet counted down. */
        volatile CountDownLatch gate;
        /** Run after each hook passes the gate, with the state the hook stands for. */
        volatile Consumer<FlushState> action = state -> {};
        volatile boolean fsError;
        /** The last thread a hook ran in. */
        volatile Thread lastThread;

        ScriptedFlusher held() {
            gate = new CountDownLatch(1);
            return this;
        }

        void open() {
            CountDownLatch g = gate;
            if (g != null) {
                g.countDown();
            }
        }

        private void hook(FlushState state) {
            calls.add(state);
            lastThread = Thread.currentThread();
            entered.countDown();
            CountDownLatch g = gate;
            if (g != null) {
                boolean interrupted = false;
                while (true) {
                    try {
                        if (!g.await(WAIT_SECONDS * 3, TimeUnit.SECONDS)) {
                            fail("flusher gate never opened");
                        }
                        break;
                    } catch (InterruptedException e) {
                        interrupted = true;
                    }
                }
                if (interrupted) {
                    Thread.currentThread().interrupt();
                }
            }
            action.accept(state);
        }

        @Override
        public void runDelayedItems(long items) {
            hook(items == ALL ? FlushState.FLUSH_DELAYED_ITEMS : FlushState.FLUSH_DELAYED_ITEMS_NR);
        }

        @Override
        public void flushDelalloc(long bytes, boolean waitOrdered) {
            hook(bytes == ALL ? FlushState.FLUSH_DELALLOC_FULL
                    : waitOrdered ? FlushState.FLUSH_DELALLOC_WAIT : FlushState.FLUSH_DELALLOC);
        }

        @Override
        public void runDelayedRefs(long count) {
            hook(count == ALL ? FlushState.FLUSH_DELAYED_REFS : FlushState.FLUSH_DELAYED_REFS_NR);
        }

        @Override
        public void allocateChunk(SpaceType type, boolean force) {
            hook(force ? FlushState.ALLOC_CHUNK_FORCE : FlushState.ALLOC_CHUNK);
        }

        @Override
        public void runDelayedIputs() {
            hook(FlushState.RUN_DELAYED_IPUTS);
        }

        @Override
        public void commitTransaction() {
            hook(FlushState.COMMIT_TRANS);
        }

        @Override
        public boolean fsError() {
            return fsError;
        }

        List<FlushState> snapshot() {
            synchronized (calls) {
                return new ArrayList<>(calls);
            }
        }
    }

    /** Stops the reclaimer, checks it met no bug, and that nothing leaked. */
    static void stopAndCheck(SpaceInfos s) throws InterruptedException {
        assertTrue(s.reclaimer().awaitIdle(WAIT_SECONDS, TimeUnit.SECONDS), "reclaimer did not go idle");
        s.reclaimer().stop(Errno.EROFS, "the test is over");
        assertNull(s.reclaimer().failure(), "reclaimer failure");
        s.blockRsvs().releaseGlobalBlockRsv();
        s.assertNoLeak();
    }
}
