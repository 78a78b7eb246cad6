package org.jbtrfs.space;

/**
 * What the global reserve is sized from (btrfs_update_global_block_rsv): the bytes used by the
 * trees that every transaction may have to change however little it reserved. The transaction or
 * disk layer implements it over its root items; this package only reads the numbers.
 */
public interface GlobalRsvTrees {
    /** btrfs_root_used() of the root tree. */
    long rootTreeBytesUsed();

    /**
     * btrfs_root_used() of each global root the reserve covers: the extent tree, the csum tree,
     * the free space tree (if the filesystem has one) and the block group tree (if it has one).
     * Each one also adds one item to the reserve's minimum.
     */
    long[] globalRootsBytesUsed();
}
