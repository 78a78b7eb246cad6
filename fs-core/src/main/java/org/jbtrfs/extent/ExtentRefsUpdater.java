package org.jbtrfs.extent;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.jbtrfs.CorruptImageException;
import org.jbtrfs.ctree.CowBTree;
import org.jbtrfs.ctree.CowRoot;
import org.jbtrfs.ctree.ExtentBuffer;
import org.jbtrfs.ctree.Item;
import org.jbtrfs.ctree.Path;
import org.jbtrfs.ctree.TreeRoot;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.ExtentItem;
import org.jbtrfs.format.ExtentItem.InlineRef;
import org.jbtrfs.format.ItemType;
import org.jbtrfs.format.Le;

/**
 * The extent tree side of running delayed refs: the ref-updating parts of extent-tree.c —
 * alloc_reserved_tree_block and alloc_reserved_file_extent (a new extent item),
 * __btrfs_inc_extent_ref with insert_inline_extent_backref and the keyed inserts (add),
 * __btrfs_free_extent with update_inline_extent_backref and the keyed removals (drop), and
 * run_delayed_extent_op (flags).
 *
 * <h2>Inline or keyed</h2>
 * A new backref goes inline, in the kernel's order ({@link BackrefCodec}), when the extent item
 * stays below {@link BackrefCodec#maxExtentItemSize} and no keyed backref of the extent exists yet
 * (lookup_inline_extent_backref: "we just do not add new inline back ref if there is any kind of
 * item for this block", checked like find_next_key on the item after the extent item). Otherwise it
 * becomes its own item; the extent item's {@code refs} counts both kinds, always.
 *
 * <h2>Checking before changing</h2>
 * Each change first reads what it needs — the extent item, the inline or keyed backref — and
 * checks that it applies (the backref exists and holds enough references, a tree block ref is not
 * there twice, no count overflows, no other backref outlives the last reference). Only then does it
 * modify the tree. So a ref that does not apply aborts with the tree as the previous ref of the
 * head left it. (An IO error in the middle of the modification may still leave one change half
 * done; the abort makes that harmless, the tree is never committed.)
 *
 * <p>Every method runs with the extent root's write lock held, by the runner owning the head.
 */
final class ExtentRefsUpdater {
    private final CowBTree cow;
    private final ExtentAccounting accounting;
    /** Told after extentFreed of a data extent: its csums go (btrfs_del_csums in __btrfs_free_extent). */
    private final DataExtentFreedListener dataFreed;
    private final BackrefCodec.DataRefHash hash;
    private final int maxExtentItemSize;

    /** What one head's run did so far, over its rounds: for the observer and for abort bookkeeping. */
    static final class HeadProgress {
        /** The extent's refs before the run; -1 until the item was first seen, 0 if the run created it. */
        long refsBefore = -1;
        long refsAfter;
        /** The current round still has to create the extent item (must_insert_reserved). */
        boolean insertPending;
        /** The run deleted the extent item (its last reference went). */
        boolean deleted;
        final List<DelayedRefObserver.AppliedRef> changes = new ArrayList<>();
    }

    /** The extent item found for a head: key, decoded item and size; the path points at it. */
    private record Found(DiskKey key, ExtentItem item, int size) {
    }

    ExtentRefsUpdater(CowBTree cow, ExtentAccounting accounting, BackrefCodec.DataRefHash hash,
            DataExtentFreedListener dataFreed) {
        this.cow = cow;
        this.accounting = accounting;
        this.dataFreed = dataFreed;
        this.hash = hash;
        this.maxExtentItemSize = BackrefCodec.maxExtentItemSize(cow.reader().reader().nodesize());
    }

    /**
     * Applies one round of a head (btrfs_run_delayed_refs_for_head and cleanup_ref_head): adds
     * first, the first add creating the extent item if the head must insert it, then drops, then
     * the flag update.
     */
    void apply(long transid, CowRoot root, DelayedRefs.HeadWork w, HeadProgress pr) throws IOException {
        assert root.lock.isWriteLockedByCurrentThread() : "extent root not write locked";
        DelayedRefHead h = w.head();
        pr.insertPending = w.mustInsertReserved();
        boolean opPending = w.hasExtentOp();
        if (pr.insertPending && !w.nodes().isEmpty() && w.nodes().get(0).action != DelayedRefs.Action.ADD) {
            throw abort(w, "newly allocated, but only drops are queued: " + w.nodes());
        }
        for (DelayedRefNode n : w.nodes()) {
            if (!h.isData && n.refMod != 1) {
                throw abort(w, "tree block has " + n.refMod + " references rather than 1: " + n);
            }
            if (n.action == DelayedRefs.Action.ADD && pr.insertPending) {
                insertNewExtent(transid, root, w, n, opPending ? w.flagsToSet() : 0, pr);
                opPending = false;
            } else if (n.action == DelayedRefs.Action.ADD) {
                incRef(transid, root, w, n, pr);
            } else {
                dropRef(transid, root, w, n, pr);
            }
        }
        if (pr.insertPending) {
            // Every ref of the new extent cancelled out. cleanup_ref_head pins the reserved range; the
            // accounting interface knows allocated and freed, and the two together do the same:
            // reserved -> used -> pinned until the commit, the free space tree untouched in net.
            assert w.nodes().isEmpty() : w.nodes();
            accounting.extentAllocated(transid, h.bytenr, w.numBytes(), !h.isData);
            accounting.extentFreed(transid, h.bytenr, w.numBytes(), !h.isData);
            if (h.isData) {
                // Written and checksummed, then overwritten before its refs ran: the csums go too.
                dataFreed.dataExtentFreed(transid, h.bytenr, w.numBytes());
            }
            pr.insertPending = false;
            opPending = false;
            if (pr.refsBefore < 0) {
                pr.refsBefore = 0;
            }
        }
        if (opPending) {
            applyExtentOp(transid, root, w, pr);
        }
    }

    // ---- new extent items -------------------------------------------------------------------

    /** alloc_reserved_tree_block / alloc_reserved_file_extent: the extent item with its first backref. */
    private void insertNewExtent(long transid, CowRoot root, DelayedRefs.HeadWork w, DelayedRefNode n, long flags,
            HeadProgress pr) throws IOException {
        DelayedRefHead h = w.head();
        requireNoExtentItem(root, w, n);
        DiskKey key;
        ExtentItem item;
        if (h.isData) {
            checkCount(w, n, n.refMod);
            key = new DiskKey(h.bytenr, ItemType.EXTENT_ITEM, w.numBytes());
            item = new ExtentItem(n.refMod, w.generation(), flags | ExtentItem.FLAG_DATA, null, -1,
                    List.of(BackrefCodec.toInline(n.key, n.refMod)));
        } else {
            key = new DiskKey(h.bytenr, ItemType.METADATA_ITEM, h.level);
            item = new ExtentItem(1, w.generation(), flags | ExtentItem.FLAG_TREE_BLOCK, null, -1,
                    List.of(BackrefCodec.toInline(n.key, 1)));
        }
        assert BackrefCodec.extentItemOk(key, item, hash);
        boolean inserted = cow.insertItem(transid, root, key, item.encode());
        assert inserted : key + " appeared after it was checked absent";
        pr.insertPending = false;
        pr.deleted = false;
        if (pr.refsBefore < 0) {
            pr.refsBefore = 0;
        }
        accounting.extentAllocated(transid, h.bytenr, w.numBytes(), !h.isData);
        record(pr, n.key, n.refMod, item.refs());
    }

    /** An extent being created must not have an item of either form already (a double allocation). */
    private void requireNoExtentItem(CowRoot root, DelayedRefs.HeadWork w, DelayedRefNode n) throws IOException {
        long bytenr = w.head().bytenr;
        DiskKey[] found = {null};
        cow.reader().scan(root.current(), new DiskKey(bytenr, ItemType.EXTENT_ITEM, 0),
                new DiskKey(bytenr, ItemType.METADATA_ITEM, -1L), (key, data, off, len) -> {
                    found[0] = key;
                    return false;
                });
        if (found[0] != null) {
            throw abort(w, "newly allocated extent " + n + ", but " + found[0] + " exists (have 1 extent item, expect 0)");
        }
    }

    // ---- adding a reference -----------------------------------------------------------------

    /** __btrfs_inc_extent_ref(): adds the node's references inline when they fit, else keyed. */
    private void incRef(long transid, CowRoot root, DelayedRefs.HeadWork w, DelayedRefNode n, HeadProgress pr)
            throws IOException {
        DelayedRefHead h = w.head();
        DelayedRefKey want = n.key;
        int refSize = BackrefCodec.inlineRefSize(want.type());
        BackrefCodec.Keyed keyed;
        long refs;
        long keyedCount;
        try (Path p = new Path()) {
            Found f = searchExtentItem(transid, root, w, p, 0, refSize);
            if (f == null) {
                throw abort(w, "add of " + n + ": no extent item, and the extent was not newly allocated");
            }
            noteBefore(pr, f.item);
            refs = addRefs(w, n, f.item.refs());
            List<InlineRef> inl = f.item.inlineRefs();
            int idx = BackrefCodec.findInline(inl, want, hash);
            if (idx >= 0) {
                if (!h.isData) {
                    throw abort(w, "add of " + n + ": the tree block already has this backref inline (have 1, expect 0)");
                }
                long count = addCount(w, n, BackrefCodec.count(inl.get(idx)));
                rewrite(p, f, withRefs(f.item, refs, replaced(inl, idx, BackrefCodec.toInline(want, count))));
                record(pr, want, n.refMod, refs);
                return;
            }
            if (f.size + refSize < maxExtentItemSize && !keyedRefsFollow(root, p, h.bytenr)) {
                checkCount(w, n, n.refMod);
                rewrite(p, f, withRefs(f.item, refs, inserted(inl, -idx - 1, BackrefCodec.toInline(want, n.refMod))));
                record(pr, want, n.refMod, refs);
                return;
            }
            keyed = lookupKeyed(root, h.bytenr, want);
            if (keyed != null && !h.isData) {
                throw abort(w, "add of " + n + ": the tree block already has keyed backref " + keyed.key() + " (have 1, expect 0)");
            }
            keyedCount = keyed == null ? n.refMod : addCount(w, n, keyed.count());
            checkCount(w, n, keyedCount);
            setRefs(p, refs);
        }
        if (keyed == null) {
            insertKeyed(transid, root, h.bytenr, want, keyedCount);
        } else {
            setKeyedCount(transid, root, keyed.key(), keyedCount);
        }
        record(pr, want, n.refMod, refs);
    }

    /**
     * find_next_key() after the extent item, as lookup_inline_extent_backref uses it: whether any
     * item of the same bytenr below BLOCK_GROUP_ITEM follows, which means keyed backrefs exist.
     */
    private boolean keyedRefsFollow(CowRoot root, Path p, long bytenr) throws IOException {
        ExtentBuffer leaf = p.leaf();
        int slot = p.slot();
        if (slot + 1 < leaf.nritems()) {
            DiskKey next = leaf.key(slot + 1);
            return next.objectid() == bytenr && next.type() < ItemType.BLOCK_GROUP_ITEM;
        }
        DiskKey here = leaf.key(slot);
        boolean[] found = {false};
        cow.reader().scan(root.current(), new DiskKey(bytenr, here.type(), here.offset() + 1),
                new DiskKey(bytenr, ItemType.BLOCK_GROUP_ITEM - 1, -1L), (key, data, off, len) -> {
                    found[0] = true;
                    return false;
                });
        return found[0];
    }

    // ---- dropping a reference ---------------------------------------------------------------

    /**
     * __btrfs_free_extent(): drops the node's references from the inline or keyed backref; when
     * the extent's total reaches zero, deletes the extent item (and the keyed backref that held
     * the last reference) and tells the accounting.
     */
    private void dropRef(long transid, CowRoot root, DelayedRefs.HeadWork w, DelayedRefNode n, HeadProgress pr)
            throws IOException {
        DelayedRefHead h = w.head();
        DelayedRefKey want = n.key;
        long drop = n.refMod;
        BackrefCodec.Keyed keyed = null;
        long refs;
        try (Path p = new Path()) {
            Found f = searchExtentItem(transid, root, w, p, -1, 0);
            if (f == null) {
                throw abort(w, "drop of " + n + ": no extent item (have 0 references, expect " + drop + ")");
            }
            noteBefore(pr, f.item);
            if (Long.compareUnsigned(f.item.refs(), drop) < 0) {
                throw abort(w, "drop of " + n + ": the extent holds fewer references (have "
                        + Long.toUnsignedString(f.item.refs()) + ", expect at least " + drop + ")");
            }
            refs = f.item.refs() - drop;
            List<InlineRef> inl = f.item.inlineRefs();
            int idx = BackrefCodec.findInline(inl, want, hash);
            if (idx >= 0) {
                long have = BackrefCodec.count(inl.get(idx));
                if (have < drop) {
                    throw abort(w, "drop of " + n + ": the inline backref holds fewer (have " + have + ", expect at least " + drop + ")");
                }
                if (refs == 0) {
                    requireNoKeyedRefs(root, w, n, null);
                    cow.deleteItems(transid, root, p, p.slot(), 1);
                } else {
                    List<InlineRef> next = have == drop ? removed(inl, idx)
                            : replaced(inl, idx, BackrefCodec.toInline(want, have - drop));
                    rewrite(p, f, withRefs(f.item, refs, next));
                }
            } else {
                keyed = lookupKeyed(root, h.bytenr, want);
                long have = keyed == null ? 0 : keyed.count();
                if (keyed == null) {
                    throw abort(w, "drop of " + n + ": backref not found (have 0, expect " + drop + ")");
                }
                if (have < drop || (refs == 0 && have != drop)) {
                    throw abort(w, "drop of " + n + ": keyed backref " + keyed.key() + " holds "
                            + (have < drop ? "fewer (have " + have + ", expect at least " + drop + ")"
                                    : "more than the extent's total (have " + have + ", expect exactly " + drop + ")"));
                }
                if (refs == 0) {
                    requireNoKeyedRefs(root, w, n, keyed.key());
                    cow.deleteItems(transid, root, p, p.slot(), 1);
                } else {
                    setRefs(p, refs);
                }
            }
        }
        if (keyed != null) {
            if (keyed.count() == drop) {
                boolean deleted = cow.deleteItem(transid, root, keyed.key());
                assert deleted : keyed.key() + " vanished";
            } else {
                setKeyedCount(transid, root, keyed.key(), keyed.count() - drop);
            }
        }
        record(pr, want, -drop, refs);
        if (refs == 0) {
            pr.deleted = true;
            accounting.extentFreed(transid, h.bytenr, w.numBytes(), !h.isData);
            if (h.isData) {
                dataFreed.dataExtentFreed(transid, h.bytenr, w.numBytes());
            }
        }
    }

    /**
     * Before the extent item goes: no keyed backref other than {@code allowed} (the one holding the
     * last reference) may remain, else the refs total lied and the backref would be orphaned.
     */
    private void requireNoKeyedRefs(CowRoot root, DelayedRefs.HeadWork w, DelayedRefNode n, DiskKey allowed)
            throws IOException {
        long bytenr = w.head().bytenr;
        DiskKey[] other = {null};
        cow.reader().scan(root.current(), new DiskKey(bytenr, ItemType.TREE_BLOCK_REF, 0),
                new DiskKey(bytenr, ItemType.SHARED_DATA_REF, -1L), (key, data, off, len) -> {
                    if (!key.equals(allowed)) {
                        other[0] = key;
                        return false;
                    }
                    return true;
                });
        if (other[0] != null) {
            throw abort(w, "drop of " + n + " takes the extent's refs to 0, but backref " + other[0]
                    + " remains (have refs 0, expect more)");
        }
    }

    // ---- flags ------------------------------------------------------------------------------

    /** run_delayed_extent_op(): ORs the pending flags into the existing extent item. */
    private void applyExtentOp(long transid, CowRoot root, DelayedRefs.HeadWork w, HeadProgress pr) throws IOException {
        try (Path p = new Path()) {
            Found f = searchExtentItem(transid, root, w, p, 0, 0);
            if (f == null) {
                if (pr.deleted) {
                    return; // the last reference went in this run; the flags went with the item
                }
                throw abort(w, "flag update 0x" + Long.toHexString(w.flagsToSet()) + ": no extent item");
            }
            noteBefore(pr, f.item);
            long flags = f.item.flags() | w.flagsToSet();
            ExtentItem updated = new ExtentItem(f.item.refs(), f.item.generation(), flags, f.item.treeBlockKey(),
                    f.item.treeBlockLevel(), f.item.inlineRefs());
            try {
                BackrefCodec.checkExtentItem(f.key, updated, hash);
            } catch (CorruptImageException e) {
                throw abort(w, "flag update 0x" + Long.toHexString(w.flagsToSet()) + " does not fit: " + e.getMessage());
            }
            ExtentBuffer leaf = p.leaf();
            Le.putU64(leaf.data(), leaf.itemDataOffset(p.slot()) + 16, flags);
            pr.refsAfter = f.item.refs();
        }
    }

    // ---- extent item access -----------------------------------------------------------------

    /**
     * Searches for writing the extent item of the head: (bytenr METADATA_ITEM level) for a tree
     * block, falling back to the fat (bytenr EXTENT_ITEM num_bytes) of images without skinny
     * metadata; (bytenr EXTENT_ITEM num_bytes) for data. Null when there is none.
     */
    private Found searchExtentItem(long transid, CowRoot root, DelayedRefs.HeadWork w, Path p, int insLen, int extend)
            throws IOException {
        DelayedRefHead h = w.head();
        if (!h.isData) {
            DiskKey skinny = new DiskKey(h.bytenr, ItemType.METADATA_ITEM, h.level);
            if (cow.searchForWrite(transid, root, skinny, p, insLen, extend)) {
                return decodeAt(w, p, skinny);
            }
        }
        DiskKey fat = new DiskKey(h.bytenr, ItemType.EXTENT_ITEM, w.numBytes());
        if (cow.searchForWrite(transid, root, fat, p, insLen, extend)) {
            return decodeAt(w, p, fat);
        }
        return null;
    }

    private Found decodeAt(DelayedRefs.HeadWork w, Path p, DiskKey key) throws CorruptImageException {
        ExtentBuffer leaf = p.leaf();
        int size = leaf.itemSize(p.slot());
        if (size < ExtentItem.SIZE) {
            throw new CorruptImageException("extent item " + key + " has " + size + " bytes, expect at least "
                    + ExtentItem.SIZE + " (a v0 extent item?)");
        }
        ExtentItem ei = ExtentItem.decode(leaf.data(), leaf.itemDataOffset(p.slot()), size,
                key.type() == ItemType.METADATA_ITEM);
        BackrefCodec.checkExtentItem(key, ei, hash);
        DelayedRefHead h = w.head();
        boolean data = (ei.flags() & ExtentItem.FLAG_DATA) != 0;
        if (data != h.isData || (!data && key.type() == ItemType.EXTENT_ITEM && ei.treeBlockLevel() != h.level)) {
            throw new CorruptImageException("extent item " + key + " is for a " + (data ? "data extent" : "tree block of level "
                    + ei.treeBlockLevel()) + ", the refs are for " + h);
        }
        return new Found(key, ei, size);
    }

    /** Replaces the item at the path by {@code item}, growing or shrinking it in place. */
    private void rewrite(Path p, Found f, ExtentItem item) {
        assert BackrefCodec.extentItemOk(f.key, item, hash);
        byte[] enc = item.encode();
        if (enc.length > f.size) {
            cow.extendItem(p, enc.length - f.size);
        } else if (enc.length < f.size) {
            cow.truncateItem(p, enc.length, true);
        }
        ExtentBuffer leaf = p.leaf();
        assert leaf.isDirty() && leaf.itemSize(p.slot()) == enc.length;
        System.arraycopy(enc, 0, leaf.data(), leaf.itemDataOffset(p.slot()), enc.length);
    }

    private static void setRefs(Path p, long refs) {
        ExtentBuffer leaf = p.leaf();
        assert leaf.isDirty() && refs != 0;
        Le.putU64(leaf.data(), leaf.itemDataOffset(p.slot()), refs);
    }

    private static ExtentItem withRefs(ExtentItem ei, long refs, List<InlineRef> inline) {
        return new ExtentItem(refs, ei.generation(), ei.flags(), ei.treeBlockKey(), ei.treeBlockLevel(), List.copyOf(inline));
    }

    private static List<InlineRef> replaced(List<InlineRef> l, int i, InlineRef r) {
        List<InlineRef> c = new ArrayList<>(l);
        c.set(i, r);
        return c;
    }

    private static List<InlineRef> inserted(List<InlineRef> l, int i, InlineRef r) {
        List<InlineRef> c = new ArrayList<>(l.size() + 1);
        c.addAll(l);
        c.add(i, r);
        return c;
    }

    private static List<InlineRef> removed(List<InlineRef> l, int i) {
        List<InlineRef> c = new ArrayList<>(l);
        c.remove(i);
        return c;
    }

    // ---- keyed backrefs ---------------------------------------------------------------------

    /**
     * lookup_tree_block_ref / lookup_extent_data_ref: the keyed form of {@code want}, or null. A
     * keyed EXTENT_DATA_REF is looked for from its hash on over every EXTENT_DATA_REF of the extent,
     * since collisions move refs to later offsets and deletes leave gaps.
     */
    private BackrefCodec.Keyed lookupKeyed(CowRoot root, long bytenr, DelayedRefKey want) throws IOException {
        TreeRoot cur = root.current();
        if (want.type() != ItemType.EXTENT_DATA_REF) {
            DiskKey key = BackrefCodec.keyedKey(bytenr, want, 0);
            Item it = cow.reader().lookup(cur, key);
            return it == null ? null : BackrefCodec.decodeKeyed(key, it.data(), 0, it.size());
        }
        BackrefCodec.Keyed[] found = {null};
        long h = hash.hash(want.root(), want.objectid(), want.offset());
        cow.reader().scan(cur, new DiskKey(bytenr, ItemType.EXTENT_DATA_REF, h),
                new DiskKey(bytenr, ItemType.EXTENT_DATA_REF, -1L), (key, data, off, len) -> {
                    BackrefCodec.Keyed k = BackrefCodec.decodeKeyed(key, data, off, len);
                    if (k.ref().equals(want)) {
                        found[0] = k;
                        return false;
                    }
                    return true;
                });
        return found[0];
    }

    /** insert_tree_block_ref / insert_extent_data_ref for a backref not yet in the tree. */
    private void insertKeyed(long transid, CowRoot root, long bytenr, DelayedRefKey want, long count) throws IOException {
        long offset = 0;
        if (want.type() == ItemType.EXTENT_DATA_REF) {
            offset = hash.hash(want.root(), want.objectid(), want.offset());
            while (cow.reader().lookup(root.current(), new DiskKey(bytenr, ItemType.EXTENT_DATA_REF, offset)) != null) {
                offset++; // a collision: the next free offset, as insert_extent_data_ref does
            }
        }
        DiskKey key = BackrefCodec.keyedKey(bytenr, want, offset);
        boolean inserted = cow.insertItem(transid, root, key, BackrefCodec.encodeKeyed(want, count));
        assert inserted : key + " exists although the lookup did not find " + want;
    }

    private void setKeyedCount(long transid, CowRoot root, DiskKey key, long count) throws IOException {
        int countOff = BackrefCodec.keyedCountOffset(key.type());
        assert countOff >= 0 && count > 0 && count <= BackrefCodec.MAX_DATA_REF_COUNT : key + " count " + count;
        try (Path p = new Path()) {
            boolean found = cow.searchForWrite(transid, root, key, p, 0, 0);
            assert found : key + " vanished";
            ExtentBuffer leaf = p.leaf();
            Le.putU32(leaf.data(), leaf.itemDataOffset(p.slot()) + countOff, count);
        }
    }

    // ---- counting ---------------------------------------------------------------------------

    private static void noteBefore(HeadProgress pr, ExtentItem ei) {
        if (pr.refsBefore < 0) {
            pr.refsBefore = ei.refs();
        }
    }

    private static void record(HeadProgress pr, DelayedRefKey key, long delta, long refsAfter) {
        pr.changes.add(new DelayedRefObserver.AppliedRef(key, delta));
        pr.refsAfter = refsAfter;
    }

    /** The extent's refs after adding the node's; a u64 that must not wrap. */
    private static long addRefs(DelayedRefs.HeadWork w, DelayedRefNode n, long refs) throws TransactionAbortException {
        long sum = refs + n.refMod;
        if (Long.compareUnsigned(sum, refs) < 0) {
            throw abort(w, "add of " + n + ": the extent's refs overflow (have " + Long.toUnsignedString(refs) + ")");
        }
        return sum;
    }

    private long addCount(DelayedRefs.HeadWork w, DelayedRefNode n, long have) throws TransactionAbortException {
        long sum = have + n.refMod;
        checkCount(w, n, sum);
        return sum;
    }

    /** A data backref's count is a u32 on disk. */
    private void checkCount(DelayedRefs.HeadWork w, DelayedRefNode n, long count) throws TransactionAbortException {
        if (count <= 0 || count > BackrefCodec.MAX_DATA_REF_COUNT) {
            throw abort(w, "add of " + n + ": the backref count overflows (have " + (count - n.refMod) + ", max "
                    + BackrefCodec.MAX_DATA_REF_COUNT + ")");
        }
    }

    static TransactionAbortException abort(DelayedRefs.HeadWork w, String what) {
        DelayedRefHead h = w.head();
        return new TransactionAbortException(h.bytenr, "delayed ref of extent " + Long.toUnsignedString(h.bytenr) + " ("
                + w.numBytes() + " bytes, " + (h.isData ? "data" : "tree block level " + h.level) + "): " + what);
    }
}
