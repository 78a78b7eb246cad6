package org.jbtrfs.ctree;

import java.io.IOException;
import java.util.Iterator;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The cache of tree blocks by logical address (the kernel's buffer_tree / radix tree of extent
 * buffers), bounded by a byte limit.
 *
 * <h2>How it works</h2>
 * Lookups are a {@link ConcurrentHashMap} get plus setting the buffer's recently-used bit, so a
 * hit takes no lock. A miss loads the block through the caller's {@link Loader} and inserts it
 * with putIfAbsent, so two threads that miss together end up sharing one buffer. When the bytes
 * held go over the limit, the inserting thread sweeps (second-chance CLOCK): buffers used since
 * the last sweep lose their bit, others with no users are dropped, until the cache is back under
 * {@link #LOW_WATER_PERCENT} of the limit. A buffer that has users is never dropped
 * ({@link ExtentBuffer#isEvictable()}); when all buffers are in use the cache is allowed to stay
 * over its limit rather than fail a read.
 *
 * <h2>Locks</h2>
 * {@link #evictLock} serialises sweeps only; lookups and inserts never take it.
 */
public final class ExtentBufferCache {
    /** A sweep frees down to this share of the limit, so that sweeps are rare. */
    static final int LOW_WATER_PERCENT = 90;
    /** The smallest limit accepted: a few blocks of the largest node size. */
    public static final long MIN_LIMIT_BYTES = 4L * 65536;

    /** Loads a block that is not cached; verified before it returns. */
    @FunctionalInterface
    public interface Loader {
        ExtentBuffer load(long bytenr) throws IOException;
    }

    private final ConcurrentHashMap<Long, ExtentBuffer> buffers = new ConcurrentHashMap<>();
    private final AtomicLong bytesCached = new AtomicLong();
    private final long limitBytes;
    /** Serialises eviction sweeps. Rank: leaf lock, nothing is taken inside it. */
    private final ReentrantLock evictLock = new ReentrantLock();
    private final AtomicLong hits = new AtomicLong();
    private final AtomicLong misses = new AtomicLong();
    private final AtomicLong evictions = new AtomicLong();

    public ExtentBufferCache(long limitBytes) {
        if (limitBytes < MIN_LIMIT_BYTES) {
            throw new IllegalArgumentException("extent buffer cache limit " + limitBytes + " below " + MIN_LIMIT_BYTES);
        }
        this.limitBytes = limitBytes;
    }

    /** Returns the buffer for {@code bytenr} with a user reference the caller must release. */
    public ExtentBuffer get(long bytenr, Loader loader) throws IOException {
        while (true) {
            ExtentBuffer eb = buffers.get(bytenr);
            if (eb != null) {
                eb.retain();
                if (eb.inCache) {
                    if (!eb.recentlyUsed) {
                        eb.recentlyUsed = true;
                    }
                    hits.incrementAndGet();
                    return eb;
                }
                // Evicted between the get and the retain: drop our reference and look again.
                eb.release();
                continue;
            }
            misses.incrementAndGet();
            ExtentBuffer loaded = loader.load(bytenr);
            assert loaded.bytenr() == bytenr : "loader returned " + loaded.bytenr() + " for " + bytenr;
            loaded.inCache = true;
            loaded.recentlyUsed = true;
            loaded.retain();
            ExtentBuffer raced = buffers.putIfAbsent(bytenr, loaded);
            if (raced != null) {
                loaded.inCache = false;
                loaded.release();
                continue;
            }
            if (bytesCached.addAndGet(loaded.length()) > limitBytes) {
                evict();
            }
            return loaded;
        }
    }

    /**
     * Puts a buffer the write path just allocated into the cache, replacing whatever stale buffer
     * the address held before it was freed and reused, and returns it with a user reference.
     */
    public ExtentBuffer insertNew(ExtentBuffer eb) {
        assert eb.isDirty() : "only freshly allocated buffers are inserted: " + eb;
        eb.inCache = true;
        eb.recentlyUsed = true;
        eb.retain();
        ExtentBuffer old = buffers.put(eb.bytenr(), eb);
        if (old != null) {
            old.inCache = false;
            bytesCached.addAndGet(-old.length());
        }
        if (bytesCached.addAndGet(eb.length()) > limitBytes) {
            evict();
        }
        return eb;
    }

    /**
     * Drops a buffer whose block was freed before it was ever written (allocated and freed in the
     * same transaction): its contents must never be read again.
     */
    public void forget(ExtentBuffer eb) {
        if (buffers.remove(eb.bytenr(), eb)) {
            eb.inCache = false;
            bytesCached.addAndGet(-eb.length());
        }
    }

    /** Sweeps until under the low-water mark or nothing more can go. */
    void evict() {
        if (!evictLock.tryLock()) {
            return; // another thread is already sweeping
        }
        try {
            long target = limitBytes / 100 * LOW_WATER_PERCENT;
            for (int pass = 0; pass < 2 && bytesCached.get() > target; pass++) {
                Iterator<ExtentBuffer> it = buffers.values().iterator();
                while (it.hasNext() && bytesCached.get() > target) {
                    ExtentBuffer eb = it.next();
                    if (eb.recentlyUsed) {
                        eb.recentlyUsed = false;
                    } else if (eb.isEvictable()) {
                        tryDrop(eb);
                    }
                }
            }
        } finally {
            evictLock.unlock();
        }
    }

    /**
     * Drops the cache's reference: first marks the buffer out of the cache, then re-checks users so
     * that a concurrent {@link #get} that retained it in between keeps it (and the get sees
     * {@code inCache == false} and retries).
     */
    private void tryDrop(ExtentBuffer eb) {
        eb.inCache = false;
        if (!eb.isEvictable()) {
            eb.inCache = true;
            return;
        }
        if (buffers.remove(eb.bytenr(), eb)) {
            bytesCached.addAndGet(-eb.length());
            evictions.incrementAndGet();
        }
    }

    /** Sum of user references over cached buffers: for leak checks in tests and at unmount. */
    public long usersHeld() {
        long n = 0;
        for (ExtentBuffer eb : buffers.values()) {
            n += eb.users();
        }
        return n;
    }

    public long bytesCached() {
        return bytesCached.get();
    }

    public long limitBytes() {
        return limitBytes;
    }

    public int size() {
        return buffers.size();
    }

    public long hits() {
        return hits.get();
    }

    public long misses() {
        return misses.get();
    }

    public long evictions() {
        return evictions.get();
    }
}
