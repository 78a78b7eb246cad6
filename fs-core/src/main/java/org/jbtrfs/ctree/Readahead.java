package org.jbtrfs.ctree;

import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The readahead workers shared by every {@link TreeBlockReader} that is not given its own executor
 * (the kernel submits readahead bios and lets the block layer run them). Daemon threads that die
 * when idle, so an idle JVM holds none; a full queue makes the submitter read the block itself
 * ({@link ExtentBufferCache#readahead}), which bounds the memory readahead can pin.
 */
final class Readahead {
    /** Threads reading ahead at once: tree blocks are small, a few in flight hide the latency. */
    static final int THREADS_MAX = 4;
    /** Readahead reads queued at most; beyond it readahead degrades to reading in the caller. */
    static final int QUEUE_MAX = 256;
    /** Idle workers exit after this long. */
    static final long KEEP_ALIVE_SECONDS = 5;

    static final Executor SHARED = create();

    private Readahead() {
    }

    private static Executor create() {
        AtomicInteger n = new AtomicInteger();
        ThreadPoolExecutor pool = new ThreadPoolExecutor(THREADS_MAX, THREADS_MAX, KEEP_ALIVE_SECONDS, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(QUEUE_MAX), r -> {
                    Thread t = new Thread(r, "jbtrfs-readahead-" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        pool.allowCoreThreadTimeOut(true);
        return pool;
    }
}
