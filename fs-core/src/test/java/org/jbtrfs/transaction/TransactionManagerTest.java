package org.jbtrfs.transaction;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.jbtrfs.Errno;
import org.jbtrfs.FsException;
import org.junit.jupiter.api.Test;

/** Transaction states, who waits for whom, ordering of commits, and aborts. Latches only, no sleeps. */
class TransactionManagerTest {
    /** Records the commit steps; can hold a commit inside commitTrees. */
    static final class Work implements TransactionManager.CommitWork {
        final List<String> log = Collections.synchronizedList(new ArrayList<>());
        final AtomicInteger inside = new AtomicInteger();
        volatile CountDownLatch entered = new CountDownLatch(1);
        volatile CountDownLatch release = new CountDownLatch(0);
        volatile boolean failTrees;

        @Override
        public void commitTrees(long transid) throws IOException {
            assertEquals(1, inside.incrementAndGet(), "commits never overlap in the tree phase");
            entered.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                throw new IOException(e);
            }
            log.add("trees " + transid);
            inside.decrementAndGet();
            if (failTrees) {
                throw new IOException("injected failure");
            }
        }

        @Override
        public void writeSuperblocks(long transid) {
            log.add("super " + transid);
        }

        @Override
        public void afterCommit(long transid) {
            log.add("after " + transid);
        }
    }

    @Test
    void handlesShareTheRunningTransactionAndCommitAdvancesTheGeneration() throws Exception {
        Work w = new Work();
        TransactionManager tm = new TransactionManager(w, 7);
        TransHandle a = tm.start();
        TransHandle b = tm.join();
        assertEquals(8, a.transid());
        assertEquals(8, b.transid());
        b.close();
        tm.commit(a);
        assertEquals(List.of("trees 8", "super 8", "after 8"), w.log);
        assertEquals(8, tm.lastCommitted());
        TransHandle c = tm.start();
        assertEquals(9, c.transid());
        c.close();
        assertThrows(AssertionError.class, c::close, "ending a handle twice");
    }

    @Test
    void aCommitWaitsForWritersAndNewHandlesWaitForTheTreePhase() throws Exception {
        Work w = new Work();
        w.release = new CountDownLatch(1);
        TransactionManager tm = new TransactionManager(w, 1);
        TransHandle writer = tm.start();
        TransHandle committer = tm.start();
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Future<?> commit = pool.submit(() -> {
                tm.commit(committer);
                return null;
            });
            while (tm.waiters() < 1) {
                Thread.onSpinWait(); // the committer waits for the other writer
            }
            assertFalse(commit.isDone());
            writer.close();
            w.entered.await(); // now in COMMIT_DOING
            Future<Long> late = pool.submit(() -> {
                try (TransHandle h = tm.start()) {
                    return h.transid();
                }
            });
            while (tm.waiters() < 1) {
                Thread.onSpinWait(); // a new handle waits while the trees are being written
            }
            assertFalse(late.isDone());
            w.release.countDown();
            commit.get();
            assertEquals(3L, late.get(), "the late handle gets the next transaction");
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aFailedCommitAbortsAndTheFilesystemTurnsReadOnly() throws Exception {
        Work w = new Work();
        w.failTrees = true;
        TransactionManager tm = new TransactionManager(w, 1);
        TransHandle h = tm.start();
        assertThrows(IOException.class, () -> tm.commit(h));
        assertFalse(w.log.contains("super 2"), "no superblock after a failed tree phase");
        FsException e = assertThrows(FsException.class, tm::start);
        assertEquals(Errno.EROFS, e.errno());
        assertTrue(tm.readOnlyReason().contains("injected failure"), tm.readOnlyReason());
        assertFalse(tm.busy());
    }
}
