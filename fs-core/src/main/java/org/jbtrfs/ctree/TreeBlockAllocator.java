package org.jbtrfs.ctree;

import java.io.IOException;
import org.jbtrfs.format.DiskKey;

/**
 * What the COW B-tree needs from the extent layer (btrfs_alloc_tree_block, btrfs_free_tree_block
 * and update_ref_for_cow in extent-tree.c and ctree.c). The extent layer implements it; the tree
 * code calls down through it and never sees the extent tree, so the two packages do not depend on
 * each other.
 *
 * <p>Lifecycle of a tree block, as the implementation must keep it:
 * <ol>
 *   <li>{@link #allocTreeBlock}: reserve an address, queue the extent item with its backref
 *       (a delayed ref), return a zeroed dirty buffer already in the cache.</li>
 *   <li>The tree fills it; the transaction writes it at commit (dirty → clean, WRITTEN set).</li>
 *   <li>{@link #freeTreeBlock}: queue the drop of the backref; if the block was allocated in the
 *       running transaction and never written, its space is reusable at once and the buffer is
 *       forgotten; otherwise the space stays pinned until the transaction commits, so the last
 *       committed tree stays intact on disk.</li>
 * </ol>
 */
public interface TreeBlockAllocator {
    /**
     * A new tree block for tree {@code owner} at {@code level}; {@code firstKey} is its first key
     * (for the backref of non-skinny metadata), {@code hint} an address to allocate near.
     * The returned buffer has bytenr, fsid, chunk tree uuid, owner, level and generation set, is
     * dirty and carries one user reference for the caller.
     */
    ExtentBuffer allocTreeBlock(long transid, long owner, int level, DiskKey firstKey, long hint) throws IOException;

    /**
     * Frees a tree block of tree {@code owner} that the tree no longer points to. {@code parent} is
     * the bytenr of the node that pointed to it (0 for a root), for shared backrefs.
     */
    void freeTreeBlock(long transid, long owner, ExtentBuffer eb, long parent) throws IOException;

    /**
     * Called when {@code buf} is copied to {@code cow} (update_ref_for_cow): the place where
     * snapshots adjust the references of the children of a shared block. Without snapshots a
     * block has one reference and nothing needs to change. {@code rootNode}: buf is the tree's
     * root block, which is never shared (a snapshot copies it).
     */
    void updateRefForCow(long transid, long owner, ExtentBuffer buf, ExtentBuffer cow, boolean rootNode)
            throws IOException;
}
