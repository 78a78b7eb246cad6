package org.jbtrfs.ctree;

import java.io.IOException;
import java.util.Arrays;
import org.jbtrfs.CorruptImageException;
import org.jbtrfs.format.DiskKey;

/**
 * Searching and walking a B-tree (the read side of ctree.c: btrfs_search_slot, btrfs_next_leaf,
 * btrfs_prev_leaf). Keys in a node slot are the smallest keys of the subtrees they point to; a
 * search descends into the last slot whose key is not above the target.
 *
 * <p>Every block is read through {@link TreeBlockReader} with what the parent promised (level one
 * below, generation, first key), so a damaged or looping tree ends in a
 * {@link CorruptImageException}, never in a hang or an index error.
 */
public final class BTree {
    /** Receives items during {@link #scan}; data is valid only during the call. */
    @FunctionalInterface
    public interface ItemVisitor {
        /** Returns false to stop the scan. */
        boolean visit(DiskKey key, byte[] data, int off, int len) throws IOException;
    }

    /**
     * Children read ahead at a time by scans and walks: enough to keep a few reads in flight, few
     * enough that a small cache is not flushed by blocks that will not be used soon.
     */
    public static final int READAHEAD_SLOTS = 16;

    private final TreeBlockReader reader;

    public BTree(TreeBlockReader reader) {
        this.reader = reader;
    }

    public TreeBlockReader reader() {
        return reader;
    }

    /** Reads a tree's root block. */
    public ExtentBuffer readRoot(TreeRoot root) throws IOException {
        return reader.read(root.bytenr(), new TreeBlockReader.Expect(root.level(), root.generation(), null));
    }

    /**
     * btrfs_search_slot() for reading: a path to the leaf where {@code key} is or would be. Returns
     * true when found exactly; otherwise the leaf slot is the insertion point (possibly == nritems).
     */
    public boolean searchSlot(TreeRoot root, DiskKey key, Path path) throws IOException {
        ExtentBuffer eb = readRoot(root);
        int level = eb.level();
        while (true) {
            int pos = eb.binarySearch(key);
            if (level == 0) {
                path.set(0, eb, pos >= 0 ? pos : -pos - 1);
                return pos >= 0;
            }
            int slot = pos >= 0 ? pos : Math.max(0, -pos - 2);
            path.set(level, eb, slot);
            eb = readChild(eb, slot);
            level--;
        }
    }

    private ExtentBuffer readChild(ExtentBuffer parent, int slot) throws IOException {
        return reader.read(parent.blockptr(slot), TreeBlockReader.Expect.child(parent, slot));
    }

    /**
     * btrfs_next_leaf(): moves the path to slot 0 of the next leaf. Returns false, leaving the
     * path where it was, when this was the last leaf.
     */
    public boolean nextLeaf(Path path) throws IOException {
        int level = 1;
        while (level < path.nodes.length && path.nodes[level] != null
                && path.slots[level] + 1 >= path.nodes[level].nritems()) {
            level++;
        }
        if (level >= path.nodes.length || path.nodes[level] == null) {
            return false;
        }
        path.slots[level]++;
        for (int l = level; l > 0; l--) {
            ExtentBuffer child = readChild(path.nodes[l], path.slots[l]);
            path.set(l - 1, child, 0);
        }
        return true;
    }

    /** btrfs_prev_leaf(): moves the path to the last slot of the previous leaf; false at the first. */
    public boolean prevLeaf(Path path) throws IOException {
        int level = 1;
        while (level < path.nodes.length && path.nodes[level] != null && path.slots[level] == 0) {
            level++;
        }
        if (level >= path.nodes.length || path.nodes[level] == null) {
            return false;
        }
        path.slots[level]--;
        for (int l = level; l > 0; l--) {
            ExtentBuffer child = readChild(path.nodes[l], path.slots[l]);
            path.set(l - 1, child, child.nritems() - 1);
            // An empty leaf is only valid as a root, so slot -1 never happens below a node.
        }
        return true;
    }

    /** The item with exactly this key, copied, or null. */
    public Item lookup(TreeRoot root, DiskKey key) throws IOException {
        try (Path p = new Path()) {
            if (!searchSlot(root, key, p)) {
                return null;
            }
            return copyItem(p.leaf(), p.slot());
        }
    }

    /** The item with the greatest key not above {@code key}, copied, or null. */
    public Item findAtOrBefore(TreeRoot root, DiskKey key) throws IOException {
        try (Path p = new Path()) {
            if (searchSlot(root, key, p)) {
                return copyItem(p.leaf(), p.slot());
            }
            if (p.slot() > 0) {
                return copyItem(p.leaf(), p.slot() - 1);
            }
            if (!prevLeaf(p)) {
                return null;
            }
            return copyItem(p.leaf(), p.slot());
        }
    }

    /** Visits items with {@code from <= key <= to} in key order until the visitor returns false. */
    public void scan(TreeRoot root, DiskKey from, DiskKey to, ItemVisitor visitor) throws IOException {
        try (Path p = new Path()) {
            searchSlot(root, from, p);
            ExtentBuffer aheadOf = null;
            int aheadTo = 0;
            while (true) {
                // Read the next leaves ahead (READA_FORWARD): the scan will want them in order.
                ExtentBuffer parent = p.nodes[1];
                if (parent != null && (parent != aheadOf || p.slots[1] + 1 >= aheadTo)) {
                    aheadOf = parent;
                    aheadTo = p.slots[1] + 1 + READAHEAD_SLOTS;
                    reader.readahead(parent, p.slots[1] + 1, aheadTo);
                }
                ExtentBuffer leaf = p.leaf();
                int n = leaf.nritems();
                for (int slot = p.slot(); slot < n; slot++) {
                    if (leaf.compareKey(slot, to) > 0) {
                        return;
                    }
                    if (!visitor.visit(leaf.key(slot), leaf.data(), leaf.itemDataOffset(slot), leaf.itemSize(slot))) {
                        return;
                    }
                }
                if (!nextLeaf(p)) {
                    return;
                }
            }
        }
    }

    /**
     * Visits every block of a tree top-down, depth first (for dump-tree and checks). The visitor
     * gets each block while it is referenced.
     */
    public void walk(TreeRoot root, java.util.function.Consumer<ExtentBuffer> visitor) throws IOException {
        ExtentBuffer eb = readRoot(root);
        try {
            walk(eb, visitor);
        } finally {
            eb.release();
        }
    }

    private void walk(ExtentBuffer eb, java.util.function.Consumer<ExtentBuffer> visitor) throws IOException {
        visitor.accept(eb);
        if (eb.isLeaf()) {
            return;
        }
        for (int slot = 0; slot < eb.nritems(); slot++) {
            if (slot % READAHEAD_SLOTS == 0) {
                reader.readahead(eb, slot + 1, slot + 1 + READAHEAD_SLOTS);
            }
            ExtentBuffer child = readChild(eb, slot);
            try {
                walk(child, visitor);
            } finally {
                child.release();
            }
        }
    }

    static Item copyItem(ExtentBuffer leaf, int slot) {
        int off = leaf.itemDataOffset(slot);
        return new Item(leaf.key(slot), Arrays.copyOfRange(leaf.data(), off, off + leaf.itemSize(slot)));
    }

}
