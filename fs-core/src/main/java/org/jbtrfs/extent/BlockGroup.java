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
    /**
     * Logical [start, end) ranges that map onto a superblock copy, never handed out by the
     * allocator (exclude_super_stripes in block-group.c). Set before the group is published by
     * {@link BlockGroups#add} and never changed, so read without the lock. They stay in the free
     * space views: the free space tree lists them as free, as the kernel's does.
     */
    long[][] superRanges = new long[0][];

    BlockGroup(long start, long length, long flags, long used, FreeSpaceMap free) {
        this.start = start;
        this.length = length;
        this.flags = flags;
        this.used = used;
        this.freeOnDisk = free;
        this.committedFreeSpaceTree = new FreeSpaceMap(free);
        this.allocatable = new FreeSpaceMap(free);
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
        if (allocatable.totalBytes() + reserved + pinned != freeDisk) {
            throw new AssertionError(this + ": allocatable " + allocatable.totalBytes() + " + reserved " + reserved
                    + " + pinned " + pinned + " != free on disk " + freeDisk);
        }
        return true;
    }

    @Override
    public String toString() {
        return "block group " + Le.u64s(start) + "+" + Le.u64s(length) + " " + BlockGroupItem.flagsString(flags);
    }
}
