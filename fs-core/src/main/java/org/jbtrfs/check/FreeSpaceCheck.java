package org.jbtrfs.check;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.jbtrfs.CorruptImageException;
import org.jbtrfs.ctree.TreeRoot;
import org.jbtrfs.format.ChunkItem;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.FreeSpaceInfo;
import org.jbtrfs.format.ItemType;
import org.jbtrfs.format.Le;
import org.jbtrfs.format.ObjectIds;
import org.jbtrfs.format.Superblock;

/**
 * The free space tree against the extent tree, block group by block group (check_free_space_tree()
 * and verify_space_cache() in check/main.c, load_free_space_extents/bitmaps in
 * kernel-shared/free-space-tree.c):
 * <ol>
 *   <li>Each block group has a FREE_SPACE_INFO keyed (start FREE_SPACE_INFO length), then only
 *       FREE_SPACE_EXTENTs or only FREE_SPACE_BITMAPs (as its USING_BITMAPS flag says), inside the
 *       block group, not overlapping; a bitmap is one bit per sector.</li>
 *   <li>extent_count is the number of free extents (extent items, or runs of set bits).</li>
 *   <li>The free space is exactly the block group minus its extents (tree blocks are nodesize
 *       long). The ranges where a superblock copy lives are left out of the comparison: the kernel
 *       never allocates there, and whether the tree lists them as free depends on who made the
 *       block group.</li>
 * </ol>
 * A FREE_SPACE_INFO whose block group no longer exists is only a warning: mkfs.btrfs 6.2 leaves
 * those behind for its temporary chunks, and btrfs check accepts them.
 */
final class FreeSpaceCheck {
    /** Differences listed per block group; the rest are counted in one line. */
    static final int DIFFERENCES_SHOWN = 3;
    /** What the kernel excludes around a superblock copy (btrfs_rmap_block's stripe length). */
    private static final long SUPER_EXCLUDE_BYTES = 64 * 1024;

    private final CheckContext ctx;
    private final TreeRoot root;
    private DiskKey lastInfo;

    FreeSpaceCheck(CheckContext ctx, TreeRoot root) {
        this.ctx = ctx;
        this.root = root;
    }

    /** Visitor for the free space tree walk: stale and stray items. */
    TreeWalker.LeafVisitor visitor() {
        return (key, b, off, len) -> {
            switch (key.type()) {
                case ItemType.FREE_SPACE_INFO -> {
                    lastInfo = key;
                    ChunkCheck.Chunk c = ctx.chunks.chunkAt(key.objectid());
                    if (c == null || c.length() != key.offset()) {
                        ctx.warning(Areas.FREE_SPACE, "FREE_SPACE_INFO " + key + " belongs to no block group"
                                + " (left behind by a removed chunk)");
                    }
                }
                case ItemType.FREE_SPACE_EXTENT, ItemType.FREE_SPACE_BITMAP -> {
                    if (lastInfo == null || Long.compareUnsigned(key.objectid(), lastInfo.objectid()) < 0
                            || Long.compareUnsigned(key.objectid() + key.offset(),
                                    lastInfo.objectid() + lastInfo.offset()) > 0) {
                        ctx.problem(Areas.FREE_SPACE, key + " lies outside the block group of the FREE_SPACE_INFO"
                                + " before it");
                    }
                }
                default -> ctx.problem(Areas.FREE_SPACE, "unexpected item " + key + " in the free space tree");
            }
        };
    }

    /** Compares the tree's free space in block group {@code g} with the complement of {@code allocated}. */
    void checkBlockGroup(ExtentCheck.BlockGroup g, RangeList allocated) throws IOException {
        Reader r = new Reader(g);
        try {
            ctx.btree().scan(root, new DiskKey(g.start(), 0, 0), new DiskKey(g.end() - 1, 0xff, -1L), r::item);
        } catch (CorruptImageException e) {
            ctx.problem(Areas.FREE_SPACE, g.describe() + ": the free space tree cannot be read: " + CheckContext.oneLine(e));
            return;
        }
        if (r.info == null) {
            ctx.problem(Areas.FREE_SPACE, g.describe() + " has no FREE_SPACE_INFO");
            return;
        }
        long runs = r.bitmaps ? r.free.size() : r.extentItems;
        if (runs != r.info.extentCount()) {
            ctx.problem(Areas.FREE_SPACE, g.describe() + ": FREE_SPACE_INFO extent_count " + r.info.extentCount()
                    + ", expect " + runs);
        }
        RangeList expected = new RangeList();
        RangeList whole = new RangeList();
        whole.append(g.start(), g.end());
        whole.subtract(allocated, g.start(), g.end(), expected);
        RangeList supers = superRanges(g);
        compare(g, r.free, expected, supers, "is free in the free space tree but allocated in the extent tree");
        compare(g, expected, r.free, supers, "is free by the extent tree but not in the free space tree");
    }

    /** Reports the parts of {@code a} not in {@code b} (superblock ranges left out). */
    private void compare(ExtentCheck.BlockGroup g, RangeList a, RangeList b, RangeList supers, String what) {
        RangeList diff = new RangeList();
        a.subtract(b, g.start(), g.end(), diff);
        RangeList real = new RangeList();
        diff.subtract(supers, g.start(), g.end(), real);
        for (int i = 0; i < real.size() && i < DIFFERENCES_SHOWN; i++) {
            ctx.problem(Areas.FREE_SPACE, g.describe() + ": range " + Le.u64s(real.start(i)) + "-" + Le.u64s(real.end(i))
                    + " " + what);
        }
        if (real.size() > DIFFERENCES_SHOWN) {
            ctx.problem(Areas.FREE_SPACE, g.describe() + ": and " + (real.size() - DIFFERENCES_SHOWN)
                    + " more ranges that " + what);
        }
    }

    /** Logical ranges of this block group where superblock copies live (exclude_super_stripes). */
    private RangeList superRanges(ExtentCheck.BlockGroup g) {
        List<long[]> found = new ArrayList<>();
        for (long mirror : Superblock.MIRROR_OFFSETS) {
            for (ChunkItem.Stripe s : g.chunk.item().stripes()) {
                if (Long.compareUnsigned(mirror, s.offset()) >= 0
                        && Long.compareUnsigned(mirror - s.offset(), g.chunk.length()) < 0) {
                    long logical = g.start() + (mirror - s.offset());
                    long end = RangeList.min(logical + SUPER_EXCLUDE_BYTES, g.end());
                    if (Long.compareUnsigned(end, logical) > 0) {
                        found.add(new long[] {logical, end});
                    }
                }
            }
        }
        found.sort((x, y) -> Long.compareUnsigned(x[0], y[0]));
        RangeList out = new RangeList();
        for (long[] f : found) {
            long from = out.size() == 0 ? f[0] : RangeList.max(f[0], out.lastEnd());
            if (Long.compareUnsigned(from, f[1]) < 0) {
                out.append(from, f[1]); // two copies close together (DUP) overlap: keep the union
            }
        }
        return out;
    }

    /** Reads one block group's items of the free space tree into free ranges. */
    private final class Reader {
        final ExtentCheck.BlockGroup g;
        final RangeList free = new RangeList();
        FreeSpaceInfo info;
        boolean bitmaps;
        long extentItems;

        Reader(ExtentCheck.BlockGroup g) {
            this.g = g;
        }

        boolean item(DiskKey key, byte[] b, int off, int len) throws IOException {
            String where = g.describe() + ": " + key;
            switch (key.type()) {
                case ItemType.FREE_SPACE_INFO -> {
                    if (key.objectid() != g.start() || key.offset() != g.chunk.length() || info != null) {
                        ctx.problem(Areas.FREE_SPACE, where + " does not match the block group");
                        return true;
                    }
                    info = FreeSpaceInfo.decode(b, off, len);
                    bitmaps = (info.flags() & FreeSpaceInfo.USING_BITMAPS) != 0;
                }
                case ItemType.FREE_SPACE_EXTENT -> {
                    if (check(where, key, false)) {
                        extentItems++;
                        add(where, key.objectid(), key.objectid() + key.offset());
                    }
                }
                case ItemType.FREE_SPACE_BITMAP -> {
                    if (check(where, key, true)) {
                        bitmap(where, key, b, off, len);
                    }
                }
                default -> {
                }
            }
            return true;
        }

        private boolean check(String where, DiskKey key, boolean bitmap) {
            if (info == null) {
                ctx.problem(Areas.FREE_SPACE, where + " comes before the block group's FREE_SPACE_INFO");
                return false;
            }
            if (bitmap != bitmaps) {
                ctx.problem(Areas.FREE_SPACE, where + ": FREE_SPACE_INFO says " + (bitmaps ? "bitmaps" : "extents"));
            }
            long end = key.objectid() + key.offset();
            if (key.offset() == 0 || Long.compareUnsigned(end, key.objectid()) <= 0 || Long.compareUnsigned(end, g.end()) > 0
                    || Long.compareUnsigned(key.objectid(), g.start()) < 0
                    || Long.remainderUnsigned(key.objectid() | key.offset(), ctx.sectorsize) != 0) {
                ctx.problem(Areas.FREE_SPACE, where + ": not a sector-aligned range inside the block group");
                return false;
            }
            return true;
        }

        private void bitmap(String where, DiskKey key, byte[] b, int off, int len) {
            long bits = key.offset() / ctx.sectorsize;
            if (len != (bits + 7) / 8) {
                ctx.problem(Areas.FREE_SPACE, where + ": bitmap of " + len + " bytes, expect " + (bits + 7) / 8);
                return;
            }
            long runStart = -1;
            for (long i = 0; i <= bits; i++) {
                boolean set = i < bits && (b[off + (int) (i >>> 3)] & (1 << (i & 7))) != 0;
                if (set && runStart < 0) {
                    runStart = i;
                } else if (!set && runStart >= 0) {
                    add(where, key.objectid() + runStart * ctx.sectorsize, key.objectid() + i * ctx.sectorsize);
                    runStart = -1;
                }
            }
        }

        private void add(String where, long start, long end) {
            if (!free.append(start, end)) {
                ctx.problem(Areas.FREE_SPACE, where + " overlaps free space listed before it");
            }
        }
    }

    /** The free space tree root when it is enabled and valid, else null. */
    static TreeRoot rootIfChecked(CheckContext ctx) {
        long ro = ctx.fs.superblock().compatRoFlags();
        if ((ro & org.jbtrfs.format.Features.COMPAT_RO_FREE_SPACE_TREE) == 0) {
            return null;
        }
        if ((ro & org.jbtrfs.format.Features.COMPAT_RO_FREE_SPACE_TREE_VALID) == 0) {
            ctx.warning(Areas.FREE_SPACE, "the free space tree is not marked valid; the kernel rebuilds it, not checked");
            return null;
        }
        return ctx.globalRoot(ObjectIds.FREE_SPACE_TREE);
    }
}
