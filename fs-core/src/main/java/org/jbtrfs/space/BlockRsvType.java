package org.jbtrfs.space;

/**
 * The kinds of block reserve: enum btrfs_rsv_type (block-rsv.h), with the names the kernel's
 * dump_global_block_rsv() prints, which leak lines reuse.
 */
public enum BlockRsvType {
    /** Overflow buffer for extent tree updates; the last resort of eviction and unlink. */
    GLOBAL("global_block_rsv"),
    /** Per-inode metadata for delalloc (the inode's own rsv). */
    DELALLOC("delalloc_block_rsv"),
    /** A transaction handle's reservation, for the lifetime of the handle. */
    TRANS("trans_block_rsv"),
    /** Chunk tree updates; draws on SYSTEM space. */
    CHUNK("chunk_block_rsv"),
    /** Delayed inode items ("delayed_block_rsv"). */
    DELOPS("delayed_block_rsv"),
    /** Outstanding delayed refs: one full insert reservation each. */
    DELREFS("delayed_refs_rsv"),
    /** No bucket of its own: reserve from the space_info on demand (device tree, ...). */
    EMPTY("empty_block_rsv"),
    /** Short-lived reserve of truncate and evict, refilled in rounds (often failfast). */
    TEMP("temp_block_rsv");

    /** The kernel's name for the reserve, as in its dumps. */
    public final String kernelName;

    BlockRsvType(String kernelName) {
        this.kernelName = kernelName;
    }
}
