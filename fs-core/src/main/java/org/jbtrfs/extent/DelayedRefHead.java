package org.jbtrfs.extent;

import java.util.TreeMap;
import java.util.concurrent.locks.ReentrantLock;
import org.jbtrfs.format.DiskKey;

/**
 * struct btrfs_delayed_ref_head (delayed-ref.h): everything queued for one extent in one
 * transaction — its merged ref nodes, the sum of their changes, whether the extent item must still
 * be created, and a pending flag update.
 *
 * <p>All mutable fields are guarded by {@link DelayedRefs#lock} (the kernel splits that into the
 * delayed_refs spinlock and head->lock; one leaf lock is enough here because nothing is done while
 * it is held but a few map operations). {@link #runMutex} is head->mutex: the runner holds it for
 * the whole time it applies this head, and a thread that must see the head settled waits on it.
 */
final class DelayedRefHead {
    final long bytenr;
    /** Data extent (EXTENT_DATA_REF / SHARED_DATA_REF nodes) or tree block (the other two). */
    final boolean isData;
    /** Tree block level (the "owner" of its tree refs, and the offset of its METADATA_ITEM key); -1 for data. */
    final int level;

    /**
     * Rank: above the extent root's lock (a runner takes it first), below nothing of this package.
     * Held by the one runner applying this head; never taken while {@link DelayedRefs#lock} is held.
     */
    final ReentrantLock runMutex = new ReentrantLock();

    /** Extent length; a newly allocated extent may set it again (update_existing_head_ref). Guarded by DelayedRefs.lock. */
    long numBytes;
    /** Sum of the signed changes of the queued nodes (head->ref_mod). Guarded by DelayedRefs.lock. */
    long refMod;
    /** Sum of every change queued this transaction, not reduced by runs (head->total_ref_mod). Guarded by DelayedRefs.lock. */
    long totalRefMod;
    /**
     * The extent was just allocated and has no extent item yet: the first add that runs creates
     * it (must_insert_reserved). If every ref cancels out, the run only returns the reservation.
     * Guarded by DelayedRefs.lock.
     */
    boolean mustInsertReserved;
    /** Generation written into the new extent item. Guarded by DelayedRefs.lock. */
    long generation;
    /** First key of a new tree block, for a non-skinny extent item (kept for that case; we write skinny items). */
    DiskKey firstKey;
    /** A flag update is pending (btrfs_delayed_extent_op with update_flags). Guarded by DelayedRefs.lock. */
    boolean hasExtentOp;
    /** Flags the pending update ORs into the extent item, e.g. FULL_BACKREF. Guarded by DelayedRefs.lock. */
    long flagsToSet;
    /** A runner has selected this head (head->processing); other runners skip it. Guarded by DelayedRefs.lock. */
    boolean processing;
    /** The merged nodes, one per backref, in comp_refs order. Guarded by DelayedRefs.lock. */
    final TreeMap<DelayedRefKey, DelayedRefNode> refs = new TreeMap<>();

    DelayedRefHead(long bytenr, boolean isData, int level, long numBytes) {
        assert isData == (level < 0) : "head " + bytenr + " data " + isData + " level " + level;
        this.bytenr = bytenr;
        this.isData = isData;
        this.level = level;
        this.numBytes = numBytes;
    }

    /** Nothing left to run: no nodes, no flag update, no extent item to create. Caller holds DelayedRefs.lock. */
    boolean isSettled() {
        return refs.isEmpty() && !hasExtentOp && !mustInsertReserved;
    }

    @Override
    public String toString() {
        return "delayed ref head " + Long.toUnsignedString(bytenr) + " (" + numBytes + " bytes, "
                + (isData ? "data" : "tree level " + level) + ")";
    }
}
