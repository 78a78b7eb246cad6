package org.jbtrfs.extent;

import org.jbtrfs.FsException;
import org.jbtrfs.space.BlockRsv;

/**
 * How a tree block allocation is paid for: the transaction layer's side of btrfs_alloc_tree_block
 * (btrfs_use_block_rsv before the allocator runs, btrfs_add_reserved_bytes when it found space,
 * btrfs_unuse_block_rsv when it did not, btrfs_free_reserved_bytes for a block freed unwritten).
 */
public interface TreeBlockSpace {
    /** Takes one block's worth of metadata reservation for a block of {@code type}; ENOSPC when none can be had. */
    BlockRsv take(long type) throws FsException;

    /** The allocator found the block: its bytes move from may_use to reserved. */
    void reserved(long type);

    /** The allocator found no room after {@link #take}: the reservation goes back to {@code rsv}. */
    void giveBack(long type, BlockRsv rsv);

    /** A block reserved in this transaction was freed before it was written: reserved → free. */
    void unreserved(long type);

    /** No accounting (tests of the tree code alone). */
    TreeBlockSpace NONE = new TreeBlockSpace() {
        @Override
        public BlockRsv take(long type) {
            return null;
        }

        @Override
        public void reserved(long type) {
        }

        @Override
        public void giveBack(long type, BlockRsv rsv) {
        }

        @Override
        public void unreserved(long type) {
        }
    };
}
