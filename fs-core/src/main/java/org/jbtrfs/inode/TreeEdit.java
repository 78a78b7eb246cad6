package org.jbtrfs.inode;

import java.io.IOException;
import org.jbtrfs.ctree.BTree;
import org.jbtrfs.ctree.CowBTree;
import org.jbtrfs.ctree.CowRoot;
import org.jbtrfs.ctree.ExtentBuffer;
import org.jbtrfs.ctree.Item;
import org.jbtrfs.ctree.Path;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.transaction.FsTrees;
import org.jbtrfs.transaction.TransHandle;

/**
 * Item edits in one tree during one operation of the running transaction. The caller holds the
 * tree's write lock for the whole operation, so reads here see the tree as this operation left it.
 */
final class TreeEdit {
    final FsTrees trees;
    final CowRoot root;
    final long transid;
    private final TransHandle handle;
    private final CowBTree cow;
    private final BTree bt;

    TreeEdit(FsTrees trees, CowRoot root, TransHandle handle) {
        assert root.lock.isWriteLockedByCurrentThread() : "tree " + root.id() + " not write locked";
        this.trees = trees;
        this.root = root;
        this.handle = handle;
        this.transid = handle.transid();
        this.cow = trees.cow();
        this.bt = trees.reader();
    }

    long treeId() {
        return root.id();
    }

    Item get(DiskKey key) throws IOException {
        return bt.lookup(root.current(), key);
    }

    Item atOrBefore(DiskKey key) throws IOException {
        return bt.findAtOrBefore(root.current(), key);
    }

    void scan(DiskKey from, DiskKey to, BTree.ItemVisitor v) throws IOException {
        bt.scan(root.current(), from, to, v);
    }

    /** Inserts a new item; the key must be free (the caller checked). */
    void insert(DiskKey key, byte[] data) throws IOException {
        handle.markChanged();
        if (!cow.insertItem(transid, root, key, data)) {
            throw new AssertionError("tree " + root.id() + ": item " + key + " exists already");
        }
    }

    /** Sets an item's data, inserting it or changing its size as needed. */
    void put(DiskKey key, byte[] data) throws IOException {
        handle.markChanged();
        try (Path p = new Path()) {
            if (cow.searchForWrite(transid, root, key, p, 0, 0)) {
                ExtentBuffer leaf = p.leaf();
                int size = leaf.itemSize(p.slot());
                if (size == data.length) {
                    // The search COWed the leaf into this transaction: it is ours to change in place.
                    assert leaf.isDirty() : "leaf " + leaf + " not dirty after a search for write";
                    System.arraycopy(data, 0, leaf.data(), leaf.itemDataOffset(p.slot()), data.length);
                    return;
                }
            } else {
                p.close();
                insert(key, data);
                return;
            }
        }
        if (!cow.deleteItem(transid, root, key)) {
            throw new AssertionError("tree " + root.id() + ": item " + key + " vanished");
        }
        insert(key, data);
    }

    /** Deletes the item; false when there is none. */
    boolean delete(DiskKey key) throws IOException {
        handle.markChanged();
        return cow.deleteItem(transid, root, key);
    }
}
