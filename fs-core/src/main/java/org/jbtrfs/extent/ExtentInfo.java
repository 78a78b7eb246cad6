package org.jbtrfs.extent;

import java.io.IOException;
import org.jbtrfs.CorruptImageException;
import org.jbtrfs.ctree.Item;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.ExtentItem;
import org.jbtrfs.format.ItemType;
import org.jbtrfs.format.Le;

/**
 * btrfs_lookup_extent_info() for tree blocks: the reference count and flags a tree block has
 * <em>now</em> — its extent item in the current extent tree plus what the running transaction has
 * queued for it and not yet run (the head's ref_mod and a pending FULL_BACKREF flag update).
 * Snapshot deletion decides with it whether a block is shared (refs &gt; 1) and how its children
 * are referenced (FULL_BACKREF: by parent block, else by root).
 *
 * <p>A head a runner is applying is waited for (its run mutex, as the kernel waits on
 * head->mutex), so the item read and the queued part never count the same change twice or not at
 * all. Lock order: the head's run mutex, then the extent root's read lock (inside {@link ItemLookup}),
 * then {@link DelayedRefs#lock}.
 */
public final class ExtentInfo {
    /** Refs and flags of an extent (btrfs_extent_item refs and flags). */
    public record Info(long refs, long flags) {
        public boolean fullBackref() {
            return (flags & ExtentItem.FLAG_FULL_BACKREF) != 0;
        }
    }

    /** Reads one item of the current extent tree, under its read lock; null when absent. */
    @FunctionalInterface
    public interface ItemLookup {
        Item lookup(DiskKey key) throws IOException;
    }

    /** Lookups that found the head changed under them before giving up: a runner never holds one forever. */
    static final int MAX_RETRIES = 1000;

    private ExtentInfo() {
    }

    /**
     * The refs and flags of tree block {@code bytenr} at {@code level}: skinny (bytenr METADATA_ITEM
     * level) or full (bytenr EXTENT_ITEM nodesize) item, plus the pending changes of {@code refs}.
     * CorruptImageException when the block has no extent item and nothing is queued for it.
     */
    public static Info treeBlock(DelayedRefs refs, ItemLookup extent, long bytenr, int level, int nodesize)
            throws IOException {
        for (int attempt = 0; attempt < MAX_RETRIES; attempt++) {
            DelayedRefHead head = refs.headOf(bytenr);
            if (head != null) {
                head.runMutex.lock();
            }
            try {
                Item it = extent.lookup(new DiskKey(bytenr, ItemType.METADATA_ITEM, level));
                boolean skinny = it != null;
                if (it == null) {
                    it = extent.lookup(new DiskKey(bytenr, ItemType.EXTENT_ITEM, nodesize));
                }
                long n = 0;
                long flags = 0;
                if (it != null) {
                    ExtentItem ei = ExtentItem.decode(it.data(), 0, it.size(), skinny);
                    n = ei.refs();
                    flags = ei.flags();
                }
                refs.lock.lock();
                try {
                    if (refs.headOf(bytenr) != head) {
                        continue; // a head came or went while we read: read again
                    }
                    if (head != null) {
                        n += head.refMod;
                        if (head.hasExtentOp) {
                            flags |= head.flagsToSet;
                        }
                    }
                } finally {
                    refs.lock.unlock();
                }
                if (it == null && head == null) {
                    throw new CorruptImageException("tree block " + Le.u64s(bytenr) + " (level " + level
                            + ") has no extent item");
                }
                if (n < 0) {
                    throw new CorruptImageException("tree block " + Le.u64s(bytenr) + " would have " + n + " references");
                }
                return new Info(n, flags);
            } finally {
                if (head != null) {
                    head.runMutex.unlock();
                }
            }
        }
        throw new IllegalStateException("extent info of " + Le.u64s(bytenr) + " kept changing under " + MAX_RETRIES
                + " lookups");
    }
}
