package org.jbtrfs.ctree;

import java.io.IOException;
import java.util.concurrent.locks.Lock;
import org.jbtrfs.CorruptImageException;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.Header;
import org.jbtrfs.format.ItemType;
import org.jbtrfs.format.Le;
import org.jbtrfs.format.ObjectIds;
import org.jbtrfs.format.RootItem;

/**
 * Searches by tree id, each one atomic: the tree's root is resolved through {@link TreeRoots} and
 * its read lock held for exactly one search. Consecutive searches may see different states of a
 * tree being written; callers that need several to agree hold a lock of their own (the inode
 * locks of the filesystem).
 */
public final class TreeReads {
    private final BTree btree;
    private final TreeRoots roots;

    public TreeReads(BTree btree, TreeRoots roots) {
        this.btree = btree;
        this.roots = roots;
    }

    public BTree btree() {
        return btree;
    }

    public TreeRoots roots() {
        return roots;
    }

    /** Whether tree {@code id} exists. */
    public boolean exists(long id) throws IOException {
        return roots.treeRoot(id) != null;
    }

    /** The item with exactly this key, or null. */
    public Item lookup(long tree, DiskKey key) throws IOException {
        Lock l = roots.readLock(tree);
        l.lock();
        try {
            return btree.lookup(require(tree), key);
        } finally {
            l.unlock();
        }
    }

    /** The last item with a key at or before {@code key}, or null. */
    public Item findAtOrBefore(long tree, DiskKey key) throws IOException {
        Lock l = roots.readLock(tree);
        l.lock();
        try {
            return btree.findAtOrBefore(require(tree), key);
        } finally {
            l.unlock();
        }
    }

    /**
     * Visits the items from {@code from} to {@code to} inclusive with the tree's read lock held: the
     * visitor must only collect (no IO of its own, no other tree's lock).
     */
    public void scan(long tree, DiskKey from, DiskKey to, BTree.ItemVisitor visitor) throws IOException {
        Lock l = roots.readLock(tree);
        l.lock();
        try {
            btree.scan(require(tree), from, to, visitor);
        } finally {
            l.unlock();
        }
    }

    /** The ROOT_ITEM of tree {@code id} (any key offset) from the root tree, or null. */
    public RootItem rootItem(long id) throws IOException {
        Item it = findAtOrBefore(ObjectIds.ROOT_TREE, new DiskKey(id, ItemType.ROOT_ITEM, -1L));
        if (it == null || it.key().objectid() != id || it.key().type() != ItemType.ROOT_ITEM) {
            return null;
        }
        RootItem ri = RootItem.decode(it.data(), 0, it.size());
        if (ri.level() >= Header.MAX_LEVEL) {
            throw new CorruptImageException("ROOT_ITEM of tree " + Le.u64s(id) + " has level " + ri.level());
        }
        return ri;
    }

    private TreeRoot require(long tree) throws IOException {
        TreeRoot r = roots.treeRoot(tree);
        if (r == null) {
            throw new CorruptImageException("tree " + Le.u64s(tree) + " has no ROOT_ITEM in the root tree");
        }
        return r;
    }
}
