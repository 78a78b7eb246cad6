package org.jbtrfs.ctree;

import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.jbtrfs.race.RacePoint;

/**
 * One filesystem's readahead workers (the kernel submits readahead bios and lets the block layer
 * run them). Owned by the {@link TreeBlockReader} that the filesystem's {@code disk.FsInfo} makes
 * at open, and stopped by {@code FsInfo.close} before the device closes, so no readahead read
 * runs after a filesystem is closed and none outlives its device.
 *
 * <h2>Lifecycle</h2>
 * <ol>
 *   <li>Made at open. Threads ({@code jbtrfs-readahead-<instance>-<n>}, daemons) start on demand,
 *       at most {@link #THREADS_MAX}, and exit after {@link #KEEP_ALIVE_SECONDS} idle, so an idle
 *       filesystem holds none.</li>
 *   <li>While running, a full queue ({@link #QUEUE_MAX}) makes the submitter read the block itself,
 *       which bounds the memory readahead can pin.</li>
 *   <li>{@link #stop()}: no new task is taken ({@link #execute} throws
 *       {@link StoppedException}, and {@link ExtentBufferCache#readahead} then abandons the
 *       block unread); the reads already queued or in flight finish (their buffers are published
 *       under READAHEAD and must end their IO, seed 004); every worker thread is joined.</li>
 * </ol>
 */
public final class Readahead implements Executor {
    /** Threads reading ahead at once: tree blocks are small, a few in flight hide the latency. */
    static final int THREADS_MAX = 4;
    /** Readahead reads queued at most; beyond it readahead degrades to reading in the caller. */
    static final int QUEUE_MAX = 256;
    /** Idle workers exit after this long. */
    static final long KEEP_ALIVE_SECONDS = 5;
    /**
     * How long {@link #stop()} waits for queued and in-flight reads (at most QUEUE_MAX + THREADS_MAX
     * tree blocks). Past it, stop fails loudly rather than let unmount hang.
     */
    public static final long STOP_WAIT_MAX_SECONDS = 60;

    private static final AtomicInteger INSTANCES = new AtomicInteger();

    /** {@link #execute} after {@link #stop()}: the filesystem is closing, the read must not happen. */
    static final class StoppedException extends RejectedExecutionException {
        private static final long serialVersionUID = 1L;

        StoppedException() {
            super("readahead stopped: the filesystem is closing");
        }
    }

    private final ThreadPoolExecutor pool;
    /** Worker threads that started (registered by themselves), dead ones pruned: what {@link #stop()} joins. */
    private final Set<Thread> threads = ConcurrentHashMap.newKeySet();

    public Readahead() {
        String prefix = "jbtrfs-readahead-" + INSTANCES.incrementAndGet() + "-";
        AtomicInteger n = new AtomicInteger();
        pool = new ThreadPoolExecutor(THREADS_MAX, THREADS_MAX, KEEP_ALIVE_SECONDS, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(QUEUE_MAX), r -> {
                    // Registered once running, not when made: the pool may make a thread and never
                    // start it (a shutdown raced its execute). Never unregistered by itself: a
                    // thread still alive in its last instructions must be joined by stop(); dead
                    // ones are pruned here, so the set stays a few threads long.
                    Thread t = new Thread(() -> {
                        threads.removeIf(x -> !x.isAlive());
                        threads.add(Thread.currentThread());
                        r.run();
                    }, prefix + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                }, (task, p) -> {
                    if (p.isShutdown()) {
                        throw new StoppedException();
                    }
                    task.run(); // queue full: the caller reads the block itself
                });
        pool.allowCoreThreadTimeOut(true);
    }

    /**
     * Runs {@code task} on a worker, or in the caller when the queue is full. Throws
     * {@link StoppedException} once stopped.
     */
    @Override
    public void execute(Runnable task) {
        pool.execute(task);
    }

    /**
     * Takes no more reads, lets the queued and in-flight ones finish, and joins every worker.
     * Idempotent. Throws IllegalStateException if they do not finish within
     * {@link #STOP_WAIT_MAX_SECONDS}.
     */
    public void stop() {
        pool.shutdown();
        RacePoint.READAHEAD_STOPPING.hit();
        long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(STOP_WAIT_MAX_SECONDS);
        boolean interrupted = false;
        // Termination first (a worker exiting after shutdown may start another for the queue),
        // then the threads themselves, so that none is alive when we return. Once terminated,
        // every worker that ever started has registered itself (it ran to get the pool there).
        while (!pool.isTerminated()) {
            try {
                if (!pool.awaitTermination(Math.max(0, deadlineNs - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                    throw new IllegalStateException("readahead did not stop within " + STOP_WAIT_MAX_SECONDS
                            + " s: " + threads);
                }
            } catch (InterruptedException e) {
                interrupted = true; // finish stopping: the device must not close under a read
            }
        }
        for (Thread t : threads) {
            while (t.isAlive()) {
                try {
                    t.join(); // already out of the pool: only its last instructions are left
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        assert pool.isTerminated() && threadsAlive() == 0
                : "readahead still running after stop: " + threads + " terminated=" + pool.isTerminated();
    }

    /** Worker threads alive: zero after {@link #stop()}. */
    public int threadsAlive() {
        int alive = 0;
        for (Thread t : threads) {
            if (t.isAlive()) {
                alive++;
            }
        }
        return alive;
    }

    public boolean isStopped() {
        return pool.isShutdown();
    }
}
