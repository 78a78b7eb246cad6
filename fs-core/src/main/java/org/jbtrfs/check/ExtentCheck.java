package org.jbtrfs.check;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.jbtrfs.CorruptImageException;
import org.jbtrfs.ctree.Item;
import org.jbtrfs.ctree.TreeRoot;
import org.jbtrfs.format.BlockGroupItem;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.ExtentDataRef;
import org.jbtrfs.format.ExtentItem;
import org.jbtrfs.format.Features;
import org.jbtrfs.format.ItemType;
import org.jbtrfs.format.Le;
import org.jbtrfs.format.ObjectIds;
import org.jbtrfs.format.U64Array;

/**
 * The extent tree against everything else (check_extent_refs(), check_block_groups() in
 * check/main.c; check_extent_item(), check_block_group_item() in check/mode-lowmem.c). The
 * extent tree is read in key order, that is by bytenr, and merged with the sorted
 * {@link RefTable} the tree walks filled, so each extent meets its referrers in one pass:
 * <ol>
 *   <li>Each extent item decodes; flags say DATA or TREE_BLOCK (FULL_BACKREF only with
 *       TREE_BLOCK); start and length are sector aligned, a tree block is nodesize long, its level
 *       and generation are the block's; extents do not overlap.</li>
 *   <li>The refs field equals the sum of its backrefs' counts, and is not 0.</li>
 *   <li>Every backref (inline or keyed) has exactly as many referrers as its count: tree blocks
 *       pointing at the block (TREE_BLOCK_REF by the parent's owner, SHARED_BLOCK_REF by a
 *       FULL_BACKREF parent), file extents pointing at the data (EXTENT_DATA_REF by root, inode,
 *       file offset minus extent offset; SHARED_DATA_REF by a FULL_BACKREF leaf); and every
 *       referrer has its backref. File extents name the extent's start and length exactly.</li>
 *   <li>One BLOCK_GROUP_ITEM per chunk, same start, length and flags; each extent lies inside one
 *       block group of its kind (DATA for data, METADATA or SYSTEM for tree blocks); a block
 *       group's used is the sum of its extents; the superblock's bytes_used is the sum of all.</li>
 *   <li>Per block group, the free space tree is checked against the extents ({@link FreeSpaceCheck});
 *       csums lie inside data extents ({@link CsumCheck#checkCoverage}).</li>
 * </ol>
 */
final class ExtentCheck {
    /** A chunk and what the checks learn about its block group. */
    static final class BlockGroup {
        final ChunkCheck.Chunk chunk;
        BlockGroupItem item;
        long usedByExtents;

        BlockGroup(ChunkCheck.Chunk chunk) {
            this.chunk = chunk;
        }

        long start() {
            return chunk.logical();
        }

        long end() {
            return chunk.end();
        }

        String describe() {
            return "block group " + Le.u64s(start()) + " (" + BlockGroupItem.flagsString(chunk.type()) + ", length "
                    + Le.u64s(chunk.length()) + ")";
        }
    }

    private final CheckContext ctx;
    private final boolean bgTree;
    private final List<BlockGroup> groups = new ArrayList<>();
    private final FreeSpaceCheck freeSpace;
    /** Extents of the block group at {@link #bgCursor}, for the free space check. */
    private final RangeList allocated = new RangeList();
    private final RangeList dataExtents = new RangeList();
    private int bgCursor;
    private long totalUsed;
    // The extent item being read and the keyed backrefs after it.
    private DiskKey curKey;
    private ExtentItem curItem;
    private final List<Backref> curKeyed = new ArrayList<>();
    private long prevStart;
    private long prevEnd;
    private int tuple;

    ExtentCheck(CheckContext ctx, FreeSpaceCheck freeSpace) {
        this.ctx = ctx;
        this.bgTree = (ctx.fs.superblock().compatRoFlags() & Features.COMPAT_RO_BLOCK_GROUP_TREE) != 0;
        this.freeSpace = freeSpace;
    }

    // ---------------------------------------------------------------- block group items

    /** One BLOCK_GROUP_ITEM per chunk, looked up by exact key (btrfs_read_block_groups). */
    void loadBlockGroups() throws IOException {
        TreeRoot root = ctx.globalRoot(bgTree ? ObjectIds.BLOCK_GROUP_TREE : ObjectIds.EXTENT_TREE);
        for (ChunkCheck.Chunk c : ctx.chunks.chunks()) {
            BlockGroup g = new BlockGroup(c);
            groups.add(g);
            Item it = root == null ? null
                    : ctx.lookup(root, new DiskKey(c.logical(), ItemType.BLOCK_GROUP_ITEM, c.length()), Areas.BLOCK_GROUP);
            if (it == null) {
                ctx.problem(Areas.BLOCK_GROUP, "chunk " + Le.u64s(c.logical()) + " (length " + Le.u64s(c.length())
                        + ") has no BLOCK_GROUP_ITEM");
                continue;
            }
            try {
                g.item = BlockGroupItem.decode(it.data(), 0, it.size());
            } catch (CorruptImageException e) {
                ctx.problem(Areas.BLOCK_GROUP, g.describe() + ": " + CheckContext.oneLine(e));
                continue;
            }
            ctx.counters.blockGroups++;
            if (g.item.flags() != c.type()) {
                ctx.problem(Areas.BLOCK_GROUP, g.describe() + ": flags " + BlockGroupItem.flagsString(g.item.flags())
                        + ", expect the chunk's");
            }
            if (g.item.chunkObjectid() != ObjectIds.FIRST_CHUNK_TREE) {
                ctx.problem(Areas.BLOCK_GROUP, g.describe() + ": chunk_objectid " + Le.u64s(g.item.chunkObjectid())
                        + ", expect 256");
            }
        }
    }

    /** A BLOCK_GROUP_ITEM met in a walk must be one of the chunks'. */
    private void strayBlockGroupItem(DiskKey key, String tree) {
        ChunkCheck.Chunk c = ctx.chunks.chunkAt(key.objectid());
        if (c == null || c.length() != key.offset()) {
            ctx.problem(Areas.BLOCK_GROUP, "BLOCK_GROUP_ITEM " + key + " in " + tree + " matches no chunk");
        }
    }

    /** Visitor for the block group tree walk (with the BLOCK_GROUP_TREE feature). */
    TreeWalker.LeafVisitor blockGroupTreeVisitor() {
        return (key, b, off, len) -> {
            if (key.type() == ItemType.BLOCK_GROUP_ITEM) {
                strayBlockGroupItem(key, "the block group tree");
            } else {
                ctx.problem(Areas.BLOCK_GROUP, "unexpected item " + key + " in the block group tree");
            }
        };
    }

    // ---------------------------------------------------------------- the merge

    /** Reads the extent tree in order, merging it with the references. Call after every walk. */
    void run() throws IOException {
        ctx.refs.sort();
        TreeRoot root = ctx.globalRoot(ObjectIds.EXTENT_TREE);
        if (root != null) {
            TreeWalker.streamItems(ctx, root, this::item);
        }
        finishExtent();
        orphansBefore(-1L, true);
        while (bgCursor < groups.size()) {
            finishBlockGroup(groups.get(bgCursor++));
        }
        long sbUsed = ctx.fs.superblock().bytesUsed();
        if (sbUsed != totalUsed) {
            ctx.problem(Areas.SUPERBLOCK, "bytes_used " + Le.u64s(sbUsed) + ", expect " + Le.u64s(totalUsed)
                    + " (sum of the extents in all block groups)");
        }
        new CsumCheck(ctx).checkCoverage(dataExtents);
    }

    private void item(DiskKey key, byte[] b, int off, int len) throws IOException {
        switch (key.type()) {
            case ItemType.EXTENT_ITEM, ItemType.METADATA_ITEM -> {
                finishExtent();
                curKey = key;
                curItem = null;
                curKeyed.clear();
                curItem = ExtentItem.decode(b, off, len, key.type() == ItemType.METADATA_ITEM);
            }
            case ItemType.TREE_BLOCK_REF, ItemType.SHARED_BLOCK_REF, ItemType.EXTENT_DATA_REF,
                    ItemType.SHARED_DATA_REF -> keyedRef(key, b, off, len);
            case ItemType.BLOCK_GROUP_ITEM -> {
                finishExtent();
                if (bgTree) {
                    ctx.problem(Areas.BLOCK_GROUP, "BLOCK_GROUP_ITEM " + key
                            + " in the extent tree, but the block group tree holds them");
                } else {
                    strayBlockGroupItem(key, "the extent tree");
                }
            }
            default -> {
                finishExtent();
                ctx.problem(Areas.EXTENT, "unexpected item " + key + " in the extent tree");
            }
        }
    }

    private void keyedRef(DiskKey key, byte[] b, int off, int len) throws CorruptImageException {
        if (curKey == null || curKey.objectid() != key.objectid()) {
            ctx.problem(Areas.EXTENT, "backref item " + key + " follows no extent item of its bytenr");
            return;
        }
        Backref r;
        switch (key.type()) {
            case ItemType.TREE_BLOCK_REF -> r = new Backref(RefTable.TREE_BLOCK_REF, key.offset(), 0, 0, 1);
            case ItemType.SHARED_BLOCK_REF -> r = new Backref(RefTable.SHARED_BLOCK_REF, key.offset(), 0, 0, 1);
            case ItemType.SHARED_DATA_REF -> r = new Backref(RefTable.SHARED_DATA_REF, key.offset(), 0, 0,
                    U64Array.decodeSharedDataRefCount(b, off, len));
            default -> {
                ExtentDataRef d = ExtentDataRef.decode(b, off, len);
                long hash = ExtentDataRef.hash(d.root(), d.objectid(), d.offset());
                if (hash != key.offset()) {
                    ctx.problem(Areas.EXTENT, "backref item " + key + ": key offset is not hash " + Le.u64s(hash)
                            + " of root " + Areas.treeName(d.root()) + " ino " + Le.u64s(d.objectid()) + " offset "
                            + Le.u64s(d.offset()));
                }
                r = new Backref(RefTable.EXTENT_DATA_REF, d.root(), d.objectid(), d.offset(), d.count());
            }
        }
        curKeyed.add(r);
    }

    private void finishExtent() throws IOException {
        if (curKey == null) {
            return;
        }
        DiskKey key = curKey;
        curKey = null;
        long bytenr = key.objectid();
        boolean skinny = key.type() == ItemType.METADATA_ITEM;
        boolean tree = skinny || (curItem != null && curItem.isTreeBlock());
        long length = skinny ? ctx.nodesize : key.offset();
        Supplier<String> what = () -> (tree ? "tree block " : "data extent ") + Le.u64s(bytenr) + " length " + Le.u64s(length);
        if (length == 0 || Long.compareUnsigned(bytenr + length, bytenr) < 0) {
            ctx.problem(Areas.EXTENT, what.get() + ": invalid length");
            return;
        }
        checkShape(key, what, tree, length);
        if (Long.compareUnsigned(bytenr, prevEnd) < 0) {
            ctx.problem(Areas.EXTENT, what.get() + " overlaps the extent at " + Le.u64s(prevStart) + " (ends at "
                    + Le.u64s(prevEnd) + ")");
        }
        if (tree) {
            ctx.counters.metadataExtents++;
        } else {
            ctx.counters.dataExtents++;
            dataExtents.append(bytenr, bytenr + length);
        }
        account(what, bytenr, length, tree);
        orphansBefore(bytenr, false);
        int from = tuple;
        while (tuple < ctx.refs.size() && ctx.refs.bytenr(tuple) == bytenr) {
            tuple++;
        }
        if (curItem != null) {
            new BackrefMatch(ctx, what, key, curItem, curKeyed, from, tuple, length, tree).run();
        }
        prevStart = bytenr;
        prevEnd = bytenr + length;
    }

    /** Flags, alignment, size and generation of an extent item. */
    private void checkShape(DiskKey key, Supplier<String> what, boolean tree, long length) {
        long sector = ctx.sectorsize;
        if (Long.remainderUnsigned(key.objectid(), sector) != 0 || Long.remainderUnsigned(length, sector) != 0) {
            ctx.problem(Areas.EXTENT, what.get() + ": not aligned to " + sector);
        }
        if (key.type() == ItemType.METADATA_ITEM && !ctx.skinnyMetadata) {
            ctx.problem(Areas.EXTENT, what.get() + ": METADATA_ITEM without the SKINNY_METADATA feature");
        }
        if (tree && length != ctx.nodesize) {
            ctx.problem(Areas.EXTENT, what.get() + ": a tree block must be nodesize (" + ctx.nodesize + ") long");
        }
        if (curItem == null) {
            return;
        }
        long flags = curItem.flags();
        boolean data = (flags & ExtentItem.FLAG_DATA) != 0;
        if (data == curItem.isTreeBlock() || (key.type() == ItemType.METADATA_ITEM && data)
                || (data && (flags & ExtentItem.FLAG_FULL_BACKREF) != 0)) {
            ctx.problem(Areas.EXTENT, what.get() + ": invalid flags 0x" + Long.toHexString(flags));
        }
        if (Long.compareUnsigned(curItem.generation(), ctx.superGeneration) > 0) {
            ctx.problem(Areas.EXTENT, what.get() + ": generation " + Le.u64s(curItem.generation()) + " above the superblock's "
                    + Le.u64s(ctx.superGeneration));
        }
    }

    /** Puts an extent into its block group: type, bounds, used and the allocated ranges. */
    private void account(Supplier<String> what, long bytenr, long length, boolean tree) throws IOException {
        while (bgCursor < groups.size() && Long.compareUnsigned(groups.get(bgCursor).end(), bytenr) <= 0) {
            finishBlockGroup(groups.get(bgCursor++));
        }
        if (bgCursor == groups.size() || Long.compareUnsigned(groups.get(bgCursor).start(), bytenr) > 0) {
            ctx.problem(Areas.EXTENT, what.get() + " lies in no block group");
            return;
        }
        BlockGroup g = groups.get(bgCursor);
        long end = bytenr + length;
        if (Long.compareUnsigned(end, g.end()) > 0) {
            ctx.problem(Areas.EXTENT, what.get() + " runs past the end of " + g.describe());
            end = g.end();
        }
        long want = tree ? BlockGroupItem.METADATA | BlockGroupItem.SYSTEM : BlockGroupItem.DATA;
        if ((g.chunk.type() & want) == 0) {
            ctx.problem(Areas.EXTENT, what.get() + " lies in " + g.describe() + ", expect a "
                    + (tree ? "METADATA or SYSTEM" : "DATA") + " block group");
        }
        g.usedByExtents += length;
        allocated.append(bytenr, end);
    }

    private void finishBlockGroup(BlockGroup g) throws IOException {
        totalUsed += g.usedByExtents;
        if (g.item != null && g.item.used() != g.usedByExtents) {
            ctx.problem(Areas.BLOCK_GROUP, g.describe() + ": used " + Le.u64s(g.item.used()) + ", expect "
                    + Le.u64s(g.usedByExtents) + " (sum of its extents)");
        }
        if (freeSpace != null) {
            freeSpace.checkBlockGroup(g, allocated);
        }
        allocated.clear();
    }

    /**
     * References to addresses below {@code bytenr} (all that are left when {@code all}) found no
     * extent item: the tree block or file extent points at unallocated space or into the middle
     * of an extent.
     */
    private void orphansBefore(long bytenr, boolean all) {
        RefTable t = ctx.refs;
        while (tuple < t.size() && (all || Long.compareUnsigned(t.bytenr(tuple), bytenr) < 0)) {
            int from = tuple;
            long at = t.bytenr(tuple);
            while (tuple < t.size() && t.bytenr(tuple) == at) {
                tuple++;
            }
            for (int i = from; i < tuple; i++) {
                if (i > from && t.sameRef(i - 1, i)) {
                    continue;
                }
                Backref r = Backref.of(t, i);
                if (r.root() != 0 && ctx.skippedTrees.contains(r.root())) {
                    continue;
                }
                boolean inside = Long.compareUnsigned(at, prevStart) > 0 && Long.compareUnsigned(at, prevEnd) < 0;
                ctx.problem(Areas.EXTENT, (r.isTreeRef() ? "tree block " : "data extent ") + Le.u64s(at)
                        + " is referred to (" + r.describe() + ") but has no extent item"
                        + (inside ? "; it points inside the extent at " + Le.u64s(prevStart) : ""));
            }
        }
    }
}
