package org.jbtrfs.subvol;

import java.io.IOException;
import org.jbtrfs.ctree.CowRoot;
import org.jbtrfs.ctree.ExtentBuffer;
import org.jbtrfs.ctree.Item;
import org.jbtrfs.ctree.Path;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.transaction.FsTrees;
import org.jbtrfs.transaction.TransHandle;

/**
 * Single-item edits of a tree that subvolume deletion touches (the root tree, the UUID tree), each
 * under that tree's write lock for its own length. Every edit marks the handle changed first, so a
 * failure after it aborts the transaction.
 */
final class TreeItems {
    private TreeItems() {
    }

    static Item get(FsTrees trees, long tree, DiskKey key) throws IOException {
        return trees.reads().lookup(tree, key);
    }

    /** Sets the item at {@code key} to {@code data}: in place when the size matches, else replaced or inserted. */
    static void put(FsTrees trees, TransHandle h, long tree, DiskKey key, byte[] data) throws IOException {
        CowRoot root = trees.root(tree);
        h.markChanged();
        root.lock.writeLock().lock();
        try {
            try (Path p = new Path()) {
                if (trees.cow().searchForWrite(h.transid(), root, key, p, 0, 0)) {
                    ExtentBuffer leaf = p.leaf();
                    if (leaf.itemSize(p.slot()) == data.length) {
                        assert leaf.isDirty() : "leaf " + leaf + " not dirty after a search for write";
                        System.arraycopy(data, 0, leaf.data(), leaf.itemDataOffset(p.slot()), data.length);
                        return;
                    }
                    p.close();
                    if (!trees.cow().deleteItem(h.transid(), root, key)) {
                        throw new AssertionError("tree " + tree + ": item " + key + " vanished");
                    }
                }
            }
            if (!trees.cow().insertItem(h.transid(), root, key, data)) {
                throw new AssertionError("tree " + tree + ": item " + key + " appeared under the write lock");
            }
        } finally {
            root.lock.writeLock().unlock();
        }
    }

    /** Deletes the item at {@code key}; false when there is none. */
    static boolean delete(FsTrees trees, TransHandle h, long tree, DiskKey key) throws IOException {
        CowRoot root = trees.root(tree);
        h.markChanged();
        root.lock.writeLock().lock();
        try {
            return trees.cow().deleteItem(h.transid(), root, key);
        } finally {
            root.lock.writeLock().unlock();
        }
    }
}
