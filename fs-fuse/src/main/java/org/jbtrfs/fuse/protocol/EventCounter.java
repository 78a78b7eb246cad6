package org.jbtrfs.fuse.protocol;

import java.util.concurrent.TimeUnit;

/**
 * A count of events that another thread can wait on (interrupts delivered, requests answered
 * EINTR): for tests that must see an event happen without guessing how long it takes, and for
 * logs.
 */
public final class EventCounter {
    /** Guarded by this. */
    private long count;

    public synchronized void increment() {
        count++;
        notifyAll();
    }

    public synchronized long get() {
        return count;
    }

    /** Waits until the count is at least {@code n}; false if {@code timeout} passed first. */
    public synchronized boolean awaitAtLeast(long n, long timeout, TimeUnit unit) throws InterruptedException {
        long deadline = System.nanoTime() + unit.toNanos(timeout);
        while (count < n) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            TimeUnit.NANOSECONDS.timedWait(this, left);
        }
        return true;
    }
}
