package org.jbtrfs.ctree;

import java.util.concurrent.atomic.AtomicInteger;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.Header;
import org.jbtrfs.format.Le;

/**
 * struct extent_buffer (extent_io.h): one tree block in memory, its bytes and its state.
 *
 * <h2>Reference protocol</h2>
 * <ul>
 *   <li>The cache holds one reference of its own while the buffer is in the cache (the kernel's
 *       EXTENT_BUFFER_TREE_REF bit): {@link #inCache}.</li>
 *   <li>Every user holds one counted reference ({@link #users}) from {@link ExtentBufferCache#get}
 *       or {@link #retain()} until {@link #release()}. A {@link Path} releases what it holds when
 *       closed.</li>
 *   <li>The cache may drop its reference (evict) only when {@code users == 0} and the buffer is
 *       neither dirty nor under IO. Checked by {@link #isEvictable()}.</li>
 * </ul>
 * Buffers read from disk are verified (checksum and tree-checker) before anyone sees them and are
 * never modified afterwards.
 *
 * <h2>Writing</h2>
 * The write path modifies only buffers it allocated in the running transaction (COW: a block
 * already on disk is copied first, {@link CowBTree}). Such a buffer is {@link #isDirty() dirty}
 * from allocation until its transaction writes it; a dirty buffer is never evicted, because the
 * cache holds the only copy. Mutators assert that the buffer is dirty. All access to a dirty
 * buffer happens under its root's lock ({@link CowRoot#lock}).
 */
public final class ExtentBuffer {
    private final long bytenr;
    private final byte[] data;
    private final AtomicInteger users = new AtomicInteger();
    /** Set while the cache holds this buffer (TREE_REF). Guarded by the cache's eviction protocol. */
    volatile boolean inCache;
    /** Set on access, cleared by the eviction sweep (second-chance CLOCK). */
    volatile boolean recentlyUsed;

    /** Set while the buffer holds changes not yet written (EXTENT_BUFFER_DIRTY). */
    private volatile boolean dirty;

    public ExtentBuffer(long bytenr, byte[] data) {
        this.bytenr = bytenr;
        this.data = data;
    }

    /** A fresh zeroed dirty buffer of {@code nodesize} bytes for a newly allocated tree block. */
    public static ExtentBuffer allocate(long bytenr, int nodesize) {
        ExtentBuffer eb = new ExtentBuffer(bytenr, new byte[nodesize]);
        eb.dirty = true;
        Header.setBytenr(eb.data, bytenr);
        return eb;
    }

    public boolean isDirty() {
        return dirty;
    }

    /** Marks the buffer written (clean); it may be evicted from now on. */
    public void clearDirty() {
        dirty = false;
    }

    /** Marks a buffer dirty again: only for a block freed and reused in the same transaction. */
    void markDirty() {
        dirty = true;
    }

    public void setNritems(int n) {
        assert dirty : this;
        Header.setNritems(data, n);
    }

    public void setKey(int slot, DiskKey k) {
        assert dirty : this;
        k.write(data, isLeaf() ? Header.itemOffset(slot) : Header.keyPtrOffset(slot));
    }

    /** Sets leaf item {@code slot}'s data offset, relative to the end of the header as on disk. */
    void setItemOffsetRaw(int slot, int offsetFromHeaderEnd) {
        assert dirty : this;
        Le.putU32(data, Header.itemOffset(slot) + Header.ITEM_OFF_OFFSET, offsetFromHeaderEnd);
    }

    void setItemSize(int slot, int size) {
        assert dirty : this;
        Le.putU32(data, Header.itemOffset(slot) + Header.ITEM_OFF_SIZE, size);
    }

    public void setBlockptr(int slot, long bytenr) {
        assert dirty && !isLeaf() : this;
        Le.putU64(data, Header.keyPtrOffset(slot) + Header.KEY_PTR_OFF_BLOCKPTR, bytenr);
    }

    public void setPtrGeneration(int slot, long gen) {
        assert dirty && !isLeaf() : this;
        Le.putU64(data, Header.keyPtrOffset(slot) + Header.KEY_PTR_OFF_GENERATION, gen);
    }

    public long bytenr() {
        return bytenr;
    }

    /** The raw block. Callers must not modify a buffer that came from the cache. */
    public byte[] data() {
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

    /** Takes a user reference. */
    public ExtentBuffer retain() {
        int n = users.incrementAndGet();
        assert n > 0 : "reference count overflow on " + bytenr;
        return this;
    }

    /** Drops a user reference taken by {@link ExtentBufferCache#get} or {@link #retain()}. */
    public void release() {
        int n = users.decrementAndGet();
        assert n >= 0 : "extent buffer " + bytenr + " released more often than retained";
    }

    public int users() {
        return users.get();
    }

    /** Whether the cache may drop this buffer now: no users, not dirty, no IO. */
    boolean isEvictable() {
        return users.get() == 0 && !dirty;
    }

    @Override
    public String toString() {
        return "extent buffer " + Long.toUnsignedString(bytenr) + " level " + level() + " items " + nritems();
    }
}
