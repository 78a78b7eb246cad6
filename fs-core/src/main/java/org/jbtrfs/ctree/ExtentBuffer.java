package org.jbtrfs.ctree;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.Header;
import org.jbtrfs.format.Le;

/**
 * struct extent_buffer (extent_io.h): one tree block in memory, its bytes and its state.
 *
 * <h2>States</h2>
 * One atomic word ({@link #state}) holds the user count and the state bits, so that every
 * transition is a single compare-and-set and eviction can test "no users, not dirty, no IO" and
 * drop the cache's reference in the same step (the kernel does it under eb->refs_lock):
 * <ul>
 *   <li>{@code UPTODATE}: the bytes are valid (read and verified, or allocated by the writer).
 *       Nobody sees the bytes of a buffer that is not uptodate: readers wait for its read.</li>
 *   <li>{@code DIRTY}: holds changes not yet written; the cache holds the only copy.</li>
 *   <li>{@code READING} / {@code READAHEAD}: a read (by a reader who waits for it, or by readahead
 *       nobody waits for yet) is in flight. A buffer read from disk is born in one of these states,
 *       before it is published in the cache, so there is no moment where it is cached, not
 *       uptodate and not under IO.</li>
 *   <li>{@code WRITEBACK}: being written by {@link TreeBlockWriter}; DIRTY is cleared with it,
 *       once the bytes are on the device.</li>
 *   <li>{@code TREE_REF}: the cache's own reference (EXTENT_BUFFER_TREE_REF). Set while the buffer
 *       is in the cache; once cleared the buffer is dead to the cache and never comes back.</li>
 * </ul>
 *
 * <h2>Reference protocol</h2>
 * <ol>
 *   <li>The cache holds TREE_REF from insertion until it drops the buffer. Every user holds one
 *       counted reference ({@link #users()}) from {@link ExtentBufferCache#get} or {@link #retain()}
 *       until {@link #release()}; a {@link Path} releases what it holds when closed.</li>
 *   <li>A lookup takes its reference with one atomic add and keeps it only if TREE_REF was set
 *       ({@link #tryRetain()}); otherwise the buffer is on its way out and the lookup retries.</li>
 *   <li>Eviction drops TREE_REF only when the buffer has no users and is neither dirty nor under
 *       any IO, in one CAS ({@link #tryReleaseTreeRef()}): the fix of seed 004, where readahead IO
 *       was still in flight on a buffer that releasepage freed.</li>
 *   <li>IO starts and ends only on a buffer that holds TREE_REF (asserted in {@link #startIo} and
 *       {@link #endRead}/{@link #endWriteback}: the kernel's check_buffer_tree_ref), so an IO that
 *       completes into a released buffer fails loudly instead of filling memory nobody owns.</li>
 *   <li>A release below zero users fails an assert.</li>
 * </ol>
 * Buffers read from disk are verified (checksum and tree-checker) before they become uptodate and
 * are never modified afterwards.
 *
 * <h2>Writing</h2>
 * The write path modifies only buffers it allocated in the running transaction (COW: a block
 * already on disk is copied first, {@link CowBTree}). Such a buffer is {@link #isDirty() dirty}
 * from allocation until its transaction writes it; a dirty buffer is never evicted, because the
 * cache holds the only copy. Mutators assert that the buffer is dirty. All access to a dirty
 * buffer happens under its root's lock ({@link CowRoot#lock}).
 */
public final class ExtentBuffer {
    /** Low 32 bits of {@link #state}: the user count. */
    private static final long USERS_MASK = 0xffff_ffffL;
    static final long TREE_REF = 1L << 32;
    static final long UPTODATE = 1L << 33;
    static final long DIRTY = 1L << 34;
    static final long READING = 1L << 35;
    static final long READAHEAD = 1L << 36;
    static final long WRITEBACK = 1L << 37;
    /** Any of these keeps a buffer in the cache whatever its users (seed 004). */
    static final long IO_MASK = READING | READAHEAD | WRITEBACK;
    static final long PINNED_MASK = IO_MASK | DIRTY;

    private static final VarHandle STATE;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(ExtentBuffer.class, "state", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final long bytenr;
    private final byte[] data;
    /** Users (low 32 bits) and state bits; changed only by CAS or atomic add through {@link #STATE}. */
    private volatile long state;
    /** Completed when a read ends (null for allocated buffers, born uptodate). */
    private final CompletableFuture<Void> readDone;
    /** Set on access, cleared by the eviction sweep (second-chance CLOCK). */
    volatile boolean recentlyUsed;

    private ExtentBuffer(long bytenr, byte[] data, long state, CompletableFuture<Void> readDone) {
        this.bytenr = bytenr;
        this.data = data;
        this.state = state;
        this.readDone = readDone;
    }

    /** A fresh zeroed dirty buffer of {@code nodesize} bytes for a newly allocated tree block. */
    public static ExtentBuffer allocate(long bytenr, int nodesize) {
        ExtentBuffer eb = new ExtentBuffer(bytenr, new byte[nodesize], UPTODATE | DIRTY, null);
        Header.setBytenr(eb.data, bytenr);
        return eb;
    }

    /**
     * A buffer about to be read, born with TREE_REF, the IO bit {@code ioBit} and {@code users}
     * references: it is published in the cache only in this state.
     */
    static ExtentBuffer forRead(long bytenr, int length, long ioBit, int users) {
        assert ioBit == READING || ioBit == READAHEAD : Long.toHexString(ioBit);
        assert users >= 0;
        return new ExtentBuffer(bytenr, new byte[length], TREE_REF | ioBit | users, new CompletableFuture<>());
    }

    private static int users(long w) {
        return (int) (w & USERS_MASK);
    }

    public boolean isDirty() {
        return (state & DIRTY) != 0;
    }

    public boolean isUptodate() {
        return (state & UPTODATE) != 0;
    }

    /** Under read, readahead or writeback. */
    public boolean isUnderIo() {
        return (state & IO_MASK) != 0;
    }

    public boolean isUnderReadahead() {
        return (state & READAHEAD) != 0;
    }

    /** Whether the cache still holds its reference (TREE_REF). */
    public boolean inCache() {
        return (state & TREE_REF) != 0;
    }

    /** Marks the buffer clean without writing it: only for a block freed before it was written. */
    public void clearDirty() {
        long w = clearBits(DIRTY);
        assert (w & WRITEBACK) == 0 : "clearing dirty under writeback: " + this;
    }

    /** Marks a buffer dirty again: only for a block freed and reused in the same transaction. */
    void markDirty() {
        long w = setBits(DIRTY);
        assert (w & UPTODATE) != 0 && (w & IO_MASK) == 0 : "dirtying " + describe(w);
    }

    public void setNritems(int n) {
        assert isDirty() : this;
        Header.setNritems(data, n);
    }

    public void setKey(int slot, DiskKey k) {
        assert isDirty() : this;
        k.write(data, isLeaf() ? Header.itemOffset(slot) : Header.keyPtrOffset(slot));
    }

    /** Sets leaf item {@code slot}'s data offset, relative to the end of the header as on disk. */
    void setItemOffsetRaw(int slot, int offsetFromHeaderEnd) {
        assert isDirty() : this;
        Le.putU32(data, Header.itemOffset(slot) + Header.ITEM_OFF_OFFSET, offsetFromHeaderEnd);
    }

    void setItemSize(int slot, int size) {
        assert isDirty() : this;
        Le.putU32(data, Header.itemOffset(slot) + Header.ITEM_OFF_SIZE, size);
    }

    public void setBlockptr(int slot, long bytenr) {
        assert isDirty() && !isLeaf() : this;
        Le.putU64(data, Header.keyPtrOffset(slot) + Header.KEY_PTR_OFF_BLOCKPTR, bytenr);
    }

    public void setPtrGeneration(int slot, long gen) {
        assert isDirty() && !isLeaf() : this;
        Le.putU64(data, Header.keyPtrOffset(slot) + Header.KEY_PTR_OFF_GENERATION, gen);
    }

    public long bytenr() {
        return bytenr;
    }

    /** The raw block. Callers must not modify a buffer that came from the cache. */
    public byte[] data() {
        assert (state & UPTODATE) != 0 : "bytes of a buffer that is not uptodate: " + this;
        return data;
    }

    /** The array a read fills: only for the thread that owns the in-flight read. */
    byte[] dataForRead() {
        assert (state & (READING | READAHEAD)) != 0 && (state & UPTODATE) == 0 : describe(state);
        return data;
    }

    public int length() {
        return data.length;
    }

    public int level() {
        return Header.level(data);
    }

    public boolean isLeaf() {
        return level() == 0;
    }

    public int nritems() {
        return (int) Header.nritems(data);
    }

    public long generation() {
        return Header.generation(data);
    }

    public long owner() {
        return Header.owner(data);
    }

    /** The key of item (leaf) or key pointer (node) {@code slot}. */
    public DiskKey key(int slot) {
        return DiskKey.read(data, keyOffset(slot));
    }

    /** Compares the key at {@code slot} with {@code k} without allocating. */
    public int compareKey(int slot, DiskKey k) {
        return DiskKey.compare(data, keyOffset(slot), k);
    }

    private int keyOffset(int slot) {
        assert slot >= 0 && slot < nritems() : "slot " + slot + " of " + nritems();
        return isLeaf() ? Header.itemOffset(slot) : Header.keyPtrOffset(slot);
    }

    /** Absolute offset in {@link #data()} of leaf item {@code slot}'s data. */
    public int itemDataOffset(int slot) {
        assert isLeaf();
        return Header.SIZE + (int) Le.u32(data, Header.itemOffset(slot) + Header.ITEM_OFF_OFFSET);
    }

    public int itemSize(int slot) {
        assert isLeaf();
        return (int) Le.u32(data, Header.itemOffset(slot) + Header.ITEM_OFF_SIZE);
    }

    public long blockptr(int slot) {
        assert !isLeaf();
        return Le.u64(data, Header.keyPtrOffset(slot) + Header.KEY_PTR_OFF_BLOCKPTR);
    }

    public long ptrGeneration(int slot) {
        assert !isLeaf();
        return Le.u64(data, Header.keyPtrOffset(slot) + Header.KEY_PTR_OFF_GENERATION);
    }

    /**
     * Binary search over the keys: the slot of {@code k} if present, else {@code -(insertion point) - 1},
     * like {@link java.util.Arrays#binarySearch}.
     */
    public int binarySearch(DiskKey k) {
        int lo = 0;
        int hi = nritems() - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            int c = compareKey(mid, k);
            if (c < 0) {
                lo = mid + 1;
            } else if (c > 0) {
                hi = mid - 1;
            } else {
                return mid;
            }
        }
        return -(lo + 1);
    }

    /** Takes one more user reference for a caller that already holds one (or the cache's). */
    public ExtentBuffer retain() {
        long w = (long) STATE.getAndAdd(this, 1L);
        assert users(w) < Integer.MAX_VALUE : "reference count overflow on " + bytenr;
        assert users(w) > 0 || (w & TREE_REF) != 0 : "retain of a released buffer nobody holds: " + describe(w);
        return this;
    }

    /**
     * Lookup's reference: one atomic add, kept only if the cache still holds the buffer. False
     * means eviction dropped it between the map lookup and here; the caller looks again.
     */
    boolean tryRetain() {
        long w = (long) STATE.getAndAdd(this, 1L);
        if ((w & TREE_REF) != 0) {
            return true;
        }
        STATE.getAndAdd(this, -1L);
        return false;
    }

    /** Drops a user reference taken by {@link ExtentBufferCache#get} or {@link #retain()}. */
    public void release() {
        long w = (long) STATE.getAndAdd(this, -1L);
        if (users(w) == 0) {
            STATE.getAndAdd(this, 1L); // undo, so the state stays sane for the report
            throw new AssertionError("extent buffer " + bytenr + " released more often than retained");
        }
    }

    public int users() {
        return users(state);
    }

    /**
     * Eviction: drops TREE_REF if and only if nobody uses the buffer and it is neither dirty nor
     * under read, readahead or writeback — tested and changed in one CAS, so no IO can start or
     * user arrive in between (seed 004).
     */
    boolean tryReleaseTreeRef() {
        while (true) {
            long w = state;
            if ((w & TREE_REF) == 0 || users(w) != 0 || (w & PINNED_MASK) != 0) {
                return false;
            }
            if (STATE.compareAndSet(this, w, w & ~TREE_REF)) {
                return true;
            }
        }
    }

    /**
     * Drops TREE_REF whatever the users (they keep their references): for a block freed before it
     * was written, a stale buffer replaced by a reallocated block, or a read that failed. Returns
     * false if eviction dropped it first. Whoever drops TREE_REF uncounts the buffer's bytes.
     */
    boolean dropTreeRef() {
        while (true) {
            long w = state;
            if ((w & TREE_REF) == 0) {
                return false;
            }
            assert (w & PINNED_MASK) == 0 : "dropping a buffer that is dirty or under IO: " + describe(w);
            if (STATE.compareAndSet(this, w, w & ~TREE_REF)) {
                return true;
            }
        }
    }

    /** Cache insertion of an allocated buffer: takes TREE_REF and the caller's reference. */
    void takeTreeRefAndUser() {
        long w = (long) STATE.getAndAdd(this, TREE_REF + 1L);
        assert (w & TREE_REF) == 0 && (w & DIRTY) != 0 : "inserting " + describe(w);
    }

    /** IO starts: only on a buffer the cache holds (check_buffer_tree_ref). */
    void startIo(long ioBit) {
        long w = setBits(ioBit);
        assert (w & TREE_REF) != 0 : "IO starts on a buffer released from the cache: " + describe(w);
        assert (w & IO_MASK) == 0 : "IO starts on a buffer already under IO: " + describe(w);
    }

    /**
     * A read or readahead ends: clears its IO bit and, if it succeeded, sets UPTODATE; then wakes
     * every reader waiting for it. The buffer must still be in the cache: a read that completes
     * into a released buffer is the use-after-free of seed 004.
     */
    void endRead(Throwable error) {
        long w = (error == null) ? updateBits(READING | READAHEAD, UPTODATE) : clearBits(READING | READAHEAD);
        try {
            assert (w & (READING | READAHEAD)) != 0 : "read ends on a buffer not under read: " + describe(w);
            assert (w & TREE_REF) != 0 : "read IO completed into a buffer released from the cache (seed 004): "
                    + describe(w);
        } finally {
            if (error == null) {
                readDone.complete(null);
            } else {
                readDone.completeExceptionally(error);
            }
        }
    }

    /** Writeback starts on a dirty buffer the cache holds. */
    void startWriteback() {
        long w = setBits(WRITEBACK);
        assert (w & TREE_REF) != 0 : "writeback of a buffer released from the cache: " + describe(w);
        assert (w & DIRTY) != 0 && (w & IO_MASK) == 0 : "writeback of " + describe(w);
    }

    /**
     * Writeback ends. If it succeeded the bytes are on the device, so the buffer is clean and
     * evictable again; if not it stays dirty (the cache keeps the only copy).
     */
    void endWriteback(boolean written) {
        long w = clearBits(written ? WRITEBACK | DIRTY : WRITEBACK);
        assert (w & WRITEBACK) != 0 && (w & TREE_REF) != 0 : "writeback ends on " + describe(w);
    }

    /** Waits until the read in flight on this buffer ends; throws its error if it failed. */
    void awaitUptodate() throws IOException {
        if ((state & UPTODATE) != 0) {
            return;
        }
        assert readDone != null : "an allocated buffer is born uptodate: " + this;
        try {
            readDone.join();
        } catch (CompletionException e) {
            Throwable c = e.getCause();
            if (c instanceof IOException io) {
                throw io;
            }
            if (c instanceof UncheckedIOException u) {
                throw u.getCause();
            }
            if (c instanceof Error err) {
                throw err;
            }
            throw new IOException("read of tree block " + Long.toUnsignedString(bytenr) + " failed", c);
        }
        assert (state & UPTODATE) != 0 : describe(state);
    }

    private long setBits(long bits) {
        return (long) STATE.getAndBitwiseOr(this, bits);
    }

    private long clearBits(long bits) {
        return (long) STATE.getAndBitwiseAnd(this, ~bits);
    }

    /** Clears {@code clear} and sets {@code set} in one CAS; returns the previous word. */
    private long updateBits(long clear, long set) {
        while (true) {
            long w = state;
            if (STATE.compareAndSet(this, w, (w & ~clear) | set)) {
                return w;
            }
        }
    }

    private String describe(long w) {
        StringBuilder b = new StringBuilder("extent buffer ").append(Long.toUnsignedString(bytenr)).append(" users ")
                .append(users(w)).append(" [");
        String[] names = {"TREE_REF", "UPTODATE", "DIRTY", "READING", "READAHEAD", "WRITEBACK"};
        for (int i = 0; i < names.length; i++) {
            if ((w & (1L << (32 + i))) != 0) {
                b.append(' ').append(names[i]);
            }
        }
        return b.append(" ]").toString();
    }

    @Override
    public String toString() {
        long w = state;
        if ((w & UPTODATE) == 0) {
            return describe(w);
        }
        return describe(w) + " level " + level() + " items " + nritems();
    }
}
