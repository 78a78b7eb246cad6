package org.jbtrfs.ctree;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Seed 004 stress: searches, scans (which read ahead), full walks (which read ahead) and eviction
 * sweeps at once over a cache of the smallest size, so buffers are read, read ahead, shared and
 * evicted all the time. Every item a search or scan returns is checked against what was inserted,
 * and every block a walk visits against the device's bytes. At the end nothing is held, nothing is
 * under IO, and the cache is back under its limit. No sleeps: threads start on a barrier and run a
 * fixed number of operations. Prints the seed; replay with -Djbtrfs.seed=N.
 */
class ExtentBufferCacheStressTest {
    static final int THREADS = 6;
    static final int OPS_PER_THREAD = Integer.getInteger("jbtrfs.ebstress.ops", 1500);
    static final int ITEMS = 20_000;

    @Test
    void readaheadSearchAndEvictionAtOnceWithATinyCache() throws Exception {
        long seed = Long.getLong("jbtrfs.seed", System.nanoTime());
        System.out.println("ExtentBufferCacheStressTest: seed=" + seed + " (replay with -Djbtrfs.seed=" + seed + ")");
        ReadImage img = ReadImage.build(4096, ITEMS, seed);
        ThreadPoolExecutor readahead = new ThreadPoolExecutor(2, 2, 1, TimeUnit.SECONDS, new ArrayBlockingQueue<>(64));
        BTree bt = img.reader(ExtentBufferCache.MIN_LIMIT_BYTES, readahead);
        ExtentBufferCache cache = bt.reader().cache();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        AtomicLong itemsChecked = new AtomicLong();
        AtomicLong blocksChecked = new AtomicLong();
        CyclicBarrier start = new CyclicBarrier(THREADS + 1);
        List<Thread> threads = new ArrayList<>();
        long t0 = System.nanoTime();
        for (int t = 0; t < THREADS; t++) {
            Random rnd = new Random(seed * 31 + t);
            boolean evictor = t == 0;
            Thread th = new Thread(() -> {
                try {
                    start.await();
                    for (int op = 0; op < OPS_PER_THREAD && failure.get() == null; op++) {
                        oneOp(img, bt, rnd, evictor, itemsChecked, blocksChecked);
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, new AssertionError(Thread.currentThread().getName() + " seed " + seed, e));
                }
            }, "ebstress-" + t);
            threads.add(th);
            th.start();
        }
        start.await();
        for (Thread th : threads) {
            th.join(TimeUnit.MINUTES.toMillis(5));
            assertFalse(th.isAlive(), th.getName() + " did not finish");
        }
        readahead.shutdown();
        assertTrue(readahead.awaitTermination(1, TimeUnit.MINUTES));
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        if (failure.get() != null) {
            throw new AssertionError("seed " + seed, failure.get());
        }
        System.out.printf("  %d threads x %d ops in %d ms: %d items and %d blocks checked; reads %d, readaheads %d, "
                + "joins %d, misses %d, evictions %d%n", THREADS, OPS_PER_THREAD, ms, itemsChecked.get(), blocksChecked.get(),
                cache.reads(), cache.readaheads(), cache.joins(), cache.misses(), cache.evictions());
        assertEquals(0, cache.usersHeld(), "references leaked");
        assertTrue(cache.evictions() > 0 && cache.readaheads() > 0, "the test must evict and read ahead");
        cache.shrink(cache.limitBytes() / 2);
        assertTrue(cache.bytesCached() <= cache.limitBytes(), "back under the limit: " + cache.bytesCached());
    }

    private static void oneOp(ReadImage img, BTree bt, Random rnd, boolean evictor, AtomicLong items, AtomicLong blocks)
            throws Exception {
        int kind = rnd.nextInt(100);
        if (evictor && kind < 50) {
            bt.reader().cache().shrink(rnd.nextBoolean() ? 0 : ExtentBufferCache.MIN_LIMIT_BYTES / 2);
        } else if (kind < 45) {
            int i = rnd.nextInt(ITEMS);
            Item it = bt.lookup(img.root, ReadImage.key(i));
            int want = i;
            assertTrue(it != null, "item " + want + " not found");
            assertArrayEquals(ReadImage.value(want), it.data(), "item " + want);
            items.incrementAndGet();
        } else if (kind < 95) {
            int from = rnd.nextInt(ITEMS);
            int to = Math.min(ITEMS - 1, from + rnd.nextInt(600));
            int[] next = {from};
            bt.scan(img.root, ReadImage.key(from), ReadImage.key(to), (key, data, off, len) -> {
                assertEquals(ReadImage.key(next[0]), key);
                assertArrayEquals(ReadImage.value(next[0]), Arrays.copyOfRange(data, off, off + len), "item " + next[0]);
                next[0]++;
                return true;
            });
            assertEquals(to + 1, next[0], "scan " + from + ".." + to + " ended early");
            items.addAndGet(to - from + 1L);
        } else {
            List<AssertionError> bad = new ArrayList<>();
            bt.walk(img.root, eb -> {
                try {
                    if (!Arrays.equals(img.onDisk(eb.bytenr()), eb.data())) {
                        bad.add(new AssertionError("block " + eb.bytenr() + " differs from the device"));
                    }
                } catch (java.io.IOException e) {
                    bad.add(new AssertionError(e));
                }
                blocks.incrementAndGet();
            });
            if (!bad.isEmpty()) {
                throw bad.get(0);
            }
        }
    }
}
