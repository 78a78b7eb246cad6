package org.jbtrfs.space;

import java.util.concurrent.locks.ReentrantLock;
import org.jbtrfs.Errno;
import org.jbtrfs.FsException;

/**
 * A bucket of metadata reservation: struct btrfs_block_rsv (block-rsv.h), and the per-rsv half of
 * block-rsv.c. The fs-wide reserves and the functions that choose between them are in
 * {@link BlockRsvs}.
 *
 * <h2>How block reserves work</h2>
 * A block_rsv has a {@code size}, what the operations using it may need at worst, and
 * {@code reserved}, what it holds now; every reserved byte is counted in its space_info's
 * {@code bytes_may_use}. {@code full} means reserved &gt;= size.
 * <ol>
 *   <li><b>Reserve</b> ({@link BlockRsvs#add}, {@link BlockRsvs#refill}): reserve bytes in the
 *       space_info (may wait on a ticket), then {@link #addBytes} them to {@code reserved} (and to
 *       {@code size} for add).</li>
 *   <li><b>Use</b> ({@link #useBytes}): allocating a tree block takes a node's worth out of
 *       {@code reserved}; the bytes then move from bytes_may_use to bytes_reserved in the
 *       space_info ({@link SpaceInfo#addReservedBytes}).</li>
 *   <li><b>Release</b> ({@link BlockRsvs#release}): subtract from {@code size}; whatever
 *       {@code reserved} holds above the new size is excess, given first to the delayed refs
 *       reserve (or, from it, to the global reserve) if that is short, the rest back to
 *       bytes_may_use, which may grant tickets.</li>
 * </ol>
 *
 * <h2>Lock</h2>
 * {@link #lock} guards {@code size}, {@code reserved}, {@code full} and {@code failfast}. It is the
 * innermost lock of jbtrfs: it may be taken with the space_info lock held
 * (btrfs_update_global_block_rsv, steal_from_global_rsv, unpin refill), never the other way round,
 * and two block_rsv locks are never held together.
 */
public final class BlockRsv {
    /** What the reserve is for. */
    public final BlockRsvType type;
    /** The space_info whose bytes_may_use holds this reserve's reserved bytes. */
    public final SpaceInfo spaceInfo;
    /**
     * Spinlock stand-in guarding size, reserved, full, failfast. Rank: innermost; may be taken
     * inside {@link SpaceInfo#lock}; nothing is taken inside it.
     */
    final ReentrantLock lock = new ReentrantLock();
    /** Where a temporary reserve was created (only with assertions on), for leak reports. */
    final Throwable origin;

    /** Worst case the users of this reserve may need. Guarded by lock. */
    private long size;
    /** Bytes held, counted in spaceInfo's bytes_may_use. Guarded by lock. */
    private long reserved;
    /** reserved >= size. Guarded by lock. */
    private boolean full;
    /** useBlockRsv fails at once instead of falling back (truncate's reserve). Guarded by lock. */
    private boolean failfast;

    BlockRsv(BlockRsvType type, SpaceInfo spaceInfo, boolean recordOrigin) {
        this.type = type;
        this.spaceInfo = spaceInfo;
        Throwable where = null;
        if (recordOrigin) {
            assert (where = new Throwable(type.kernelName + " created here")) != null;
        }
        this.origin = where;
    }

    // ---------------------------------------------------------------------------------------
    // Updaters: one per counter; lock held; never below zero.

    private long update(String counter, long value, long delta) {
        assert lock.isHeldByCurrentThread() : type.kernelName + "." + counter + " updated without its lock";
        long next = value + delta;
        if (next < 0 || ((value ^ next) & (delta ^ next)) < 0) {
            throw new AssertionError(type.kernelName + "." + counter + " " + (delta < 0 ? "underflow" : "overflow")
                    + ": have " + value + ", delta " + delta + " (size " + size + " reserved " + reserved + ")");
        }
        return next;
    }

    private void addSize(long delta) {
        size = update("size", size, delta);
    }

    private void addReserved(long delta) {
        reserved = update("reserved", reserved, delta);
    }

    // ---------------------------------------------------------------------------------------
    // Readers (each takes the lock: a consistent value, not a snapshot of the whole reserve).

    public long size() {
        lock.lock();
        try {
            return size;
        } finally {
            lock.unlock();
        }
    }

    public long reserved() {
        lock.lock();
        try {
            return reserved;
        } finally {
            lock.unlock();
        }
    }

    /** btrfs_block_rsv_full(). */
    public boolean isFull() {
        lock.lock();
        try {
            return full;
        } finally {
            lock.unlock();
        }
    }

    public boolean failfast() {
        lock.lock();
        try {
            return failfast;
        } finally {
            lock.unlock();
        }
    }

    public void setFailfast(boolean value) {
        lock.lock();
        try {
            failfast = value;
        } finally {
            lock.unlock();
        }
    }

    // ---------------------------------------------------------------------------------------
    // Operations.

    /**
     * btrfs_block_rsv_add_bytes(): {@code numBytes} already added to bytes_may_use now belong to
     * this reserve; with {@code updateSize}, the size grows by as much.
     */
    public void addBytes(long numBytes, boolean updateSize) {
        lock.lock();
        try {
            addReserved(numBytes);
            if (updateSize) {
                addSize(numBytes);
            } else if (reserved >= size) {
                full = true;
            }
        } finally {
            lock.unlock();
        }
    }

    /** btrfs_block_rsv_use_bytes(): takes {@code numBytes} out; false if it holds fewer. */
    public boolean tryUseBytes(long numBytes) {
        lock.lock();
        try {
            if (reserved < numBytes) {
                return false;
            }
            addReserved(-numBytes);
            if (reserved < size) {
                full = false;
            }
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** As {@link #tryUseBytes}, failing with ENOSPC. */
    public void useBytes(long numBytes) throws FsException {
        if (!tryUseBytes(numBytes)) {
            throw new FsException(Errno.ENOSPC, type.kernelName + " holds less than " + numBytes + " bytes");
        }
    }

    /** btrfs_block_rsv_check(): holds at least {@code minPercent} of its size. */
    public boolean check(int minPercent) {
        if (minPercent < 0 || minPercent > 100) {
            throw new IllegalArgumentException("percent " + minPercent);
        }
        lock.lock();
        try {
            return reserved >= size / 100 * minPercent + size % 100 * minPercent / 100;
        } finally {
            lock.unlock();
        }
    }

    /** How many more bytes would make this reserve hold {@code minReserved}; 0 if it does. */
    long shortOf(long minReserved) {
        lock.lock();
        try {
            return reserved >= minReserved ? 0 : minReserved - reserved;
        } finally {
            lock.unlock();
        }
    }

    /**
     * block_rsv_release_bytes(): shrinks the size by {@code numBytes} ({@code -1}: all of it) and
     * frees what is reserved above the new size — into {@code dest} while it is short, the rest
     * back to bytes_may_use. Returns the excess released (moved to dest or freed).
     */
    long releaseBytes(BlockRsv dest, long numBytes) {
        assert dest == null || dest.spaceInfo == spaceInfo : type + " releasing into " + dest.type
                + " of another space_info";
        assert dest != this : type + " released into itself";
        long excess;
        lock.lock();
        try {
            long shrink = numBytes == -1 ? size : numBytes;
            addSize(-shrink);
            if (reserved >= size) {
                excess = reserved - size;
                addReserved(-excess);
                full = true;
            } else {
                excess = 0;
            }
        } finally {
            lock.unlock();
        }
        long toFree = excess;
        if (toFree > 0 && dest != null) {
            toFree -= dest.topUp(toFree);
        }
        if (toFree > 0) {
            spaceInfo.freeBytesMayUse(toFree);
        }
        return excess;
    }

    /** Takes up to {@code bytes} (already in bytes_may_use) while short of size; returns how many. */
    private long topUp(long bytes) {
        lock.lock();
        try {
            if (full) {
                return 0;
            }
            long add = Math.min(bytes, Math.max(0, size - reserved));
            addReserved(add);
            if (reserved >= size) {
                full = true;
            }
            return add;
        } finally {
            lock.unlock();
        }
    }

    /**
     * unpin_extent_range()'s refill: with the space_info lock held, take up to {@code bytes} of
     * newly unpinned space into this (global) reserve while it is short, adding them to
     * bytes_may_use. Returns how many were taken.
     */
    long refillFromUnpinned(long bytes) {
        assert spaceInfo.lock.isHeldByCurrentThread() : type + " refill without the space_info lock";
        lock.lock();
        try {
            if (full) {
                return 0;
            }
            long add = Math.min(bytes, Math.max(0, size - reserved));
            addReserved(add);
            spaceInfo.addBytesMayUse(add);
            if (reserved >= size) {
                full = true;
            }
            return add;
        } finally {
            lock.unlock();
        }
    }

    /**
     * steal_from_global_rsv()'s half: with the space_info lock held, hand {@code bytes} to a ticket
     * if at least {@code floorPercent} of the size stays reserved. bytes_may_use is unchanged: the
     * bytes only change owner.
     */
    boolean takeForTicket(long bytes, int floorPercent) {
        assert spaceInfo.lock.isHeldByCurrentThread() : type + " steal without the space_info lock";
        lock.lock();
        try {
            long minBytes = size / 100 * floorPercent + size % 100 * floorPercent / 100;
            if (reserved < minBytes + bytes) {
                return false;
            }
            addReserved(-bytes);
            if (reserved < size) {
                full = false;
            }
            return true;
        } finally {
            lock.unlock();
        }
    }

    /**
     * The tail of btrfs_update_global_block_rsv(), with the space_info lock held: set the size to
     * {@code newSize} and reserve or free the difference in bytes_may_use at once.
     */
    void resizeLocked(long newSize) {
        assert spaceInfo.lock.isHeldByCurrentThread() : type + " resized without the space_info lock";
        assert newSize >= 0 : newSize;
        lock.lock();
        try {
            addSize(newSize - size);
            if (reserved < size) {
                long add = size - reserved;
                spaceInfo.addBytesMayUse(add);
                addReserved(add);
            } else if (reserved > size) {
                long drop = reserved - size;
                spaceInfo.addBytesMayUse(-drop);
                addReserved(-drop);
                // The tickets are granted below, after this lock is dropped: granting takes no
                // block_rsv lock, but keeping this hold short is the point of a spinlock.
            }
            full = reserved == size;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public String toString() {
        lock.lock();
        try {
            return type.kernelName + ": size " + size + " reserved " + reserved;
        } finally {
            lock.unlock();
        }
    }
}
