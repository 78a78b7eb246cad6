package org.jbtrfs.ctree;

import java.io.IOException;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.Header;

/**
 * The write side of the B-tree: copy-on-write search, insert, delete, item resize, with leaf and
 * node splits and merges (btrfs_search_slot with ins_len/cow, split_leaf, split_node,
 * insert_new_root, balance_level, btrfs_del_items in ctree.c).
 *
 * <h2>How it works</h2>
 * A write first searches with COW: every block on the path from the root to the leaf that was
 * not allocated in the running transaction (or was already written) is copied to a new block
 * ({@link #cowBlock}); its parent is pointed at the copy and the old block is freed through the
 * {@link TreeBlockAllocator}, which keeps it pinned until the commit so the last committed tree
 * stays whole on disk. Blocks of the running transaction are changed in place.
 *
 * <p>On the way down an insert splits every node that has fewer than
 * {@link #NODE_SPLIT_SLACK} free pointers, so that a leaf split (which adds at most two pointers)
 * always finds room in its parent. A leaf without room for the new item (or the grown item) is
 * split at the point that best balances the two halves; when no single split point fits the item,
 * the item is split off on its own, which always fits since an item is at most
 * {@link #maxItemSize()} bytes. A delete merges nodes that fall under a quarter full into a
 * sibling on the way down, collapses a root node with one child, and after removing items merges
 * a leaf that falls under a third full into a sibling; an empty leaf is removed.
 *
 * <h2>Invariants (asserted, and checked by the tree checker when read back)</h2>
 * <ol>
 *   <li>Keys ascend within a block and across siblings; a node's key for a child equals the
 *       child's first key (fixupLowKeys after any change of a first key).</li>
 *   <li>Only the root may be an empty leaf; nodes are never empty.</li>
 *   <li>Every block changed is dirty and belongs to the running transaction.</li>
 *   <li>A child's pointer generation equals the child's header generation.</li>
 * </ol>
 * Callers hold the root's write lock for a whole operation; searches without COW may hold the
 * read lock.
 */
public final class CowBTree {
    /** Free pointers a node keeps during an insert descent: a leaf split adds at most two. */
    static final int NODE_SPLIT_SLACK = 3;
    /** Restarts of one search after rebalancing; each restart removes a block, so this is generous. */
    static final int MAX_SEARCH_RESTARTS = 64;

    private final BTree reader;
    private final TreeBlockAllocator alloc;
    private final int nodesize;
    private final int maxPtrs;
    private final int leafDataSize;

    public CowBTree(BTree reader, TreeBlockAllocator alloc) {
        this.reader = reader;
        this.alloc = alloc;
        this.nodesize = reader.reader().nodesize();
        this.maxPtrs = Header.maxKeyPtrs(nodesize);
        this.leafDataSize = Header.leafDataSize(nodesize);
    }

    /** BTRFS_MAX_ITEM_SIZE: the largest item data a leaf can hold. */
    public int maxItemSize() {
        return leafDataSize - Header.ITEM_SIZE;
    }

    public BTree reader() {
        return reader;
    }

    static boolean shouldCow(ExtentBuffer b, long transid) {
        long flags = Header.flags(b.data());
        boolean cow = Header.generation(b.data()) != transid || (flags & (Header.FLAG_WRITTEN | Header.FLAG_RELOC)) != 0;
        assert cow || b.isDirty() : "block of the running transaction " + b + " is not dirty";
        return cow;
    }

    /**
     * btrfs_search_slot() for writing. {@code insLen} &gt; 0: room for a new item taking that many
     * bytes (data plus the 25-byte item header) is made at the slot; {@code extend} &gt; 0 instead: room for the found item to
     * grow by that much; {@code insLen} &lt; 0: nodes are rebalanced for a delete. Returns whether the
     * key was found; the path's leaf slot is the key's slot or its insertion point.
     */
    public boolean searchForWrite(long transid, CowRoot root, DiskKey key, Path path, int insLen, int extend)
            throws IOException {
        assert root.lock.isWriteLockedByCurrentThread() : "root " + root.id() + " not write locked";
        assert insLen <= leafDataSize : "item of " + insLen + " bytes with its header";
        for (int attempt = 0; attempt < MAX_SEARCH_RESTARTS; attempt++) {
            path.close();
            Boolean found = descend(transid, root, key, path, insLen, extend);
            if (found != null) {
                return found;
            }
        }
        throw new AssertionError("search in tree " + root.id() + " restarted " + MAX_SEARCH_RESTARTS + " times");
    }

    /** One descent; null when the tree changed shape and the search must start again. */
    private Boolean descend(long transid, CowRoot root, DiskKey key, Path path, int insLen, int extend) throws IOException {
        ExtentBuffer b = root.node().retain();
        if (shouldCow(b, transid)) {
            b = cowBlock(transid, root, b, null, 0);
        }
        while (true) {
            int level = b.level();
            int pos = b.binarySearch(key);
            if (level == 0) {
                int slot = pos >= 0 ? pos : -pos - 1;
                path.set(0, b, slot);
                if (insLen > 0 && pos < 0 && LeafOps.freeSpace(b) < insLen) {
                    splitLeaf(transid, root, key, path, insLen, false);
                } else if (extend > 0 && pos >= 0 && LeafOps.freeSpace(b) < extend) {
                    splitLeaf(transid, root, key, path, b.itemSize(slot) + extend + Header.ITEM_SIZE, true);
                }
                return pos >= 0;
            }
            int slot = pos >= 0 ? pos : Math.max(0, -pos - 2);
            path.set(level, b, slot);
            if (insLen > 0 || extend > 0) {
                if (b.nritems() >= maxPtrs - NODE_SPLIT_SLACK) {
                    splitNode(transid, root, path, level);
                    b = path.nodes[level];
                    slot = path.slots[level];
                }
            } else if (insLen < 0 && balanceNode(transid, root, path, level)) {
                return null;
            }
            ExtentBuffer child = readChild(b, slot);
            if (shouldCow(child, transid)) {
                child = cowBlock(transid, root, child, b, slot);
            }
            b = child;
        }
    }

    private ExtentBuffer readChild(ExtentBuffer parent, int slot) throws IOException {
        return reader.reader().read(parent.blockptr(slot), TreeBlockReader.Expect.child(parent, slot));
    }

    /**
     * btrfs_cow_block(): copies {@code buf} (whose reference the caller hands over) into a new block
     * of this transaction, points the parent (or the root) at it and frees the old one. Returns the
     * copy with one reference for the caller.
     */
    ExtentBuffer cowBlock(long transid, CowRoot root, ExtentBuffer buf, ExtentBuffer parent, int parentSlot)
            throws IOException {
        DiskKey first = buf.nritems() > 0 ? buf.key(0) : null;
        ExtentBuffer cow = alloc.allocTreeBlock(transid, root.id(), buf.level(), first, buf.bytenr());
        byte[] header = java.util.Arrays.copyOf(cow.data(), Header.SIZE);
        System.arraycopy(buf.data(), 0, cow.data(), 0, nodesize);
        System.arraycopy(header, 0, cow.data(), 0, Header.SIZE);
        Header.setNritems(cow.data(), buf.nritems());
        Header.setLevel(cow.data(), buf.level());
        alloc.updateRefForCow(transid, root.id(), buf, cow, parent == null);
        if (parent == null) {
            root.setNode(cow.retain());
            alloc.freeTreeBlock(transid, root.id(), buf, 0);
        } else {
            assert parent.blockptr(parentSlot) == buf.bytenr() : "parent does not point at the block being copied";
            parent.setBlockptr(parentSlot, cow.bytenr());
            parent.setPtrGeneration(parentSlot, transid);
            alloc.freeTreeBlock(transid, root.id(), buf, parent.bytenr());
        }
        buf.release();
        return cow;
    }

    /** insert_new_root(): a new root node one level above the current root block. */
    private void insertNewRoot(long transid, CowRoot root, Path path, int level) throws IOException {
        ExtentBuffer lower = path.nodes[level - 1];
        assert lower.nritems() > 0 && root.node() == lower : "new root above a non-root or empty block";
        ExtentBuffer c = alloc.allocTreeBlock(transid, root.id(), level, lower.key(0), lower.bytenr());
        NodeOps.insertPtr(c, 0, lower.key(0), lower.bytenr(), transid);
        root.setNode(c.retain());
        path.set(level, c, 0);
    }

    /** split_node(): moves the upper half of a node into a new right sibling. */
    private void splitNode(long transid, CowRoot root, Path path, int level) throws IOException {
        if (path.nodes[level + 1] == null) {
            insertNewRoot(transid, root, path, level + 1);
        }
        ExtentBuffer c = path.nodes[level];
        ExtentBuffer parent = path.nodes[level + 1];
        int n = c.nritems();
        int mid = (n + 1) / 2;
        ExtentBuffer split = alloc.allocTreeBlock(transid, root.id(), level, c.key(mid), c.bytenr());
        NodeOps.moveTailTo(c, mid, split);
        NodeOps.insertPtr(parent, path.slots[level + 1] + 1, split.key(0), split.bytenr(), transid);
        if (path.slots[level] >= mid) {
            path.slots[level + 1]++;
            path.set(level, split, path.slots[level] - mid);
        } else {
            split.release();
        }
    }

    /**
     * split_leaf(): makes room for a target item of {@code need} bytes (data and header) at the
     * path's slot — a new item, or with {@code extend} the existing item there grown to that size.
     * Splits at most three times (isolating the target in the worst case).
     */
    private void splitLeaf(long transid, CowRoot root, DiskKey insKey, Path path, int need, boolean extend)
            throws IOException {
        assert need <= leafDataSize : "item of " + need + " bytes cannot fit a leaf";
        for (int round = 0; round < 3; round++) {
            ExtentBuffer leaf = path.nodes[0];
            int slot = path.slots[0];
            int n = leaf.nritems();
            int used = LeafOps.spaceUsed(leaf, 0, n) - (extend ? leaf.itemSize(slot) + Header.ITEM_SIZE : 0);
            if (used + need <= leafDataSize) {
                return;
            }
            // Sizes of the virtual item list: the existing items with the target in its place.
            int v = extend ? n : n + 1;
            int[] prefix = new int[v + 1];
            for (int i = 0, real = 0; i < v; i++) {
                int size;
                if (i == slot) {
                    size = need;
                    real = extend ? real + 1 : real;
                } else {
                    size = leaf.itemSize(real) + Header.ITEM_SIZE;
                    real++;
                }
                prefix[i + 1] = prefix[i] + size;
            }
            int best = -1;
            int bestCost = Integer.MAX_VALUE;
            for (int m = 1; m < v; m++) {
                int left = prefix[m];
                int right = prefix[v] - prefix[m];
                if (left <= leafDataSize && right <= leafDataSize && Math.abs(left - right) < bestCost) {
                    best = m;
                    bestCost = Math.abs(left - right);
                }
            }
            int m = best > 0 ? best : (slot > 0 ? slot : 1);
            splitLeafAt(transid, root, insKey, path, m, extend);
        }
        assert LeafOps.freeSpace(path.nodes[0]) + (extend ? path.nodes[0].itemSize(path.slots[0]) + Header.ITEM_SIZE : 0)
                >= need : "split did not make room";
    }

    /** Splits the path's leaf so that virtual items [0, m) stay and the rest move to a new right leaf. */
    private void splitLeafAt(long transid, CowRoot root, DiskKey insKey, Path path, int m, boolean extend)
            throws IOException {
        if (path.nodes[1] == null) {
            insertNewRoot(transid, root, path, 1);
        }
        ExtentBuffer leaf = path.nodes[0];
        ExtentBuffer parent = path.nodes[1];
        int slot = path.slots[0];
        boolean targetRight = slot >= m;
        int realSplit = extend || targetRight ? m : m - 1;
        int n = leaf.nritems();
        DiskKey rightFirst = realSplit < n ? leaf.key(realSplit) : insKey;
        if (targetRight && slot == realSplit && !extend) {
            rightFirst = insKey; // the new item will be the right leaf's first
        }
        ExtentBuffer right = alloc.allocTreeBlock(transid, root.id(), 0, rightFirst, leaf.bytenr());
        LeafOps.moveTailTo(leaf, realSplit, right);
        NodeOps.insertPtr(parent, path.slots[1] + 1, rightFirst, right.bytenr(), transid);
        if (targetRight) {
            path.slots[1]++;
            path.set(0, right, slot - realSplit);
        } else {
            right.release();
        }
        assert leaf.nritems() > 0 || (!targetRight) : "split left an empty leaf behind";
    }

    /**
     * Inserts an item with {@code data} at {@code key}; false (and nothing changed) if the key
     * exists (EEXIST to callers).
     */
    public boolean insertItem(long transid, CowRoot root, DiskKey key, byte[] data) throws IOException {
        try (Path p = new Path()) {
            if (!insertEmptyItem(transid, root, key, data.length, p)) {
                return false;
            }
            ExtentBuffer leaf = p.leaf();
            System.arraycopy(data, 0, leaf.data(), leaf.itemDataOffset(p.slot()), data.length);
            return true;
        }
    }

    /**
     * btrfs_insert_empty_item(): inserts a zeroed item and leaves the path at it for the caller to
     * fill. Returns false, with the path at the existing item, when the key is already there.
     */
    public boolean insertEmptyItem(long transid, CowRoot root, DiskKey key, int size, Path p) throws IOException {
        if (size > maxItemSize()) {
            throw new IllegalArgumentException("item of " + size + " bytes exceeds the maximum " + maxItemSize());
        }
        if (searchForWrite(transid, root, key, p, size + Header.ITEM_SIZE, 0)) {
            return false;
        }
        LeafOps.insertEmpty(p.leaf(), p.slot(), new DiskKey[] {key}, new int[] {size});
        if (p.slot() == 0) {
            fixupLowKeys(p, key, 1);
        }
        return true;
    }

    /** Grows the item the path points at by {@code extra} zero bytes; the path must come from a search with extend. */
    public void extendItem(Path p, int extra) {
        LeafOps.extend(p.leaf(), p.slot(), extra);
    }

    /** Shrinks the item the path points at to {@code newSize}, keeping its start ({@code fromEnd}) or its end. */
    public void truncateItem(Path p, int newSize, boolean fromEnd) {
        LeafOps.truncate(p.leaf(), p.slot(), newSize, fromEnd);
    }

    /** Changes the key of the item the path points at; the caller keeps the order intact. */
    public void setItemKey(Path p, DiskKey key) {
        ExtentBuffer leaf = p.leaf();
        int slot = p.slot();
        assert slot == 0 || leaf.compareKey(slot - 1, key) < 0 : "new key below the previous item";
        assert slot + 1 >= leaf.nritems() || leaf.compareKey(slot + 1, key) > 0 : "new key above the next item";
        leaf.setKey(slot, key);
        if (slot == 0) {
            fixupLowKeys(p, key, 1);
        }
    }

    /** Deletes the item with {@code key}; false if there is none. */
    public boolean deleteItem(long transid, CowRoot root, DiskKey key) throws IOException {
        try (Path p = new Path()) {
            if (!searchForWrite(transid, root, key, p, -1, 0)) {
                return false;
            }
            deleteItems(transid, root, p, p.slot(), 1);
            return true;
        }
    }

    /**
     * btrfs_del_items(): removes items [slot, slot + nr) of the path's leaf (the path must come
     * from a search with insLen -1), then removes or merges the leaf when it got empty or thin.
     * The path is not usable afterwards.
     */
    public void deleteItems(long transid, CowRoot root, Path p, int slot, int nr) throws IOException {
        ExtentBuffer leaf = p.leaf();
        LeafOps.delete(leaf, slot, nr);
        if (p.nodes[1] == null) {
            return; // the root leaf may be empty
        }
        if (leaf.nritems() == 0) {
            removeBlock(transid, root, p, 0);
            return;
        }
        if (slot == 0) {
            fixupLowKeys(p, leaf.key(0), 1);
        }
        if (LeafOps.spaceUsed(leaf, 0, leaf.nritems()) < leafDataSize / 3) {
            mergeLeaf(transid, root, p);
        }
    }

    /** Merges a thin leaf into its left sibling, or its right sibling into it, when they fit. */
    private void mergeLeaf(long transid, CowRoot root, Path p) throws IOException {
        ExtentBuffer leaf = p.leaf();
        ExtentBuffer parent = p.nodes[1];
        int pslot = p.slots[1];
        int used = LeafOps.spaceUsed(leaf, 0, leaf.nritems());
        if (pslot > 0) {
            ExtentBuffer left = readChild(parent, pslot - 1);
            if (LeafOps.freeSpace(left) >= used) {
                left = cowIfNeeded(transid, root, left, parent, pslot - 1);
                LeafOps.moveHeadTo(leaf, leaf.nritems(), left);
                left.release();
                removeBlock(transid, root, p, 0);
                return;
            }
            left.release();
        }
        if (pslot + 1 < parent.nritems()) {
            ExtentBuffer right = readChild(parent, pslot + 1);
            if (LeafOps.freeSpace(leaf) >= LeafOps.spaceUsed(right, 0, right.nritems())) {
                right = cowIfNeeded(transid, root, right, parent, pslot + 1);
                LeafOps.moveHeadTo(right, right.nritems(), leaf);
                NodeOps.deletePtr(parent, pslot + 1);
                alloc.freeTreeBlock(transid, root.id(), right, parent.bytenr());
            }
            right.release();
        }
    }

    private ExtentBuffer cowIfNeeded(long transid, CowRoot root, ExtentBuffer b, ExtentBuffer parent, int slot)
            throws IOException {
        return shouldCow(b, transid) ? cowBlock(transid, root, b, parent, slot) : b;
    }

    /**
     * Removes the (empty, or emptied by a merge) block at {@code level} of the path from its
     * parent and frees it; a parent left empty goes too, and a root node left empty becomes an
     * empty leaf.
     */
    private void removeBlock(long transid, CowRoot root, Path p, int level) throws IOException {
        ExtentBuffer gone = p.nodes[level];
        ExtentBuffer parent = p.nodes[level + 1];
        int pslot = p.slots[level + 1];
        NodeOps.deletePtr(parent, pslot);
        alloc.freeTreeBlock(transid, root.id(), gone, parent.bytenr());
        if (parent.nritems() == 0) {
            if (p.nodes[level + 2] == null) {
                // The tree is empty: a fresh empty leaf becomes the root. (Turning the node into a
                // leaf in place would break its METADATA_ITEM, whose key carries the level.)
                ExtentBuffer leaf = alloc.allocTreeBlock(transid, root.id(), 0, null, parent.bytenr());
                root.setNode(leaf);
                alloc.freeTreeBlock(transid, root.id(), parent, 0);
            } else {
                removeBlock(transid, root, p, level + 1);
            }
        } else if (pslot == 0) {
            fixupLowKeys(p, parent.key(0), level + 2);
        }
    }

    /**
     * balance_level(), simplified: collapses a root node with one child, and merges a node under a
     * quarter full into a sibling. Returns true when the tree changed shape (the search restarts).
     */
    private boolean balanceNode(long transid, CowRoot root, Path p, int level) throws IOException {
        ExtentBuffer mid = p.nodes[level];
        ExtentBuffer parent = p.nodes[level + 1];
        if (parent == null) {
            if (mid.nritems() != 1) {
                return false;
            }
            ExtentBuffer child = cowIfNeeded(transid, root, readChild(mid, 0), mid, 0);
            root.setNode(child);
            alloc.freeTreeBlock(transid, root.id(), mid, 0);
            return true;
        }
        if (mid.nritems() >= maxPtrs / 4) {
            return false;
        }
        int pslot = p.slots[level + 1];
        int room = maxPtrs - NODE_SPLIT_SLACK;
        if (pslot > 0) {
            ExtentBuffer left = readChild(parent, pslot - 1);
            if (left.nritems() + mid.nritems() <= room) {
                left = cowIfNeeded(transid, root, left, parent, pslot - 1);
                NodeOps.appendAll(mid, left);
                left.release();
                NodeOps.deletePtr(parent, pslot);
                alloc.freeTreeBlock(transid, root.id(), mid, parent.bytenr());
                return true;
            }
            left.release();
        }
        if (pslot + 1 < parent.nritems()) {
            ExtentBuffer right = readChild(parent, pslot + 1);
            if (right.nritems() + mid.nritems() <= room) {
                right = cowIfNeeded(transid, root, right, parent, pslot + 1);
                NodeOps.appendAll(right, mid);
                right.release();
                NodeOps.deletePtr(parent, pslot + 1);
                alloc.freeTreeBlock(transid, root.id(), right, parent.bytenr());
                return true;
            }
            right.release();
        }
        return false;
    }

    /** fixup_low_keys(): sets the key of the path's slot at {@code level} and up while it is slot 0. */
    private static void fixupLowKeys(Path p, DiskKey key, int level) {
        for (int i = level; i < p.nodes.length && p.nodes[i] != null; i++) {
            p.nodes[i].setKey(p.slots[i], key);
            if (p.slots[i] != 0) {
                break;
            }
        }
    }
}
