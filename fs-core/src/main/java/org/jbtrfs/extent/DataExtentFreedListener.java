package org.jbtrfs.extent;

import java.io.IOException;

/**
 * Told when the last reference of a data extent goes and its EXTENT_ITEM is deleted (or, for an
 * extent allocated and freed before its refs ran, would have been): what the kernel's
 * do_free_extent_accounting does for data with btrfs_del_csums (extent-tree.c), so that the csum
 * tree only ever describes live data extents.
 *
 * <p>Called by {@link ExtentRefsRunner} on the runner thread with the head's run mutex and the
 * extent root's write lock held, never while a path into the extent tree is open (the same rules
 * as {@link ExtentAccounting}): it may take the csum tree's lock, which ranks below the extent
 * root's, and may queue delayed refs; it must not run delayed refs or take the extent root lock
 * in another order.
 */
@FunctionalInterface
public interface DataExtentFreedListener {
    /** For images without data checksums and for tests of the refs alone. */
    DataExtentFreedListener NONE = (transid, bytenr, numBytes) -> { };

    /** The data extent [bytenr, bytenr + numBytes) has no reference left in transaction transid. */
    void dataExtentFreed(long transid, long bytenr, long numBytes) throws IOException;
}
