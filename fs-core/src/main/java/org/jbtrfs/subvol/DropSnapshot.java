package org.jbtrfs.subvol;

import java.io.IOException;
import org.jbtrfs.CorruptImageException;
import org.jbtrfs.ctree.ExtentBuffer;
import org.jbtrfs.ctree.TreeBlockReader;
import org.jbtrfs.ctree.TreeRoot;
import org.jbtrfs.extent.DelayedRefs;
import org.jbtrfs.extent.ExtentInfo;
import org.jbtrfs.extent.TreeBlockRefs;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.ExtentItem;
import org.jbtrfs.format.Header;
import org.jbtrfs.format.ItemType;
import org.jbtrfs.format.Le;
import org.jbtrfs.format.ObjectIds;
import org.jbtrfs.format.RootItem;
import org.jbtrfs.transaction.FsTrees;
import org.jbtrfs.transaction.TransHandle;

/**
 * btrfs_drop_snapshot() (extent-tree.c): frees the tree of a dead subvolume or snapshot, one
 * bounded step per call, each in the caller's transaction handle.
 *
 * <h2>How a tree is dropped</h2>
 * A depth-first walk (walk_down_tree / walk_up_tree) visits the tree from its root. Every block
 * has a reference count ({@link ExtentInfo}): a block only this tree points to (refs 1) is walked
 * into, and freed on the way up after its children were dropped — for a leaf that means dropping
 * the data ref of every file extent item in it. A block shared with another tree (refs &gt; 1, a
 * snapshot) is not walked into: only this tree's reference to it is dropped (maybe_drop_reference),
 * keyed by root or, when the parent is FULL_BACKREF, by the parent block.
 *
 * <h2>FULL_BACKREF (stage UPDATE_BACKREF)</h2>
 * A shared block that this tree owns (its header owner) and that is newer than this tree's origin
 * (created or COWed after the snapshot it came from) has children whose backrefs name this tree's
 * root id: once this tree is gone, nobody would answer for them. So before dropping our reference
 * to such a block, the walk goes into it in stage UPDATE_BACKREF and converts it: its children get
 * a shared backref naming the block (btrfs_inc_ref full), lose the root-keyed one (btrfs_dec_ref),
 * and the block gets the FULL_BACKREF flag. Blocks below owned by other trees are left alone.
 * Back at the shared block's level the walk returns to DROP_REFERENCE and drops our reference.
 *
 * <h2>Progress (drop_progress, drop_level in the ROOT_ITEM)</h2>
 * After each walk up in stage DROP_REFERENCE, the position — the key of the next slot at the level
 * where the walk stopped — is the point before which everything is dropped. A step ends there after
 * {@code maxBlocks} blocks and writes it into the ROOT_ITEM in the same transaction as the refs it
 * dropped, so a commit always has a consistent pair; the next step (or the next read-write mount,
 * after a crash or an unmount) searches down to it again (the nodes above it are still whole: they
 * are freed only when the walk leaves them) and goes on. Redoing an UPDATE_BACKREF stage after a
 * restart is harmless: blocks already FULL_BACKREF are not converted twice. At the end the ROOT_ITEM,
 * the orphan item and any ROOT_REF/ROOT_BACKREF left go (btrfs_del_root, btrfs_del_orphan_item).
 *
 * <p>Nothing else reads or changes the dead tree: its directory entry is gone and the caller holds
 * the filesystem's op lock for the step. Tree blocks are read, never COWed; freed blocks stay
 * pinned until the commit, so a step's search down to drop_progress may read them.
 */
public final class DropSnapshot {
    /** Normal stage: drop references, free blocks only this tree holds. */
    private static final int DROP_REFERENCE = 1;
    /** Converting a shared block this tree owns (and the owned blocks below it) to FULL_BACKREF. */
    private static final int UPDATE_BACKREF = 2;

    private final FsTrees trees;
    private final TreeBlockReader reader;
    private final int nodesize;

    public DropSnapshot(FsTrees trees) {
        this.trees = trees;
        this.reader = trees.reader().reader();
        this.nodesize = reader.nodesize();
    }

    /** struct walk_control, plus the path (the kernel keeps them apart). */
    private static final class Walk {
        final long rootId;
        /** btrfs_root_origin_generation: the ROOT_ITEM key offset (the snapshot's transid; 0 for a subvolume). */
        final long originGen;
        final ExtentBuffer[] nodes = new ExtentBuffer[Header.MAX_LEVEL];
        final int[] slots = new int[Header.MAX_LEVEL];
        final long[] refs = new long[Header.MAX_LEVEL];
        final long[] flags = new long[Header.MAX_LEVEL];
        /** path->locks: the refs/flags of that level were looked up with the block in hand and stay valid. */
        final boolean[] locked = new boolean[Header.MAX_LEVEL];
        DiskKey updateProgress = DiskKey.MIN;
        DiskKey dropProgress;
        int dropLevel;
        int stage = DROP_REFERENCE;
        int level;
        int sharedLevel = -1;
        boolean updateRef = true;
        boolean lookupInfo;
        /** Blocks this step dropped or freed. */
        int work;

        Walk(long rootId, long originGen) {
            this.rootId = rootId;
            this.originGen = originGen;
        }

        void release() {
            for (int i = 0; i < nodes.length; i++) {
                if (nodes[i] != null) {
                    nodes[i].release();
                    nodes[i] = null;
                }
            }
        }
    }

    /**
     * One step of dropping dead root {@code rootId}: at most about {@code maxBlocks} blocks. Returns
     * true when the tree is gone (its ROOT_ITEM and orphan item deleted), false when the step
     * stopped with its progress in the ROOT_ITEM. The caller holds the op lock and {@code h}.
     */
    public boolean step(TransHandle h, long rootId, int maxBlocks) throws IOException {
        if (maxBlocks <= 0) {
            throw new IllegalArgumentException("drop step of " + maxBlocks + " blocks");
        }
        org.jbtrfs.ctree.Item it = trees.reads().findAtOrBefore(ObjectIds.ROOT_TREE,
                new DiskKey(rootId, ItemType.ROOT_ITEM, -1L));
        if (it == null || it.key().objectid() != rootId || it.key().type() != ItemType.ROOT_ITEM) {
            finish(h, rootId, null); // dropped before, only its orphan item was left
            return true;
        }
        RootItem ri = RootItem.decode(it.data(), 0, it.size());
        if (ri.refs() != 0) {
            throw new IllegalStateException("tree " + Le.u64s(rootId) + " has refs " + ri.refs() + ": not a dead root");
        }
        Walk wc = new Walk(rootId, it.key().offset());
        try {
            start(h, wc, ri);
            while (true) {
                walkDownTree(h, wc);
                if (walkUpTree(h, wc, Header.MAX_LEVEL)) {
                    assert wc.stage == DROP_REFERENCE : "walk ended in stage " + wc.stage;
                    finish(h, rootId, it.key());
                    return true;
                }
                if (wc.stage == DROP_REFERENCE) {
                    wc.dropLevel = wc.level;
                    wc.dropProgress = wc.nodes[wc.level].key(wc.slots[wc.level]);
                }
                assert wc.level > 0 : "walk stopped in a leaf";
                // Steps end only in DROP_REFERENCE, at a position that is saved: a restart there
                // redoes nothing but idempotent FULL_BACKREF checks.
                if (wc.work >= maxBlocks && wc.stage == DROP_REFERENCE) {
                    TreeItems.put(trees, h, ObjectIds.ROOT_TREE, it.key(),
                            ri.withDropProgress(wc.dropProgress, wc.dropLevel).encode());
                    return false;
                }
            }
        } finally {
            wc.release();
        }
    }

    /** Sets up the path: at the root for a new drop, else down to drop_progress (the restart of btrfs_drop_snapshot). */
    private void start(TransHandle h, Walk wc, RootItem ri) throws IOException {
        ExtentBuffer root = trees.reader().readRoot(new TreeRoot(wc.rootId, ri.bytenr(), ri.level(), ri.generation()));
        int level = root.level();
        wc.nodes[level] = root;
        wc.slots[level] = 0;
        wc.locked[level] = true;
        if (!ri.dropStarted()) {
            wc.level = level;
            return;
        }
        DiskKey key = ri.dropProgress();
        int dropLevel = ri.dropLevel();
        if (dropLevel <= 0 || dropLevel > level) {
            throw new CorruptImageException("dead root " + Le.u64s(wc.rootId) + ": drop_level " + dropLevel
                    + " with a root of level " + level);
        }
        wc.updateProgress = key;
        wc.dropProgress = key;
        wc.dropLevel = dropLevel;
        for (int l = level; ; l--) {
            ExtentBuffer b = wc.nodes[l];
            int pos = b.binarySearch(key);
            wc.slots[l] = pos >= 0 ? pos : Math.max(0, -pos - 2);
            ExtentInfo.Info info = lookup(h, b.bytenr(), l);
            wc.refs[l] = info.refs();
            wc.flags[l] = info.flags();
            wc.locked[l] = true;
            if (l == dropLevel) {
                if (pos < 0) {
                    throw new CorruptImageException("dead root " + Le.u64s(wc.rootId) + ": drop_progress " + key
                            + " is not a key of its level-" + l + " block " + Le.u64s(b.bytenr()));
                }
                break;
            }
            assert wc.refs[l] == 1 : "block " + b.bytenr() + " above drop_level has refs " + wc.refs[l];
            wc.locked[l] = false;
            wc.nodes[l - 1] = reader.read(b.blockptr(wc.slots[l]), TreeBlockReader.Expect.child(b, wc.slots[l]));
        }
        wc.level = dropLevel;
    }

    private ExtentInfo.Info lookup(TransHandle h, long bytenr, int level) throws IOException {
        ExtentInfo.Info info = ExtentInfo.treeBlock(trees.refs(h.transid()),
                key -> trees.reads().lookup(ObjectIds.EXTENT_TREE, key), bytenr, level, nodesize);
        if (info.refs() == 0) {
            throw new CorruptImageException("tree block " + Le.u64s(bytenr) + " has 0 references, expect > 0");
        }
        return info;
    }

    private void walkDownTree(TransHandle h, Walk wc) throws IOException {
        int level = wc.level;
        wc.lookupInfo = true;
        while (level >= 0) {
            if (walkDownProc(h, wc)) {
                break;
            }
            if (level == 0 || wc.slots[level] >= wc.nodes[level].nritems()) {
                break;
            }
            if (doWalkDown(h, wc)) {
                wc.slots[level]++;
                continue;
            }
            level = wc.level;
        }
    }

    /** walk_down_proc(): true to stop walking down. */
    private boolean walkDownProc(TransHandle h, Walk wc) throws IOException {
        int level = wc.level;
        ExtentBuffer eb = wc.nodes[level];
        if (wc.stage == UPDATE_BACKREF && eb.owner() != wc.rootId) {
            return true;
        }
        // A block with one reference keeps it; once FULL_BACKREF, a block stays so: no new lookup.
        if (wc.lookupInfo && ((wc.stage == DROP_REFERENCE && wc.refs[level] != 1)
                || (wc.stage == UPDATE_BACKREF && (wc.flags[level] & ExtentItem.FLAG_FULL_BACKREF) == 0))) {
            assert wc.locked[level] : "lookup of an unlocked level " + level;
            ExtentInfo.Info info = lookup(h, eb.bytenr(), level);
            wc.refs[level] = info.refs();
            wc.flags[level] = info.flags();
        }
        if (wc.stage == DROP_REFERENCE) {
            if (wc.refs[level] > 1) {
                return true;
            }
            wc.locked[level] = false;
            return false;
        }
        if ((wc.flags[level] & ExtentItem.FLAG_FULL_BACKREF) == 0) {
            modRefs(h, wc, eb, true, DelayedRefs.Action.ADD);
            modRefs(h, wc, eb, false, DelayedRefs.Action.DROP);
            trees.refs(h.transid()).setExtentFlags(eb.bytenr(), nodesize, level, ExtentItem.FLAG_FULL_BACKREF);
            wc.flags[level] |= ExtentItem.FLAG_FULL_BACKREF;
        }
        if (level > 0) {
            wc.locked[level] = false;
        }
        return false;
    }

    /** do_walk_down(): true when the child at the current slot was skipped (its reference dropped or left). */
    private boolean doWalkDown(TransHandle h, Walk wc) throws IOException {
        int level = wc.level;
        ExtentBuffer parent = wc.nodes[level];
        int slot = wc.slots[level];
        long generation = parent.ptrGeneration(slot);
        if (wc.stage == UPDATE_BACKREF && Long.compareUnsigned(generation, wc.originGen) <= 0) {
            // Older than this tree's origin: the snapshot's source owns it, nothing to convert.
            wc.lookupInfo = true;
            return true;
        }
        long bytenr = parent.blockptr(slot);
        ExtentInfo.Info info = lookup(h, bytenr, level - 1);
        wc.refs[level - 1] = info.refs();
        wc.flags[level - 1] = info.flags();
        wc.lookupInfo = false;
        if (!visitNode(wc, parent, info.flags(), slot)) {
            maybeDropReference(h, wc, bytenr);
            wc.refs[level - 1] = 0;
            wc.flags[level - 1] = 0;
            wc.lookupInfo = true;
            return true;
        }
        if (wc.stage == DROP_REFERENCE && wc.refs[level - 1] > 1) {
            wc.stage = UPDATE_BACKREF;
            wc.sharedLevel = level - 1;
        }
        ExtentBuffer next = reader.read(bytenr, TreeBlockReader.Expect.child(parent, slot));
        if (next.level() != level - 1) {
            next.release();
            throw new CorruptImageException("tree block " + Le.u64s(bytenr) + " has level " + next.level() + ", expect "
                    + (level - 1));
        }
        wc.level = level - 1;
        wc.nodes[level - 1] = next;
        wc.slots[level - 1] = 0;
        wc.locked[level - 1] = true;
        return false;
    }

    /** visit_node_for_delete(): whether the child at {@code slot} must be walked into. */
    private static boolean visitNode(Walk wc, ExtentBuffer eb, long childFlags, int slot) {
        int level = wc.level;
        assert level > 0 && wc.refs[level - 1] > 0 : "visit at level " + level;
        boolean childFull = (childFlags & ExtentItem.FLAG_FULL_BACKREF) != 0;
        if (wc.stage == UPDATE_BACKREF) {
            return !(level == 1 && childFull);
        }
        if (wc.refs[level - 1] == 1) {
            return true; // ours alone: everything below it goes
        }
        if (level == 1 && childFull) {
            return false; // a shared leaf already referenced by parent: just drop our reference
        }
        long generation = eb.ptrGeneration(slot);
        if (!wc.updateRef || Long.compareUnsigned(generation, wc.originGen) <= 0) {
            return false; // older than this tree: the source tree answers for its children
        }
        return eb.key(slot).compareTo(wc.updateProgress) >= 0; // below it: converted by an earlier step
    }

    /** maybe_drop_reference(): drops this tree's reference to the child at the current slot. */
    private void maybeDropReference(TransHandle h, Walk wc, long bytenr) throws IOException {
        if (wc.stage == UPDATE_BACKREF) {
            return;
        }
        int level = wc.level;
        long parent = 0;
        if ((wc.flags[level] & ExtentItem.FLAG_FULL_BACKREF) != 0) {
            parent = wc.nodes[level].bytenr();
        } else if (wc.nodes[level].owner() != wc.rootId) {
            throw new CorruptImageException("tree block " + Le.u64s(wc.nodes[level].bytenr()) + " of dead root "
                    + Le.u64s(wc.rootId) + " is owned by " + Le.u64s(wc.nodes[level].owner()) + " and not FULL_BACKREF");
        }
        h.markChanged();
        trees.refs(h.transid()).addTreeRef(bytenr, nodesize, level - 1, wc.rootId, parent, DelayedRefs.Action.DROP,
                false, null, h.transid());
        wc.work++;
    }

    /** walk_up_tree(): true when the walk is done (no slot left at any level below {@code maxLevel}). */
    private boolean walkUpTree(TransHandle h, Walk wc, int maxLevel) throws IOException {
        int level = wc.level;
        wc.slots[level] = wc.nodes[level].nritems();
        while (level < maxLevel && wc.nodes[level] != null) {
            wc.level = level;
            if (wc.slots[level] + 1 < wc.nodes[level].nritems()) {
                wc.slots[level]++;
                return false;
            }
            if (walkUpProc(h, wc)) {
                return false;
            }
            wc.nodes[level].release();
            wc.nodes[level] = null;
            wc.locked[level] = false;
            level++;
        }
        return true;
    }

    /** walk_up_proc(): true to stop walking up (walk down the current block again). */
    private boolean walkUpProc(TransHandle h, Walk wc) throws IOException {
        int level = wc.level;
        ExtentBuffer eb = wc.nodes[level];
        if (wc.stage == UPDATE_BACKREF) {
            assert wc.sharedLevel >= level : "shared level " + wc.sharedLevel + " below " + level;
            if (level < wc.sharedLevel) {
                wc.refs[level] = 0;
                wc.flags[level] = 0;
                return false;
            }
            DiskKey next = nextKey(wc, level + 1);
            if (next == null) {
                wc.updateRef = false;
            } else {
                wc.updateProgress = next;
            }
            wc.stage = DROP_REFERENCE;
            wc.sharedLevel = -1;
            wc.slots[level] = 0;
            if (!wc.locked[level]) {
                assert level > 0;
                wc.locked[level] = true;
                ExtentInfo.Info info = lookup(h, eb.bytenr(), level);
                wc.refs[level] = info.refs();
                wc.flags[level] = info.flags();
                if (wc.refs[level] == 1) {
                    wc.locked[level] = false;
                    return true; // the other holder let go meanwhile: it is ours alone, walk it down
                }
            }
        }
        assert wc.locked[level] || wc.refs[level] == 1 : "level " + level + " unlocked with refs " + wc.refs[level];
        if (wc.refs[level] == 1 && level == 0) {
            modRefs(h, wc, eb, (wc.flags[0] & ExtentItem.FLAG_FULL_BACKREF) != 0, DelayedRefs.Action.DROP);
        }
        // The reference to drop is held by the parent block (the root's by the ROOT_ITEM): keyed by
        // that block when it is FULL_BACKREF, else by this root, which must then own the holder.
        long parent = 0;
        boolean isRoot = level + 1 >= Header.MAX_LEVEL || wc.nodes[level + 1] == null;
        ExtentBuffer holder = isRoot ? eb : wc.nodes[level + 1];
        long upFlags = isRoot ? wc.flags[level] : wc.flags[level + 1];
        if ((upFlags & ExtentItem.FLAG_FULL_BACKREF) != 0) {
            parent = holder.bytenr();
        } else if (holder.owner() != wc.rootId) {
            throw new CorruptImageException("unexpected tree owner of block " + Le.u64s(holder.bytenr()) + ": have "
                    + Le.u64s(holder.owner()) + " expect " + Le.u64s(wc.rootId));
        }
        h.markChanged();
        trees.refs(h.transid()).addTreeRef(eb.bytenr(), nodesize, level, wc.rootId, parent, DelayedRefs.Action.DROP,
                false, null, h.transid());
        wc.work++;
        wc.refs[level] = 0;
        wc.flags[level] = 0;
        return false;
    }

    /** find_next_key(): the key of the next slot at {@code level} or above; null when the path is at the end. */
    private static DiskKey nextKey(Walk wc, int level) {
        for (int l = level; l < Header.MAX_LEVEL && wc.nodes[l] != null; l++) {
            if (wc.slots[l] + 1 < wc.nodes[l].nritems()) {
                return wc.nodes[l].key(wc.slots[l] + 1);
            }
        }
        return null;
    }

    /** __btrfs_mod_ref() on {@code eb}'s children, keyed by {@code eb} ({@code full}) or by this root. */
    private void modRefs(TransHandle h, Walk wc, ExtentBuffer eb, boolean full, DelayedRefs.Action action)
            throws IOException {
        h.markChanged();
        TreeBlockRefs.mod(trees.refs(h.transid()), eb, wc.rootId, full, action, h.transid(), nodesize);
    }

    /**
     * The end of a drop: the ROOT_ITEM (btrfs_del_root), then the orphan item and any ROOT_REF /
     * ROOT_BACKREF naming the tree (gone already when the deletion unlinked it).
     */
    private void finish(TransHandle h, long rootId, DiskKey rootItemKey) throws IOException {
        if (rootItemKey != null && !TreeItems.delete(trees, h, ObjectIds.ROOT_TREE, rootItemKey)) {
            throw new AssertionError("ROOT_ITEM " + rootItemKey + " vanished");
        }
        TreeItems.delete(trees, h, ObjectIds.ROOT_TREE, new DiskKey(ObjectIds.ORPHAN, ItemType.ORPHAN_ITEM, rootId));
        SubvolumeDeletion.deleteRootRefs(trees, h, rootId);
        trees.forgetRoot(rootId);
    }
}
