package org.jbtrfs.lifecycle;

import java.io.IOException;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * btrfs's transaction kthread: every {@code commit=N} seconds (default 30), and at once when
 * {@link #kick kicked}, it commits the running transaction if there is one. Stopping waits for a
 * commit in progress to end.
 */
public final class TransactionThread {
    private static final Logger LOG = Logger.getLogger(TransactionThread.class.getName());

    /** The commit it runs: commits the running transaction, if any. */
    public interface Committer {
        void commitIfRunning() throws IOException;
    }

    private final Worker worker;
    private final java.util.concurrent.atomic.AtomicLong commits = new java.util.concurrent.atomic.AtomicLong();

    public TransactionThread(Committer committer, long intervalSeconds) {
        if (intervalSeconds <= 0) {
            throw new IllegalArgumentException("commit interval " + intervalSeconds + " s");
        }
        long intervalNanos = TimeUnit.SECONDS.toNanos(intervalSeconds);
        this.worker = new Worker() {
            @Override
            long intervalNanos() {
                return intervalNanos;
            }

            @Override
            void round() {
                try {
                    committer.commitIfRunning();
                    commits.incrementAndGet();
                } catch (IOException | RuntimeException e) {
                    // An aborted transaction already turned the filesystem read-only and logged why.
                    LOG.log(Level.WARNING, "periodic commit failed: " + e, e);
                }
            }
        };
    }

    public void start(String name) {
        worker.start(name);
    }

    /** Asks for a commit now (sync, fsync, memory pressure). */
    public void kick() {
        worker.kick();
    }

    /** Commits made by this thread: for tests. */
    public long commits() {
        return commits.get();
    }

    /** Stops the thread after its current commit; no commit starts after this returns. */
    public void stop() {
        worker.stop();
    }
}
