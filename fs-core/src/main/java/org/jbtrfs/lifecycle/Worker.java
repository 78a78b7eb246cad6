package org.jbtrfs.lifecycle;

import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A background thread of the filesystem with the start/kick/stop protocol both workers share: it
 * sleeps on {@link #wake} until kicked (or its timeout), runs one round, and {@link #stop} waits
 * for the round in progress to end; no round starts after stop returns.
 */
abstract class Worker {
    /** Guards {@link #kicked}, {@link #stopping} and the thread; never held during a round. */
    final ReentrantLock lock = new ReentrantLock();
    final Condition wake = lock.newCondition();
    boolean kicked;
    boolean stopping;
    private Thread thread;

    /** Nanoseconds to sleep between rounds when not kicked; Long.MAX_VALUE: only when kicked. */
    abstract long intervalNanos();

    /** One round of work, with no lock of this class held. */
    abstract void round();

    final void start(String name) {
        lock.lock();
        try {
            if (thread != null) {
                throw new IllegalStateException(name + " already running");
            }
            stopping = false;
            thread = new Thread(this::loop, name);
            thread.setDaemon(true);
            thread.start();
        } finally {
            lock.unlock();
        }
    }

    /** Asks for a round now. */
    final void kick() {
        lock.lock();
        try {
            kicked = true;
            wake.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Whether {@link #stop} was called and the thread has not ended: a long round should wrap up. */
    final boolean stopRequested() {
        lock.lock();
        try {
            return stopping && thread != null;
        } finally {
            lock.unlock();
        }
    }

    /** Stops the thread after its current round; a round never starts after this returns. */
    final void stop() {
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
                long left = intervalNanos();
                while (!kicked && !stopping && left > 0) {
                    left = left == Long.MAX_VALUE ? wakeForever() : wake.awaitNanos(left);
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
            round();
        }
    }

    private long wakeForever() throws InterruptedException {
        wake.await();
        return Long.MAX_VALUE;
    }
}
