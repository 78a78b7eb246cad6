package org.jbtrfs.ctree;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The cache's byte limit and its reference protocol. */
class ExtentBufferCacheTest {
    static final int NODE = 16384;

    static ExtentBuffer block(long bytenr) {
        byte[] b = new byte[NODE];
        org.jbtrfs.format.Le.putU64(b, org.jbtrfs.format.Header.OFF_BYTENR, bytenr);
        return new ExtentBuffer(bytenr, b);
    }

    @Test
    void staysUnderItsLimitWhenBuffersAreReleased() throws IOException {
        ExtentBufferCache c = new ExtentBufferCache(64 * NODE);
        for (long i = 0; i < 1000; i++) {
            c.get(i * NODE, ExtentBufferCacheTest::block).release();
            assertTrue(c.bytesCached() <= c.limitBytes(), "over limit after " + i + ": " + c.bytesCached());
        }
        assertTrue(c.evictions() > 0);
        assertEquals(1000, c.misses());
    }

    @Test
    void neverDropsABufferThatHasUsers() throws IOException {
        ExtentBufferCache c = new ExtentBufferCache(16 * NODE);
        List<ExtentBuffer> held = new ArrayList<>();
        for (long i = 0; i < 40; i++) {
            held.add(c.get(i * NODE, ExtentBufferCacheTest::block));
        }
        // All in use: the cache may go over its limit but must keep every one of them.
        assertEquals(40, c.size());
        for (ExtentBuffer eb : held) {
            assertSame(eb, c.get(eb.bytenr(), b -> {
                throw new AssertionError("reloaded a held buffer " + b);
            }));
            eb.release();
            eb.release();
        }
        c.get(1_000_000L * NODE, ExtentBufferCacheTest::block).release();
        assertTrue(c.bytesCached() <= c.limitBytes(), "released buffers are evicted again: " + c.bytesCached());
    }

    @Test
    void aHitReturnsTheSameBufferAndCountsIt() throws IOException {
        ExtentBufferCache c = new ExtentBufferCache(16 * NODE);
        ExtentBuffer a = c.get(NODE, ExtentBufferCacheTest::block);
        ExtentBuffer b = c.get(NODE, x -> {
            throw new AssertionError("miss on a cached block");
        });
        assertSame(a, b);
        assertEquals(2, a.users());
        a.release();
        b.release();
        assertEquals(1, c.hits());
    }

    @Test
    void concurrentMissesShareOneBuffer() throws Exception {
        ExtentBufferCache c = new ExtentBufferCache(64 * NODE);
        int threads = 4;
        CountDownLatch allLoading = new CountDownLatch(threads);
        AtomicInteger loads = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<ExtentBuffer>> fs = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                fs.add(pool.submit(() -> c.get(7 * NODE, b -> {
                    loads.incrementAndGet();
                    allLoading.countDown();
                    try {
                        allLoading.await(); // every thread is inside its miss before any inserts
                    } catch (InterruptedException e) {
                        throw new IOException(e);
                    }
                    return block(b);
                })));
            }
            ExtentBuffer first = fs.get(0).get();
            for (Future<ExtentBuffer> f : fs) {
                assertSame(first, f.get(), "all threads end with the buffer that was inserted first");
            }
            assertEquals(threads, loads.get());
            assertEquals(threads, first.users());
            assertEquals(1, c.size());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void rejectsATinyLimit() {
        assertThrows(IllegalArgumentException.class, () -> new ExtentBufferCache(1024));
    }

    @Test
    void releasingTooOftenFailsAnAssert() {
        ExtentBuffer eb = block(NODE);
        assertThrows(AssertionError.class, eb::release);
    }
}
