package org.jbtrfs.ctree;

import java.io.IOException;
import java.util.Iterator;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;
import org.jbtrfs.race.RacePoint;

/**
 * The cache of tree blocks by logical address (the kernel's buffer_tree of extent buffers,
 * alloc_extent_buffer / find_extent_buffer / read_extent_buffer_pages / try_release_extent_buffer
 * in extent_io.c), bounded by a byte limit ({@code OpenOptions.cacheLimitBytes}).
 *
 * <h2>How it works</h2>
 * <ol>
 *   <li><b>Hit.</b> A {@link ConcurrentHashMap} get (keys mixed, {@link #mapKey}), one atomic
 *       add on the buffer ({@link ExtentBuffer#tryRetain()}) and, if needed, setting its
 *       recently-used bit: no lock, no counter; the caller's release is the second atomic add.</li>
 *   <li><b>Miss.</b> The missing thread makes a buffer born under read (TREE_REF, READING, one
 *       user) and publishes it with putIfAbsent. The winner reads; every other thread that finds
 *       the buffer, a reader or a readahead, takes a reference and waits for that same read (the
 *       buffer's read future). So there is at most one read in flight per block.</li>
 *   <li><b>Readahead.</b> {@link #readahead} publishes a buffer born under READAHEAD with no
 *       user and hands the read to an executor; nobody holds a user reference on it while it is in
 *       flight — exactly the case of seed 004 — so only its IO bit keeps eviction off it.</li>
 *   <li><b>Failure.</b> A read that fails ends its IO, leaves the cache, and fails every waiter
 *       with the same error; the next reader tries again.</li>
 *   <li><b>Eviction.</b> When the bytes held go over the limit, the inserting thread sweeps
 *       (second-chance CLOCK) down to {@link #LOW_WATER_PERCENT} of the limit: recently used
 *       buffers lose their bit, others are dropped if {@link ExtentBuffer#tryReleaseTreeRef()}
 *       agrees (no users, not dirty, no IO, in one CAS). When nothing can go the cache stays over
 *       its limit rather than fail a read. {@link #shrink} does the same on demand (memory
 *       pressure). Sweeps never block lookups.</li>
 * </ol>
 *
 * <h2>Locks</h2>
 * {@link #evictLock} serialises sweeps only, and is only ever tried: lookups, inserts and IO
 * completions never wait for it.
 */
public final class ExtentBufferCache {
    /** A sweep frees down to this share of the limit, so that sweeps are rare. */
    static final int LOW_WATER_PERCENT = 90;
    /** The smallest limit accepted: a few blocks of the largest node size. */
    public static final long MIN_LIMIT_BYTES = 4L * 65536;

    /** Reads and verifies block {@code bytenr} into {@code into} (the whole block). */
    @FunctionalInterface
    public interface Loader {
        void load(long bytenr, byte[] into) throws IOException;
    }

    /**
     * Fibonacci hashing multiplier (2^64 / golden ratio, odd, so {@link #mapKey} is a bijection).
     * Tree blocks sit at multiples of nodesize, so the low 12 to 16 bits of a bytenr are zero and
     * Long.hashCode plus ConcurrentHashMap's spread put 4 (16K nodes) to 16 (4K) neighbouring
     * blocks in one bin, which treeifies past 8: a hit then walked a red-black tree of Longs.
     * The product's high half mixes every bit of the address into the bits the table indexes by.
     */
    private static final long KEY_MIX = 0x9E37_79B9_7F4A_7C15L;

    /** Buffers by {@link #mapKey} of their bytenr. */
    private final ConcurrentHashMap<Long, ExtentBuffer> buffers = new ConcurrentHashMap<>();
    private final AtomicLong bytesCached = new AtomicLong();
    private final long limitBytes;
    /** Serialises eviction sweeps. Rank: leaf lock, nothing is taken inside it; only tryLock'ed. */
    private final ReentrantLock evictLock = new ReentrantLock();
    // Adders, not atomics: two threads missing at once must not fight over one counter line. Hits
    // are not counted at all: even a striped adder is one more locked instruction per tree step.
    private final LongAdder misses = new LongAdder();
    private final LongAdder reads = new LongAdder();
    private final LongAdder readaheads = new LongAdder();
    private final LongAdder evictions = new LongAdder();
    private final LongAdder joins = new LongAdder();

    public ExtentBufferCache(long limitBytes) {
        if (limitBytes < MIN_LIMIT_BYTES) {
            throw new IllegalArgumentException("extent buffer cache limit " + limitBytes + " below " + MIN_LIMIT_BYTES);
        }
        this.limitBytes = limitBytes;
    }

    /**
     * The map key of block {@code bytenr}: a bijection that spreads nodesize-aligned addresses
     * over the table (see {@link #KEY_MIX}). Public so the cache-hit benchmark's floor can use
     * the same keys.
     */
    public static long mapKey(long bytenr) {
        return bytenr * KEY_MIX;
    }

    /**
     * Returns the uptodate buffer for {@code bytenr} with a user reference the caller must release,
     * reading it with {@code loader} unless it is cached or already being read.
     */
    public ExtentBuffer get(long bytenr, int length, Loader loader) throws IOException {
        while (true) {
            ExtentBuffer eb = buffers.get(mapKey(bytenr));
            if (eb != null) {
                if (!eb.tryRetain()) {
                    Thread.onSpinWait(); // being dropped: gone from the map in a moment
                    continue;
                }
                if (!eb.recentlyUsed) {
                    eb.recentlyUsed = true;
                }
                if (!eb.isUptodate()) {
                    joins.increment();
                    awaitRead(eb); // someone's read or readahead is in flight: share it
                }
                assert eb.length() == length : "block " + bytenr + " cached with " + eb.length() + " bytes, asked " + length;
                return eb;
            }
            ExtentBuffer fresh = ExtentBuffer.forRead(bytenr, length, ExtentBuffer.READING, 1);
            if (buffers.putIfAbsent(mapKey(bytenr), fresh) != null) {
                continue;
            }
            misses.increment();
            fresh.recentlyUsed = true;
            added(fresh);
            runRead(fresh, loader);
            awaitRead(fresh); // throws (and releases) if the read failed
            return fresh;
        }
    }

    /**
     * Starts reading block {@code bytenr} in the background unless it is cached or in flight
     * (readahead_tree_block). Returns whether a read was started. If {@code executor} refuses the
     * task the read runs in the calling thread, unless the refusal is a stopped {@link Readahead}
     * (the filesystem is closing): then the block leaves the cache unread.
     */
    public boolean readahead(long bytenr, int length, Loader loader, Executor executor) {
        if (buffers.containsKey(mapKey(bytenr))) {
            return false;
        }
        ExtentBuffer fresh = ExtentBuffer.forRead(bytenr, length, ExtentBuffer.READAHEAD, 0);
        if (buffers.putIfAbsent(mapKey(bytenr), fresh) != null) {
            return false;
        }
        readaheads.increment();
        added(fresh); // may sweep: the READAHEAD bit keeps this buffer in
        Runnable task = () -> {
            RacePoint.READAHEAD_SUBMITTED.hit();
            runRead(fresh, loader);
        };
        try {
            executor.execute(task);
        } catch (Readahead.StoppedException e) {
            // The filesystem is closing: nothing may read any more. End the IO unread, out of the cache.
            endFailedRead(fresh, e);
            return false;
        } catch (RejectedExecutionException e) {
            task.run(); // an executor that is full: read it here, which bounds what readahead pins
        }
        return true;
    }

    /** Does the IO of a buffer born under read or readahead and ends it, whatever happens. */
    private void runRead(ExtentBuffer eb, Loader loader) {
        Throwable error = null;
        try {
            reads.increment();
            loader.load(eb.bytenr(), eb.dataForRead());
        } catch (Throwable e) { // whatever fails, the IO ends and the waiters hear of it
            error = e;
        }
        if (error == null) {
            eb.endRead(null);
            return;
        }
        endFailedRead(eb, error);
    }

    private void endFailedRead(ExtentBuffer eb, Throwable error) {
        // Out of the cache before the waiters wake, so whoever retries reads again.
        buffers.remove(mapKey(eb.bytenr()), eb);
        eb.endRead(error);
        if (eb.dropTreeRef()) {
            bytesCached.addAndGet(-eb.length());
        }
    }

    /** Waits for the read of a buffer the caller holds a reference on; releases it on failure. */
    private static void awaitRead(ExtentBuffer eb) throws IOException {
        try {
            eb.awaitUptodate();
        } catch (IOException | RuntimeException | Error e) {
            eb.release();
            throw e;
        }
    }

    /**
     * Puts a buffer the write path just allocated into the cache, replacing whatever stale buffer
     * the address held before it was freed and reused, and returns it with a user reference.
     */
    public ExtentBuffer insertNew(ExtentBuffer eb) {
        eb.takeTreeRefAndUser();
        eb.recentlyUsed = true;
        while (true) {
            ExtentBuffer old = buffers.get(mapKey(eb.bytenr()));
            if (old == null) {
                if (buffers.putIfAbsent(mapKey(eb.bytenr()), eb) == null) {
                    break;
                }
                continue;
            }
            if (old.isUnderIo()) {
                // A read of the old contents (a readahead through an old root) is in flight: it
                // ends into a live buffer, then the block's new contents replace it.
                old.retain();
                try {
                    old.awaitUptodate();
                } catch (IOException e) {
                    // The failed read took it out of the cache already.
                } finally {
                    old.release();
                }
                continue;
            }
            if (buffers.replace(mapKey(eb.bytenr()), old, eb)) {
                if (old.dropTreeRef()) {
                    bytesCached.addAndGet(-old.length());
                }
                break;
            }
        }
        added(eb);
        return eb;
    }

    /**
     * Drops a buffer whose block was freed before it was ever written (allocated and freed in the
     * same transaction): its contents must never be read again.
     */
    public void forget(ExtentBuffer eb) {
        assert !eb.isDirty() : "forgetting a dirty buffer: " + eb;
        buffers.remove(mapKey(eb.bytenr()), eb);
        if (eb.dropTreeRef()) {
            bytesCached.addAndGet(-eb.length());
        }
    }

    private void added(ExtentBuffer eb) {
        if (bytesCached.addAndGet(eb.length()) > limitBytes) {
            shrink(limitBytes / 100 * LOW_WATER_PERCENT);
        }
    }

    /**
     * Sweeps until at most {@code targetBytes} are cached or nothing more can go; returns the bytes
     * held after. Returns at once if another thread is sweeping (it will get there).
     */
    public long shrink(long targetBytes) {
        if (!evictLock.tryLock()) {
            return bytesCached.get();
        }
        try {
            for (int pass = 0; pass < 2 && bytesCached.get() > targetBytes; pass++) {
                Iterator<ExtentBuffer> it = buffers.values().iterator();
                while (it.hasNext() && bytesCached.get() > targetBytes) {
                    ExtentBuffer eb = it.next();
                    if (eb.recentlyUsed) {
                        eb.recentlyUsed = false;
                        continue;
                    }
                    RacePoint.EVICT_BEFORE_RELEASE.hit();
                    if (eb.tryReleaseTreeRef()) {
                        // Whoever drops TREE_REF uncounts the bytes; the entry may already have
                        // been replaced (insertNew) or removed (forget).
                        bytesCached.addAndGet(-eb.length());
                        buffers.remove(mapKey(eb.bytenr()), eb);
                        evictions.increment();
                    }
                }
            }
            return bytesCached.get();
        } finally {
            evictLock.unlock();
        }
    }

    /** The cached buffer for {@code bytenr} without a reference or a read, or null: for tests. */
    ExtentBuffer peek(long bytenr) {
        return buffers.get(mapKey(bytenr));
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

    public long misses() {
        return misses.sum();
    }

    /** Device reads done (misses and readaheads that read). */
    public long reads() {
        return reads.sum();
    }

    public long readaheads() {
        return readaheads.sum();
    }

    /** Lookups that found the block's read in flight and waited for it instead of reading. */
    public long joins() {
        return joins.sum();
    }

    public long evictions() {
        return evictions.sum();
    }
}
