package org.jbtrfs.check;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.jbtrfs.CorruptImageException;
import org.jbtrfs.ctree.TreeRoot;
import org.jbtrfs.disk.FsInfo;
import org.jbtrfs.format.ItemType;
import org.jbtrfs.format.Le;
import org.jbtrfs.format.ObjectIds;
import org.jbtrfs.format.RootItem;
import org.jbtrfs.format.Superblock;

/**
 * jbtrfs's own consistency checker: the invariants {@code btrfs check} verifies (original and
 * lowmem modes of btrfs-progs' check/), checked read-only on an opened image, every finding a
 * {@link Problem} in the {@link CheckReport}. See the package documentation for the invariants.
 *
 * <h2>How a run goes</h2>
 * <ol>
 *   <li><b>Walk every tree</b> ({@link TreeWalker}): the chunk tree, the root tree, the csum
 *       tree, then every tree with a ROOT_ITEM, then the log tree if there is one. Each block is
 *       read and checked once; each pointer and each file extent becomes a reference tuple in a
 *       {@link RefTable}. Leaf items go to the check of that tree: chunks and device extents
 *       ({@link ChunkCheck}), roots and their links ({@link RootTreeCheck}), csum items
 *       ({@link CsumCheck}), inodes, names and file extents ({@link FsTreeCheck}), the UUID tree,
 *       the free space tree's bookkeeping ({@link FreeSpaceCheck}).</li>
 *   <li><b>Cross-check</b> what needs every walk done: device extents against chunks, ROOT_REFs
 *       against directory entries.</li>
 *   <li><b>Merge the extent tree</b> ({@link ExtentCheck}) with the sorted references: backrefs,
 *       ref counts, overlaps, block groups and their used bytes, the superblock's bytes_used,
 *       free space per block group, csums outside data.</li>
 *   <li>With {@link CheckOptions#checkDataCsums()}, <b>read all data</b> that has checksums and
 *       verify it ({@link CsumCheck#verifyData()}).</li>
 * </ol>
 * Memory: the walks keep one inode's state and the current path; what grows with the image is 40
 * bytes per extent reference, 16 per csum or data extent range, and 8 per tree block seen, all in
 * primitive arrays (a 1 GiB image with 100,000 files needs a few MB).
 *
 * <p>Damage never escapes as an exception: an unreadable block, an item that does not decode,
 * a lookup that meets a bad block, each becomes a problem and the run goes on. Only a device that
 * fails to read throws an {@link IOException}.
 *
 * <p>One thread at a time; each {@link #run()} starts afresh. The {@link FsInfo} is only read and
 * stays open (the caller closes it).
 */
public final class Checker {
    private static final Logger LOG = Logger.getLogger(Checker.class.getName());
    private final FsInfo fs;
    private final CheckOptions options;

    public Checker(FsInfo fs, CheckOptions options) {
        this.fs = java.util.Objects.requireNonNull(fs, "fs");
        this.options = java.util.Objects.requireNonNull(options, "options");
    }

    /** Checks the whole filesystem; damage becomes problems in the report. */
    public CheckReport run() throws IOException {
        long t0 = System.nanoTime();
        CheckContext ctx = new CheckContext(fs, options);
        ctx.chunks = new ChunkCheck(ctx);
        ctx.roots = new RootTreeCheck(ctx);
        TreeWalker walker = new TreeWalker(ctx);
        superblock(ctx);
        pass(ctx, Areas.CHUNK, () -> walker.walk(ObjectIds.CHUNK_TREE, fs.chunkTree(), true, ctx.chunks.chunkTreeVisitor()));
        pass(ctx, Areas.ROOT, () -> walker.walk(ObjectIds.ROOT_TREE, fs.rootTree(), true, ctx.roots.visitor()));
        ctx.roots.checkRequiredTrees();
        TreeRoot fstRoot = FreeSpaceCheck.rootIfChecked(ctx);
        FreeSpaceCheck freeSpace = fstRoot != null ? new FreeSpaceCheck(ctx, fstRoot) : null;
        ExtentCheck extents = new ExtentCheck(ctx, freeSpace);
        RootTreeCheck.Root csum = ctx.roots.root(ObjectIds.CSUM_TREE);
        if (csum != null) {
            pass(ctx, Areas.CSUM, () -> walker.walk(ObjectIds.CSUM_TREE, csum.treeRoot(), true, new CsumCheck(ctx).visitor()));
        }
        for (RootTreeCheck.Root r : ctx.roots.roots()) {
            if (r.id() != ObjectIds.CSUM_TREE) {
                walkRoot(ctx, walker, r, freeSpace, extents);
            }
        }
        walkLogTrees(ctx, walker);
        pass(ctx, Areas.DEVICE, ctx.chunks::finish);
        pass(ctx, Areas.ROOT, ctx.roots::finish);
        pass(ctx, Areas.BLOCK_GROUP, extents::loadBlockGroups);
        pass(ctx, Areas.EXTENT, extents::run);
        if (options.checkDataCsums()) {
            pass(ctx, Areas.CSUM, new CsumCheck(ctx)::verifyData);
        }
        return new CheckReport(ctx.findings, ctx.counters, (System.nanoTime() - t0) / 1_000_000);
    }

    /** A step that may meet damage it cannot step around: that ends the step, not the run. */
    @FunctionalInterface
    private interface Pass {
        void run() throws IOException;
    }

    private static void pass(CheckContext ctx, String area, Pass p) throws IOException {
        long t0 = System.nanoTime();
        try {
            p.run();
        } catch (CorruptImageException e) {
            ctx.problem(area, "check stopped early: " + CheckContext.oneLine(e));
        }
        if (LOG.isLoggable(Level.FINE)) {
            LOG.fine(String.format("%s: %d ms", area, (System.nanoTime() - t0) / 1_000_000));
        }
    }

    private static void walkRoot(CheckContext ctx, TreeWalker walker, RootTreeCheck.Root r, FreeSpaceCheck freeSpace,
            ExtentCheck extents) throws IOException {
        long id = r.id();
        if (r.partlyDropped()) {
            // Part of a dead root's tree is already freed: walking it would report every freed
            // block. Its references are tolerated instead (BackrefMatch.tolerated).
            ctx.skippedTrees.add(id);
            ctx.counters.treesSkipped++;
            ctx.warning(Areas.tree(id), "deleted subvolume, partly dropped (drop_progress "
                    + r.item().dropProgress() + "); not walked");
            return;
        }
        TreeWalker.LeafVisitor v;
        if (id == ObjectIds.DEV_TREE) {
            v = ctx.chunks.devTreeVisitor();
        } else if (id == ObjectIds.UUID_TREE) {
            v = ctx.roots.uuidVisitor();
        } else if (id == ObjectIds.FREE_SPACE_TREE) {
            v = freeSpace != null ? freeSpace.visitor() : null;
        } else if (id == ObjectIds.BLOCK_GROUP_TREE) {
            v = extents.blockGroupTreeVisitor();
        } else if (CheckContext.isFsLike(id) && id != ObjectIds.TREE_RELOC && !r.dead()) {
            v = new FsTreeCheck(ctx, id, r.treeRoot(), r.item().rootDirid());
        } else {
            v = null;
        }
        pass(ctx, Areas.tree(id), () -> walker.walk(id, r.treeRoot(), true, v));
    }

    /**
     * The log root tree and the subvolume log trees it lists: read and checked as trees, but their
     * blocks and extents are not in the extent tree until the log is replayed, so they add no
     * references.
     */
    private static void walkLogTrees(CheckContext ctx, TreeWalker walker) throws IOException {
        Superblock sb = ctx.fs.superblock();
        if (sb.logRoot() == 0) {
            return;
        }
        ctx.warning(Areas.tree(ObjectIds.TREE_LOG), "the image has a log tree (fsync'd changes not yet replayed)");
        List<TreeRoot> logs = new ArrayList<>();
        TreeRoot logRoot = new TreeRoot(ObjectIds.TREE_LOG, sb.logRoot(), sb.logRootLevel(), -1);
        pass(ctx, Areas.tree(ObjectIds.TREE_LOG), () -> walker.walk(ObjectIds.TREE_LOG, logRoot, false, (key, b, off, len) -> {
            if (key.type() == ItemType.ROOT_ITEM) {
                RootItem ri = RootItem.decode(b, off, len);
                logs.add(new TreeRoot(ObjectIds.TREE_LOG, ri.bytenr(), ri.level(), ri.generation()));
            }
        }));
        for (TreeRoot t : logs) {
            pass(ctx, Areas.tree(ObjectIds.TREE_LOG), () -> walker.walk(ObjectIds.TREE_LOG, t, false, null));
        }
    }

    /** What the superblock says that the walks do not cover. */
    private static void superblock(CheckContext ctx) {
        Superblock sb = ctx.fs.superblock();
        if (Long.compareUnsigned(sb.chunkRootGeneration(), sb.generation()) > 0) {
            ctx.problem(Areas.SUPERBLOCK, "chunk_root_generation " + Le.u64s(sb.chunkRootGeneration())
                    + " is above generation " + Le.u64s(sb.generation()));
        }
        if (sb.rootDirObjectid() != ObjectIds.ROOT_TREE_DIR) {
            ctx.problem(Areas.SUPERBLOCK, "root_dir_objectid " + Le.u64s(sb.rootDirObjectid()) + ", expect 6");
        }
        if (ctx.fs.superMirror() != 0) {
            ctx.problem(Areas.SUPERBLOCK, "the primary superblock is damaged or older; copy " + ctx.fs.superMirror()
                    + " is in use");
        }
    }
}
