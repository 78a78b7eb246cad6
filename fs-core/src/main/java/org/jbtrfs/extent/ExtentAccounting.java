package org.jbtrfs.extent;

import java.io.IOException;

/**
 * What running delayed refs tells the block group layer (update_block_group and the pinning in
 * extent-tree.c's alloc_reserved_*_extent and __btrfs_free_extent): an extent item was created, or
 * the last reference to an extent went away. The block groups update their {@code used} bytes,
 * the free space tree and bytes_used; a freed extent stays pinned until the transaction commits.
 */
public interface ExtentAccounting {
    /** An EXTENT_ITEM / METADATA_ITEM for [bytenr, bytenr + numBytes) was inserted. */
    void extentAllocated(long transid, long bytenr, long numBytes, boolean metadata) throws IOException;

    /** The extent item for [bytenr, bytenr + numBytes) was deleted: its last reference is gone. */
    void extentFreed(long transid, long bytenr, long numBytes, boolean metadata) throws IOException;
}
