package org.jbtrfs.ctree;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
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
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.jbtrfs.format.Header;
import org.jbtrfs.format.Le;
import org.junit.jupiter.api.Test;

/** The cache's byte limit, its states and its reference protocol. */
class ExtentBufferCacheTest {
    static final int NODE = 16384;

    /** A loader that writes the block's address into its header. */
    static void fill(long bytenr, byte[] into) {
        Le.putU64(into, Header.OFF_BYTENR, bytenr);
    }

    static ExtentBuffer get(ExtentBufferCache c, long bytenr) throws IOException {
        return c.get(bytenr, NODE, ExtentBufferCacheTest::fill);
    }

    @Test
    void staysUnderItsLimitWhenBuffersAreReleased() throws IOException {
        ExtentBufferCache c = new ExtentBufferCache(64 * NODE);
        for (long i = 0; i < 1000; i++) {
            ExtentBuffer eb = get(c, i * NODE);
            assertEquals(i * NODE, Header.bytenr(eb.data()));
            eb.release();
            assertTrue(c.bytesCached() <= c.limitBytes(), "over limit after " + i + ": " + c.bytesCached());
        }
        assertTrue(c.evictions() > 0);
        assertEquals(1000, c.misses());
        assertEquals(1000, c.reads());
    }

    @Test
    void neverDropsABufferThatHasUsers() throws IOException {
        ExtentBufferCache c = new ExtentBufferCache(16 * NODE);
        List<ExtentBuffer> held = new ArrayList<>();
        for (long i = 0; i < 40; i++) {
            held.add(get(c, i * NODE));
        }
        // All in use: the cache may go over its limit but must keep every one of them.
        assertEquals(40, c.size());
        for (ExtentBuffer eb : held) {
            assertSame(eb, c.get(eb.bytenr(), NODE, (b, into) -> {
                throw new AssertionError("reloaded a held buffer " + b);
            }));
            eb.release();
            eb.release();
        }
        get(c, 1_000_000L * NODE).release();
        assertTrue(c.bytesCached() <= c.limitBytes(), "released buffers are evicted again: " + c.bytesCached());
    }

    @Test
    void aHitReturnsTheSameBufferWithoutReading() throws IOException {
        ExtentBufferCache c = new ExtentBufferCache(16 * NODE);
        ExtentBuffer a = get(c, NODE);
        ExtentBuffer b = c.get(NODE, NODE, (x, into) -> {
            throw new AssertionError("miss on a cached block");
        });
        assertSame(a, b);
        assertEquals(2, a.users());
        assertTrue(a.inCache() && a.isUptodate() && !a.isUnderIo());
        a.release();
        b.release();
        assertEquals(1, c.misses());
        assertEquals(1, c.reads());
    }

    @Test
    void concurrentReadersOfABlockShareOneRead() throws Exception {
        ExtentBufferCache c = new ExtentBufferCache(64 * NODE);
        CountDownLatch loading = new CountDownLatch(1);
        CountDownLatch go = new CountDownLatch(1);
        AtomicInteger loads = new AtomicInteger();
        ExtentBufferCache.Loader slow = (b, into) -> {
            loads.incrementAndGet();
            loading.countDown();
            try {
                assertTrue(go.await(30, TimeUnit.SECONDS));
            } catch (InterruptedException e) {
                throw new IOException(e);
            }
            fill(b, into);
        };
        int joiners = 3;
        ExecutorService pool = Executors.newFixedThreadPool(joiners + 1);
        try {
            List<Future<ExtentBuffer>> fs = new ArrayList<>();
            fs.add(pool.submit(() -> c.get(7 * NODE, NODE, slow)));
            assertTrue(loading.await(30, TimeUnit.SECONDS));
            for (int t = 0; t < joiners; t++) {
                fs.add(pool.submit(() -> c.get(7 * NODE, NODE, slow)));
            }
            while (c.joins() < joiners) {
                Thread.onSpinWait(); // each joiner counts itself just before it waits for the read
            }
            ExtentBuffer inFlight = c.peek(7 * NODE);
            assertTrue(inFlight.isUnderIo() && !inFlight.isUptodate(), inFlight.toString());
            assertEquals(joiners + 1, inFlight.users());
            go.countDown();
            for (Future<ExtentBuffer> f : fs) {
                assertSame(inFlight, f.get(), "every reader gets the buffer of the one read");
            }
            assertEquals(1, loads.get());
            assertEquals(1, c.reads());
            assertEquals(7 * NODE, Header.bytenr(inFlight.data()));
            assertFalse(inFlight.isUnderIo());
        } finally {
            go.countDown();
            pool.shutdownNow();
        }
    }

    @Test
    void aFailedReadFailsItsWaitersAndLeavesTheCache() throws Exception {
        ExtentBufferCache c = new ExtentBufferCache(64 * NODE);
        IOException boom = new IOException("bad block");
        assertSame(boom, assertThrows(IOException.class, () -> c.get(NODE, NODE, (b, into) -> {
            throw boom;
        })));
        assertNull(c.peek(NODE), "a failed read leaves nothing behind");
        assertEquals(0, c.bytesCached());
        ExtentBuffer eb = get(c, NODE); // the next reader tries again
        assertEquals(NODE, Header.bytenr(eb.data()));
        eb.release();
    }

    @Test
    void dirtyAndWritebackBuffersAreNeverEvicted() {
        ExtentBufferCache c = new ExtentBufferCache(16 * NODE);
        ExtentBuffer eb = c.insertNew(ExtentBuffer.allocate(3 * NODE, NODE));
        eb.release();
        assertEquals(NODE, c.shrink(0), "a dirty buffer stays");
        eb.startWriteback();
        assertEquals(NODE, c.shrink(0), "a buffer under writeback stays");
        eb.endWriteback(true);
        assertFalse(eb.isDirty());
        c.shrink(0); // first pass clears its recently-used bit, second drops it
        assertEquals(0, c.bytesCached());
        assertFalse(eb.inCache());
    }

    @Test
    void readaheadIsSharedByALaterReader() throws IOException {
        ExtentBufferCache c = new ExtentBufferCache(16 * NODE);
        List<Runnable> queued = new ArrayList<>();
        assertTrue(c.readahead(5 * NODE, NODE, ExtentBufferCacheTest::fill, queued::add));
        assertFalse(c.readahead(5 * NODE, NODE, ExtentBufferCacheTest::fill, queued::add), "one read per block");
        ExtentBuffer ra = c.peek(5 * NODE);
        assertTrue(ra.isUnderReadahead() && ra.users() == 0 && ra.inCache());
        c.shrink(0);
        assertSame(ra, c.peek(5 * NODE), "a buffer under readahead is not evicted");
        queued.get(0).run();
        ExtentBuffer eb = c.get(5 * NODE, NODE, (b, into) -> {
            throw new AssertionError("read twice");
        });
        assertSame(ra, eb);
        eb.release();
        assertEquals(1, c.reads());
    }

    @Test
    void rejectsATinyLimit() {
        assertThrows(IllegalArgumentException.class, () -> new ExtentBufferCache(1024));
    }

    @Test
    void releasingTooOftenFailsAnAssert() throws IOException {
        ExtentBufferCache c = new ExtentBufferCache(16 * NODE);
        ExtentBuffer eb = get(c, NODE);
        eb.release();
        assertThrows(AssertionError.class, eb::release);
    }

    @Test
    void ioOnAReleasedBufferFailsAnAssert() {
        ExtentBuffer eb = ExtentBuffer.allocate(NODE, NODE); // never in a cache: no TREE_REF
        assertThrows(AssertionError.class, eb::startWriteback);
    }
}
