package org.jbtrfs.lifecycle;

import java.io.IOException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
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

    private final Committer committer;
    private final long intervalNanos;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition wake = lock.newCondition();
    private boolean kicked;
    private boolean stopping;
    private long commits;
    private Thread thread;

    public TransactionThread(Committer committer, long intervalSeconds) {
        if (intervalSeconds <= 0) {
            throw new IllegalArgumentException("commit interval " + intervalSeconds + " s");
        }
        this.committer = committer;
        this.intervalNanos = TimeUnit.SECONDS.toNanos(intervalSeconds);
    }

    public void start(String name) {
        lock.lock();
        try {
            if (thread != null) {
                throw new IllegalStateException("transaction thread already running");
            }
            stopping = false;
            thread = new Thread(this::loop, name);
            thread.setDaemon(true);
            thread.start();
        } finally {
            lock.unlock();
        }
    }

    /** Asks for a commit now (sync, fsync, memory pressure). */
    public void kick() {
        lock.lock();
        try {
            kicked = true;
            wake.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Commits made by this thread: for tests. */
    public long commits() {
        lock.lock();
        try {
            return commits;
        } finally {
            lock.unlock();
        }
    }

    /** Stops the thread after its current commit; no commit starts after this returns. */
    public void stop() {
        Thread t;
        lock.lock();
        try {
            t = thread;
            if (t == null) {
                return;
            }
            stopping = true;
            wake.signalAll();
        } finally {
            lock.unlock();
        }
        boolean interrupted = false;
        while (true) {
            try {
                t.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        lock.lock();
        try {
            thread = null;
        } finally {
            lock.unlock();
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private void loop() {
        while (true) {
            lock.lock();
            try {
                long left = intervalNanos;
                while (!kicked && !stopping && left > 0) {
                    left = wake.awaitNanos(left);
                }
                if (stopping) {
                    return;
                }
                kicked = false;
            } catch (InterruptedException e) {
                return;
            } finally {
                lock.unlock();
            }
            try {
                committer.commitIfRunning();
                lock.lock();
                try {
                    commits++;
                } finally {
                    lock.unlock();
                }
            } catch (IOException | RuntimeException e) {
                // An aborted transaction already turned the filesystem read-only and logged why.
                LOG.log(Level.WARNING, "periodic commit failed: " + e, e);
            }
        }
    }
}
