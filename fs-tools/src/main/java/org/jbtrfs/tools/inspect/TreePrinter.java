package org.jbtrfs.tools.inspect;

import java.io.IOException;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import org.jbtrfs.ctree.ExtentBuffer;
import org.jbtrfs.ctree.TreeBlockReader;
import org.jbtrfs.ctree.TreeRoot;
import org.jbtrfs.format.Header;
import org.jbtrfs.format.Le;
import org.jbtrfs.format.Uuids;

/**
 * Prints tree blocks the way btrfs-progs 6.2 btrfs_print_tree() does: a node as its header and
 * key pointers, a leaf as its header and items (through {@link ItemPrinter}), and with "follow"
 * the whole subtree, breadth first by default (all nodes of one level, left to right, then the
 * level below, as progs' --bfs) or depth first (--dfs).
 *
 * <h2>Damaged trees</h2>
 * A block that cannot be read (no good copy, wrong level or generation for its parent pointer)
 * or an item that does not decode does not stop the dump: the block (with its subtree) is
 * skipped, the problem is recorded in {@link #errors()}, and the walk goes on with the next
 * sibling, so the user sees every block that is still readable. The command turns the recorded
 * problems into one error line and exit status 1 at the end.
 *
 * <h2>Memory</h2>
 * Breadth-first walks keep one path (at most {@link Header#MAX_LEVEL} blocks) and move it to the
 * next sibling at the level being printed, re-reading parents through the block cache, rather
 * than queueing a whole level of pointers: a level of a large tree has millions of blocks.
 */
final class TreePrinter {
    /** Errors kept verbatim; beyond this many only the count grows. */
    static final int ERRORS_KEPT_MAX = 100;
    /** Distinct causes remembered for de-duplication; past this, every problem is counted. */
    static final int CAUSES_TRACKED_MAX = 10_000;

    private final TreeBlockReader reader;
    private final PrintWriter out;
    private final ItemPrinter items;
    private final boolean depthFirst;
    private final boolean csumHeaders;
    private final int csumSize;
    private final List<String> errors = new ArrayList<>();
    /** Causes seen so far, for counting each once; at most {@link #CAUSES_TRACKED_MAX}. */
    private final java.util.Set<String> causes = new java.util.HashSet<>();
    private long errorCount;

    TreePrinter(TreeBlockReader reader, PrintWriter out, ItemPrinter items, boolean depthFirst, boolean csumHeaders,
            int csumSize) {
        this.reader = reader;
        this.out = out;
        this.items = items;
        this.depthFirst = depthFirst;
        this.csumHeaders = csumHeaders;
        this.csumSize = csumSize;
    }

    /** Problems met so far, at most {@link #ERRORS_KEPT_MAX} of them. */
    List<String> errors() {
        return errors;
    }

    long errorCount() {
        return errorCount;
    }

    void error(String message) {
        error(message, message);
    }

    /**
     * Records a problem met while doing {@code context}. A cause already recorded (the same
     * damaged block reached twice, e.g. when listing the roots and when printing the root tree)
     * is counted once.
     */
    void error(String context, String cause) {
        if (causes.contains(cause)) {
            return;
        }
        if (causes.size() < CAUSES_TRACKED_MAX) {
            causes.add(cause);
        }
        errorCount++;
        if (errors.size() < ERRORS_KEPT_MAX) {
            errors.add(context.equals(cause) ? cause : context + ": " + cause);
        }
    }

    /** Reads a tree's root block, or records why it cannot and returns null. */
    ExtentBuffer readRoot(TreeRoot root, String what) {
        try {
            return reader.read(root.bytenr(), new TreeBlockReader.Expect(root.level(), root.generation(), null));
        } catch (IOException e) {
            error(what, e.getMessage());
            return null;
        }
    }

    /** Reads one block by address with no expectations (-b), or records why it cannot. */
    ExtentBuffer readBlock(long bytenr) {
        try {
            return reader.read(bytenr, null);
        } catch (IOException e) {
            error("block " + Le.u64s(bytenr), e.getMessage());
            return null;
        }
    }

    /** btrfs_print_tree(eb, follow): the block, then (if {@code follow}) every block below it. */
    void printTree(ExtentBuffer eb, boolean follow) {
        printBlock(eb);
        if (!follow || eb.isLeaf()) {
            return;
        }
        if (depthFirst) {
            dfsChildren(eb);
        } else {
            bfsChildren(eb);
        }
    }

    /** print_extents() (--extents): the leaves only, depth first, no node headers. */
    void printLeavesOnly(ExtentBuffer eb) {
        if (eb.isLeaf()) {
            printBlock(eb);
            return;
        }
        for (int slot = 0; slot < eb.nritems(); slot++) {
            ExtentBuffer child = readChild(eb, slot);
            if (child != null) {
                try {
                    printLeavesOnly(child);
                } finally {
                    child.release();
                }
            }
        }
    }

    private void dfsChildren(ExtentBuffer node) {
        for (int slot = 0; slot < node.nritems(); slot++) {
            ExtentBuffer child = readChild(node, slot);
            if (child == null) {
                continue;
            }
            try {
                printTree(child, true);
            } finally {
                child.release();
            }
        }
    }

    /** Level by level below {@code root}: for each level, the leftmost block and then its right siblings. */
    private void bfsChildren(ExtentBuffer root) {
        int top = root.level();
        ExtentBuffer[] nodes = new ExtentBuffer[top + 1];
        int[] slots = new int[top + 1];
        nodes[top] = root.retain();
        try {
            for (int level = top - 1; level >= 0; level--) {
                slots[top] = -1;
                boolean more = next(nodes, slots, level, top);
                while (more) {
                    printBlock(nodes[level]);
                    more = next(nodes, slots, level, level + 1);
                }
            }
        } finally {
            for (ExtentBuffer eb : nodes) {
                if (eb != null) {
                    eb.release();
                }
            }
        }
    }

    /**
     * Moves the path to the next readable block at {@code level}, searching upwards from
     * {@code from} for a node with a slot to the right (btrfs_next_sibling_tree_block). Unreadable
     * children are recorded and stepped over. Returns false when the level is done.
     */
    private boolean next(ExtentBuffer[] nodes, int[] slots, int level, int from) {
        int top = nodes.length - 1;
        int l = from;
        while (true) {
            while (l <= top && slots[l] + 1 >= nodes[l].nritems()) {
                l++;
            }
            if (l > top) {
                return false;
            }
            slots[l]++;
            while (l > level) {
                ExtentBuffer child = readChild(nodes[l], slots[l]);
                if (child == null) {
                    break;
                }
                if (nodes[l - 1] != null) {
                    nodes[l - 1].release();
                }
                nodes[l - 1] = child;
                slots[l - 1] = 0;
                l--;
            }
            if (l == level) {
                return true;
            }
        }
    }

    private ExtentBuffer readChild(ExtentBuffer parent, int slot) {
        long bytenr = parent.blockptr(slot);
        try {
            return reader.read(bytenr, new TreeBlockReader.Expect(parent.level() - 1, parent.ptrGeneration(slot),
                    parent.key(slot)));
        } catch (IOException e) {
            error("tree " + ProgsFormat.objectid(parent.owner(), 0) + " block " + Le.u64s(bytenr) + " (slot " + slot
                    + " of node " + Le.u64s(parent.bytenr()) + ")", e.getMessage());
            return null;
        }
    }

    /** One block: header lines, then key pointers (node) or items (leaf). Written out whole. */
    void printBlock(ExtentBuffer eb) {
        StringBuilder sb = new StringBuilder(eb.isLeaf() ? 8192 : 4096);
        header(sb, eb);
        byte[] b = eb.data();
        int n = eb.nritems();
        if (eb.isLeaf()) {
            for (int slot = 0; slot < n; slot++) {
                int off = eb.itemDataOffset(slot);
                int len = eb.itemSize(slot);
                sb.append(ItemPrinter.itemLine(slot, eb.key(slot), off - Header.SIZE, len));
                String problem = items.printItem(sb, eb.key(slot), b, off, len);
                if (problem != null) {
                    error("leaf " + Le.u64s(eb.bytenr()) + " slot " + slot + " " + ProgsFormat.key(eb.key(slot)) + ": "
                            + problem);
                }
            }
        } else {
            for (int slot = 0; slot < n; slot++) {
                sb.append('\t').append(ProgsFormat.key(eb.key(slot))).append(" block ").append(Le.u64s(eb.blockptr(slot)))
                        .append(" gen ").append(Le.u64s(eb.ptrGeneration(slot))).append('\n');
            }
        }
        out.print(sb);
    }

    /** print_header_info(). */
    private void header(StringBuilder sb, ExtentBuffer eb) {
        byte[] b = eb.data();
        int n = eb.nritems();
        String owner = ProgsFormat.objectid(eb.owner(), 0);
        String kind = eb.isLeaf() ? "leaf" : "node";
        if (eb.isLeaf()) {
            sb.append("leaf ").append(Le.u64s(eb.bytenr())).append(" items ").append(n).append(" free space ")
                    .append(leafFreeSpace(eb)).append(" generation ").append(Le.u64s(eb.generation()))
                    .append(" owner ").append(owner).append('\n');
        } else {
            sb.append("node ").append(Le.u64s(eb.bytenr())).append(" level ").append(eb.level()).append(" items ")
                    .append(n).append(" free space ").append(Header.maxKeyPtrs(b.length) - n).append(" generation ")
                    .append(Le.u64s(eb.generation())).append(" owner ").append(owner).append('\n');
        }
        long flags = Header.flags(b) & ~(0xffL << Header.BACKREF_REV_SHIFT);
        sb.append(kind).append(' ').append(Le.u64s(Header.bytenr(b))).append(" flags 0x").append(Long.toHexString(flags))
                .append('(').append(ProgsFormat.headerFlags(flags)).append(") backref revision ")
                .append(Header.backrefRev(b));
        if (csumHeaders) {
            sb.append(" csum 0x").append(ProgsFormat.hex(b, Header.OFF_CSUM, csumSize));
        }
        sb.append('\n');
        sb.append("fs uuid ").append(Uuids.toString(Header.fsid(b))).append('\n');
        sb.append("chunk uuid ").append(Uuids.toString(Header.chunkTreeUuid(b))).append('\n');
    }

    /**
     * btrfs_leaf_free_space(): leaf data size minus the item headers and the span from the end of
     * item 0's data down to the start of the last item's data.
     */
    static int leafFreeSpace(ExtentBuffer eb) {
        int n = eb.nritems();
        int dataSize = Header.leafDataSize(eb.length());
        if (n == 0) {
            return dataSize;
        }
        long first = eb.itemDataOffset(0) + (long) eb.itemSize(0);
        long last = eb.itemDataOffset(n - 1);
        return (int) (dataSize - (first - last) - (long) n * Header.ITEM_SIZE);
    }
}
