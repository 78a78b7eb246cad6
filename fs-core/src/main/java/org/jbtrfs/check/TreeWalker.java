package org.jbtrfs.check;

import java.io.IOException;
import org.jbtrfs.CorruptImageException;
import org.jbtrfs.ctree.BTree;
import org.jbtrfs.ctree.ExtentBuffer;
import org.jbtrfs.ctree.Item;
import org.jbtrfs.ctree.TreeBlockReader;
import org.jbtrfs.ctree.TreeRoot;
import org.jbtrfs.device.ChunkMap;
import org.jbtrfs.format.BlockGroupItem;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.ExtentItem;
import org.jbtrfs.format.FileExtentItem;
import org.jbtrfs.format.ItemType;
import org.jbtrfs.format.Le;
import org.jbtrfs.format.ObjectIds;

/**
 * Walks one tree top-down, depth first, left to right (so leaves come in key order), checking each
 * block and recording who refers to what (walk_down_tree() and run_next_block() in check/main.c):
 * <ol>
 *   <li>Every block reads cleanly: the reader verifies checksum, bytenr, fsid, structure, and the
 *       level, generation and first key its parent promised. An unreadable child is a problem and
 *       its subtree is skipped.</li>
 *   <li>No block appears twice in one tree. A block reached from two trees is a snapshot share
 *       and allowed only between subvolume (and relocation) trees.</li>
 *   <li>Owner: the tree's id, or for subvolume trees any subvolume id (snapshots share blocks
 *       that keep their first owner). Generation: not above the parent's nor the superblock's.
 *       Placement: inside a METADATA chunk (SYSTEM for the chunk tree), not across a 64 KiB
 *       stripe boundary.</li>
 *   <li>References, on a block's first visit only (a block shared by snapshots is one extent with
 *       one backref per distinct parent): each child pointer and each file extent in a leaf adds
 *       a tuple to {@link RefTable}. The kind follows btrfs's rule: when the referring block's
 *       extent item has FULL_BACKREF, the ref names the parent block (SHARED_*), else the parent's
 *       owner (TREE_BLOCK_REF / EXTENT_DATA_REF).</li>
 * </ol>
 * Leaf items go to a {@link LeafVisitor} on every visit, so that each snapshot's inodes are
 * checked in full even where its leaves are shared.
 */
final class TreeWalker {
    /** Gets every item of the walked tree, in key order; data is valid during the call only. */
    interface LeafVisitor {
        void item(DiskKey key, byte[] b, int off, int len) throws IOException;

        /** After the last item. */
        default void done() throws IOException {
        }
    }

    private static final long STRIPE_LEN = 64 * 1024;

    private final CheckContext ctx;
    private final LongHashSet seenInTree = new LongHashSet();
    private long treeId;
    private String area;
    private boolean emitRefs;
    private boolean fsLike;
    private LeafVisitor visitor;

    TreeWalker(CheckContext ctx) {
        this.ctx = ctx;
    }

    /**
     * Walks the tree {@code treeId} from {@code root}. {@code emitRefs} is false for the log tree,
     * whose blocks have no extent items; {@code visitor} may be null.
     */
    void walk(long treeId, TreeRoot root, boolean emitRefs, LeafVisitor visitor) throws IOException {
        this.treeId = treeId;
        this.area = Areas.tree(treeId);
        this.emitRefs = emitRefs;
        this.fsLike = CheckContext.isFsLike(treeId);
        this.visitor = visitor;
        seenInTree.clear();
        ctx.counters.trees++;
        ExtentBuffer eb;
        try {
            eb = ctx.btree().readRoot(root);
        } catch (CorruptImageException e) {
            ctx.problem(area, "root block " + Le.u64s(root.bytenr()) + " (level " + root.level() + ", generation "
                    + Le.u64s(root.generation()) + ") is unreadable: " + CheckContext.oneLine(e));
            return;
        }
        try {
            if (emitRefs && !ctx.seenBlocks.contains(eb.bytenr())) {
                if (treeId == ObjectIds.TREE_RELOC) {
                    // A relocation tree's root is FULL_BACKREF and refers to itself (btrfs_alloc_tree_block).
                    ctx.refs.sharedTreeRef(eb.bytenr(), eb.bytenr(), eb.generation(), eb.level());
                } else {
                    ctx.refs.treeRef(eb.bytenr(), treeId, eb.generation(), eb.level());
                }
            }
            visit(eb, null);
        } finally {
            eb.release();
        }
        if (visitor != null) {
            visitor.done();
        }
    }

    /** Visits a block whose keys must all be below {@code upper} (the parent's next key; null: no bound). */
    private void visit(ExtentBuffer eb, DiskKey upper) throws IOException {
        long bytenr = eb.bytenr();
        if (!seenInTree.add(bytenr)) {
            ctx.problem(area, "tree block " + Le.u64s(bytenr) + " is referenced twice within the tree");
            return;
        }
        boolean first = ctx.seenBlocks.add(bytenr);
        if (!first && !fsLike) {
            ctx.problem(area, "tree block " + Le.u64s(bytenr) + " (owner " + Areas.treeName(eb.owner())
                    + ") is also part of another tree");
            return;
        }
        if (first) {
            checkBlock(eb, upper);
            ownerExists(eb);
        } else if (visitor == null) {
            return; // a shared subtree whose references were counted on its first visit
        }
        if (eb.isLeaf()) {
            visitLeaf(eb, first);
        } else {
            visitNode(eb, first, first && emitRefs && fsLike && fullBackref(eb), upper);
        }
    }

    private void visitLeaf(ExtentBuffer eb, boolean first) throws IOException {
        int n = eb.nritems();
        byte[] b = eb.data();
        Boolean full = null; // looked up when the first file extent needs it
        for (int slot = 0; slot < n; slot++) {
            DiskKey key = eb.key(slot);
            int off = eb.itemDataOffset(slot);
            int len = eb.itemSize(slot);
            if (first) {
                ctx.counters.items++;
                if (emitRefs && key.type() == ItemType.EXTENT_DATA) {
                    if (full == null) {
                        full = fsLike && fullBackref(eb);
                    }
                    dataRef(eb, key, b, off, len, full);
                }
            }
            if (visitor != null) {
                try {
                    visitor.item(key, b, off, len);
                } catch (CorruptImageException e) {
                    ctx.problem(area, "item " + key + " in leaf " + Le.u64s(eb.bytenr()) + " slot " + slot + ": "
                            + CheckContext.oneLine(e));
                }
            }
        }
    }

    /** A file extent on disk refers to its data extent (add_data_backref in run_next_block). */
    private void dataRef(ExtentBuffer eb, DiskKey key, byte[] b, int off, int len, boolean full) {
        if (len < FileExtentItem.REG_SIZE) {
            return; // inline, or too short: the fs tree check reports a bad size
        }
        int type = Le.u8(b, off + 20);
        long diskBytenr = Le.u64(b, off + 21);
        if ((type != FileExtentItem.TYPE_REG && type != FileExtentItem.TYPE_PREALLOC) || diskBytenr == 0) {
            return;
        }
        long diskNumBytes = Le.u64(b, off + 29);
        long extentOffset = Le.u64(b, off + 37);
        boolean prealloc = type == FileExtentItem.TYPE_PREALLOC;
        if (full) {
            ctx.refs.sharedDataRef(diskBytenr, eb.bytenr(), diskNumBytes, prealloc);
        } else {
            ctx.refs.dataRef(diskBytenr, eb.owner(), key.objectid(), key.offset() - extentOffset, diskNumBytes, prealloc);
        }
        ctx.counters.fileExtents++;
    }

    private void visitNode(ExtentBuffer eb, boolean first, boolean full, DiskKey upper) throws IOException {
        int n = eb.nritems();
        TreeBlockReader reader = ctx.btree().reader();
        for (int slot = 0; slot < n; slot++) {
            if (slot % BTree.READAHEAD_SLOTS == 0) {
                reader.readahead(eb, slot + 1, slot + 1 + BTree.READAHEAD_SLOTS); // a full walk reads them all
            }
            long child = eb.blockptr(slot);
            long ptrGen = eb.ptrGeneration(slot);
            DiskKey key = eb.key(slot);
            if (first && Long.compareUnsigned(ptrGen, eb.generation()) > 0) {
                ctx.problem(area, "node " + Le.u64s(eb.bytenr()) + " slot " + slot + ": child " + Le.u64s(child)
                        + " has generation " + Le.u64s(ptrGen) + ", above its parent's " + Le.u64s(eb.generation()));
            }
            if (first && emitRefs) {
                if (full) {
                    ctx.refs.sharedTreeRef(child, eb.bytenr(), ptrGen, eb.level() - 1);
                } else {
                    ctx.refs.treeRef(child, eb.owner(), ptrGen, eb.level() - 1);
                }
            }
            ExtentBuffer c;
            try {
                c = reader.read(child, new TreeBlockReader.Expect(eb.level() - 1, ptrGen, key));
            } catch (CorruptImageException e) {
                ctx.problem(area, "node " + Le.u64s(eb.bytenr()) + " slot " + slot + " key " + key + ": child "
                        + Le.u64s(child) + " is unreadable: " + CheckContext.oneLine(e));
                continue;
            }
            try {
                visit(c, slot + 1 < n ? eb.key(slot + 1) : upper);
            } finally {
                c.release();
            }
        }
    }

    /**
     * check_owner_ref(): a subvolume tree block reached from a tree other than its owner, and not
     * FULL_BACKREF, must still be pointed at by its owner tree — the backrefs of its children name
     * the owner. Once the owner stops pointing at it (the owner COWed it or was deleted), btrfs makes
     * it FULL_BACKREF first (update_ref_for_cow, the drop's UPDATE_BACKREF stage).
     */
    private void ownerExists(ExtentBuffer eb) throws IOException {
        long owner = eb.owner();
        if (!fsLike || !emitRefs || owner == treeId || owner == ObjectIds.TREE_RELOC || fullBackref(eb)) {
            return;
        }
        RootTreeCheck.Root r = ctx.roots.root(owner);
        if (r != null && (r.partlyDropped() || ownerPointsAt(r, eb))) {
            return;
        }
        ctx.problem(area, "tree block " + Le.u64s(eb.bytenr()) + " is owned by tree " + Areas.treeName(owner)
                + (r == null ? ", which has no ROOT_ITEM," : ", which does not point at it,")
                + " and is not FULL_BACKREF (owner ref check)");
    }

    /** Whether the owner's tree, searched for the block's first key, reaches it at its level. */
    private boolean ownerPointsAt(RootTreeCheck.Root r, ExtentBuffer eb) throws IOException {
        if (eb.nritems() == 0 || r.item().level() <= eb.level()) {
            return false;
        }
        DiskKey key = eb.key(0);
        TreeBlockReader reader = ctx.btree().reader();
        ExtentBuffer b;
        try {
            b = ctx.btree().readRoot(r.treeRoot());
        } catch (CorruptImageException e) {
            return false; // the owner's own walk reports it
        }
        try {
            while (true) {
                int pos = b.binarySearch(key);
                int slot = pos >= 0 ? pos : Math.max(0, -pos - 2);
                if (b.level() == eb.level() + 1) {
                    return b.blockptr(slot) == eb.bytenr();
                }
                ExtentBuffer c = reader.read(b.blockptr(slot), TreeBlockReader.Expect.child(b, slot));
                b.release();
                b = c;
            }
        } catch (CorruptImageException e) {
            return false;
        } finally {
            b.release();
        }
    }

    /** Owner, generation, placement and key range of a block seen for the first time. */
    private void checkBlock(ExtentBuffer eb, DiskKey upper) {
        long bytenr = eb.bytenr();
        int n = eb.nritems();
        if (upper != null && n > 0 && eb.compareKey(n - 1, upper) >= 0) {
            ctx.problem(area, "tree block " + Le.u64s(bytenr) + ": last key " + eb.key(n - 1)
                    + " is not below the parent's next key " + upper);
        }
        ctx.counters.treeBlocks++;
        ctx.counters.treeBytes += eb.length();
        long owner = eb.owner();
        boolean ownerOk = fsLike ? CheckContext.isFsLike(owner) : owner == treeId;
        if (!ownerOk) {
            ctx.problem(area, "tree block " + Le.u64s(bytenr) + " has owner " + Areas.treeName(owner) + ", expect "
                    + (fsLike ? "a subvolume tree" : Areas.treeName(treeId)));
        }
        long maxGen = ctx.superGeneration + (treeId == ObjectIds.TREE_LOG ? 1 : 0);
        if (Long.compareUnsigned(eb.generation(), maxGen) > 0) {
            ctx.problem(area, "tree block " + Le.u64s(bytenr) + " has generation " + Le.u64s(eb.generation())
                    + ", above the superblock's " + Le.u64s(ctx.superGeneration));
        }
        ChunkMap.Mapping m = ctx.fs.chunkMap().find(bytenr);
        long want = treeId == ObjectIds.CHUNK_TREE ? BlockGroupItem.SYSTEM : BlockGroupItem.METADATA;
        if (m != null && (m.type() & want) == 0) {
            ctx.problem(area, "tree block " + Le.u64s(bytenr) + " lies in a " + BlockGroupItem.flagsString(m.type())
                    + " chunk, expect " + (want == BlockGroupItem.SYSTEM ? "SYSTEM" : "METADATA"));
        }
        if (Long.divideUnsigned(bytenr, STRIPE_LEN) != Long.divideUnsigned(bytenr + eb.length() - 1, STRIPE_LEN)) {
            ctx.problem(area, "tree block " + Le.u64s(bytenr) + " crosses a 64 KiB stripe boundary");
        }
    }

    /** Whether the block's extent item has FULL_BACKREF (btrfs_lookup_extent_info in the walk). */
    private boolean fullBackref(ExtentBuffer eb) throws IOException {
        TreeRoot extentRoot = ctx.globalRoot(ObjectIds.EXTENT_TREE);
        if (extentRoot == null) {
            return false;
        }
        DiskKey key = ctx.skinnyMetadata ? new DiskKey(eb.bytenr(), ItemType.METADATA_ITEM, eb.level())
                : new DiskKey(eb.bytenr(), ItemType.EXTENT_ITEM, eb.length());
        Item it = ctx.lookup(extentRoot, key, Areas.EXTENT);
        if (it == null && ctx.skinnyMetadata) {
            it = ctx.lookup(extentRoot, new DiskKey(eb.bytenr(), ItemType.EXTENT_ITEM, eb.length()), Areas.EXTENT);
        }
        if (it == null || it.size() < ExtentItem.SIZE) {
            return false; // the extent pass reports the missing or short item
        }
        return (Le.u64(it.data(), 16) & ExtentItem.FLAG_FULL_BACKREF) != 0;
    }

    /**
     * Hands every item of a tree to {@code visitor} in key order, without checks or references:
     * for the passes that read a tree a second time (extent items, csums to verify). Blocks that
     * do not read are skipped silently; the checking walk has reported them.
     */
    static void streamItems(CheckContext ctx, TreeRoot root, LeafVisitor visitor) throws IOException {
        ExtentBuffer eb;
        try {
            eb = ctx.btree().readRoot(root);
        } catch (CorruptImageException e) {
            return;
        }
        try {
            stream(ctx, eb, visitor);
        } finally {
            eb.release();
        }
        visitor.done();
    }

    private static void stream(CheckContext ctx, ExtentBuffer eb, LeafVisitor visitor) throws IOException {
        if (eb.isLeaf()) {
            for (int slot = 0; slot < eb.nritems(); slot++) {
                DiskKey key = eb.key(slot);
                try {
                    visitor.item(key, eb.data(), eb.itemDataOffset(slot), eb.itemSize(slot));
                } catch (CorruptImageException e) {
                    ctx.problem(Areas.tree(eb.owner()), "item " + key + " in leaf " + Le.u64s(eb.bytenr()) + " slot "
                            + slot + ": " + CheckContext.oneLine(e));
                }
            }
            return;
        }
        TreeBlockReader reader = ctx.btree().reader();
        for (int slot = 0; slot < eb.nritems(); slot++) {
            ExtentBuffer c;
            try {
                c = reader.read(eb.blockptr(slot),
                        new TreeBlockReader.Expect(eb.level() - 1, eb.ptrGeneration(slot), eb.key(slot)));
            } catch (CorruptImageException e) {
                continue;
            }
            try {
                stream(ctx, c, visitor);
            } finally {
                c.release();
            }
        }
    }
}
