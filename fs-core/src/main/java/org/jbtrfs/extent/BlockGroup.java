package org.jbtrfs.extent;

import java.util.concurrent.locks.ReentrantLock;
import org.jbtrfs.format.BlockGroupItem;
import org.jbtrfs.format.Le;

/**
 * struct btrfs_block_group (block-group.h): one chunk's worth of logical space and what is used in
 * it. Three views of its free space are kept, because they change at different moments:
 * <ul>
 *   <li>{@link #freeOnDisk}: the complement of the extent items, which the free space tree must
 *       equal at commit. Changes when delayed refs insert or delete extent items.</li>
 *   <li>{@link #committedFreeSpaceTree}: what the free space tree said at the last commit, so the
 *       commit writes only the difference.</li>
 *   <li>{@link #allocatable}: what the allocator may hand out now: free on disk, minus ranges
 *       reserved for extents whose items are not inserted yet, minus ranges freed in this
 *       transaction (pinned: the last committed trees may still point there).</li>
 * </ul>
 * All fields below are guarded by {@link #lock}, a leaf lock (no IO or waiting while held).
 */
public final class BlockGroup {
    private final long start;
    private final long length;
    private final long flags;
    /** Guards everything mutable here. Rank: leaf ("spinlock"). */
    final ReentrantLock lock = new ReentrantLock();
    long used;
    long reserved;
    long pinned;
    /**
     * Bytes of free space on disk that hold superblock copies (bytes_super, exclude_super_stripes
     * in block-group.c): the free space tree shows them free, as the kernel writes it, but the
     * allocator never hands them out.
     */
    long bytesSuper;
    final FreeSpaceMap freeOnDisk;
    FreeSpaceMap committedFreeSpaceTree;
    final FreeSpaceMap allocatable;
    /** Ranges freed in this transaction, not allocatable until the commit is on disk. */
    private FreeSpaceMap pinnedRanges = new FreeSpaceMap();
    /** The free space tree used bitmaps for this group at the last commit (we write extents). */
    boolean freeSpaceTreeUsesBitmaps;
    /** The BLOCK_GROUP_ITEM or the free space tree needs writing at the next commit. */
    boolean dirty;
    boolean readOnly;

    BlockGroup(long start, long length, long flags, long used, FreeSpaceMap free) {
        this.start = start;
        this.length = length;
        this.flags = flags;
        this.used = used;
        this.freeOnDisk = free;
        this.committedFreeSpaceTree = new FreeSpaceMap(free);
        this.allocatable = new FreeSpaceMap(free);
    }

    /**
     * A block group for a chunk allocated in this transaction (btrfs_make_block_group): nothing
     * used, all of it free, nothing of it in the free space tree yet, and dirty so the commit
     * inserts its BLOCK_GROUP_ITEM and free space tree entries.
     */
    static BlockGroup forNewChunk(long start, long length, long flags) {
        FreeSpaceMap free = new FreeSpaceMap();
        free.add(start, length);
        BlockGroup bg = new BlockGroup(start, length, flags, 0, free);
        bg.committedFreeSpaceTree = new FreeSpaceMap();
        bg.dirty = true;
        return bg;
    }

    /**
     * Takes the superblock copies inside this group out of what the allocator may use. Only the
     * parts that are free on disk count (an image written by someone else might have an extent
     * there; the kernel would never put one there, and btrfs check would report it).
     */
    void excludeSuperStripes(java.util.List<long[]> ranges) {
        lock.lock();
        try {
            for (long[] r : ranges) {
                for (long[] f : allocatable.extents()) {
                    long s = Math.max(f[0], r[0]);
                    long e = Math.min(f[0] + f[1], r[0] + r[1]);
                    if (s < e) {
                        allocatable.remove(s, e - s);
                        bytesSuper += e - s;
                    }
                }
            }
            assert countersBalance();
        } finally {
            lock.unlock();
        }
    }

    public long start() {
        return start;
    }

    public long length() {
        return length;
    }

    public long end() {
        return start + length;
    }

    public long flags() {
        return flags;
    }

    public boolean isData() {
        return (flags & BlockGroupItem.DATA) != 0;
    }

    public boolean isMetadata() {
        return (flags & BlockGroupItem.METADATA) != 0;
    }

    public boolean isSystem() {
        return (flags & BlockGroupItem.SYSTEM) != 0;
    }

    public long used() {
        lock.lock();
        try {
            return used;
        } finally {
            lock.unlock();
        }
    }

    /** Bytes handed out by the allocator whose extent items do not exist yet. */
    public long reserved() {
        lock.lock();
        try {
            return reserved;
        } finally {
            lock.unlock();
        }
    }

    /** Bytes freed in the running transaction, waiting for the commit. */
    public long pinned() {
        lock.lock();
        try {
            return pinned;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Bytes neither used nor free on disk: the superblock copies inside this group (bytes_super,
     * which the space accounting counts as read-only).
     */
    public long superBytes() {
        lock.lock();
        try {
            return bytesSuper;
        } finally {
            lock.unlock();
        }
    }

    public boolean isReadOnly() {
        lock.lock();
        try {
            return readOnly;
        } finally {
            lock.unlock();
        }
    }

    FreeSpaceMap pinnedRanges() {
        assert lock.isHeldByCurrentThread();
        return pinnedRanges;
    }

    void clearPinnedRanges() {
        assert lock.isHeldByCurrentThread();
        pinnedRanges = new FreeSpaceMap();
    }

    /** Checks the relation between the counters and the free space views (for asserts). */
    boolean countersBalance() {
        assert lock.isHeldByCurrentThread();
        long freeDisk = freeOnDisk.totalBytes();
        if (used + freeDisk != length) {
            throw new AssertionError(this + ": used " + used + " + free " + freeDisk + " != length " + length);
        }
        if (pinned != pinnedRanges.totalBytes()) {
            throw new AssertionError(this + ": pinned " + pinned + " != pinned ranges " + pinnedRanges.totalBytes());
        }
        if (allocatable.totalBytes() + reserved + pinned + bytesSuper != freeDisk) {
            throw new AssertionError(this + ": allocatable " + allocatable.totalBytes() + " + reserved " + reserved
                    + " + pinned " + pinned + " + super " + bytesSuper + " != free on disk " + freeDisk);
        }
        return true;
    }

    @Override
    public String toString() {
        return "block group " + Le.u64s(start) + "+" + Le.u64s(length) + " " + BlockGroupItem.flagsString(flags);
    }
}
