package org.jbtrfs.tools.inspect;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import org.jbtrfs.OpenOptions;
import org.jbtrfs.ctree.BTree;
import org.jbtrfs.ctree.ExtentBuffer;
import org.jbtrfs.ctree.TreeRoot;
import org.jbtrfs.device.BlockDevice;
import org.jbtrfs.device.FileBlockDevice;
import org.jbtrfs.disk.FsInfo;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.ItemType;
import org.jbtrfs.format.Le;
import org.jbtrfs.format.ObjectIds;
import org.jbtrfs.format.RootItem;
import org.jbtrfs.format.Superblock;
import org.jbtrfs.format.Uuids;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code jbtrfs inspect dump-tree IMG}: prints the trees of an image in the format of btrfs-progs
 * 6.2 {@code btrfs inspect-internal dump-tree}, so that the two can be diffed when one of them
 * reads an image differently. The order is progs' order: root tree, chunk tree, log root tree
 * (if any), then every tree the root tree has a ROOT_ITEM for, in key order, each under a heading
 * like {@code fs tree key (FS_TREE ROOT_ITEM 0) }, then the totals.
 *
 * <p>The image is opened read-only; nothing is ever written. A damaged block or item does not stop
 * the dump (see {@link TreePrinter}); the command fails at the end with the first problem found.
 */
@Command(name = "dump-tree", mixinStandardHelpOptions = true,
        description = "Print the trees of a btrfs image like 'btrfs inspect-internal dump-tree'.")
public final class DumpTreeCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "IMG", description = "The btrfs image.")
    Path image;

    @Option(names = {"-t", "--tree"}, paramLabel = "TREE",
            description = "Print only this tree: a number or a name (root, chunk, extent, dev, fs, csum, quota, uuid, "
                    + "free-space, data-reloc, block-group, tree-log; also FS_TREE style names).")
    String tree;

    @Option(names = {"-b", "--block"}, paramLabel = "BYTENR", description = "Print only the block at this logical address"
            + " (may be repeated).")
    List<Long> blocks = new ArrayList<>();

    @Option(names = "--follow", description = "With -b, also print every block below it.")
    boolean follow;

    @Option(names = "--dfs", description = "Depth-first traversal (default: breadth first, nodes before leaves).")
    boolean dfs;

    @Option(names = "--bfs", description = "Breadth-first traversal (the default).")
    boolean bfs;

    @Option(names = {"-e", "--extents"}, description = "Print only extent info: leaves of the extent and device trees.")
    boolean extentsOnly;

    @Option(names = {"-d", "--device"}, description = "Print only the root, chunk and device trees.")
    boolean deviceOnly;

    @Option(names = {"-u", "--uuid"}, description = "Print only the uuid tree.")
    boolean uuidOnly;

    @Option(names = {"-r", "--roots"}, description = "Print only the root block of each tree.")
    boolean rootsOnly;

    @Option(names = {"-R", "--backups"}, description = "Like --roots, plus the superblock's backup roots.")
    boolean backups;

    @Option(names = "--hide-names", description = "Print HIDDEN instead of file names, xattr names and values.")
    boolean hideNames;

    @Option(names = "--csum-headers", description = "Print the checksum stored in each block header.")
    boolean csumHeaders;

    @Option(names = "--csum-items", description = "Print every data checksum of the csum tree.")
    boolean csumItems;

    @Option(names = "--cache-mb", description = "Tree block cache limit in MiB (default ${DEFAULT-VALUE}).")
    long cacheMb = OpenOptions.DEFAULT_CACHE_LIMIT_BYTES >> 20;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (dfs && bfs) {
            throw new IllegalArgumentException("--dfs and --bfs exclude each other");
        }
        long treeId = tree != null ? TreeNames.parse(tree) : 0;
        PrintWriter out = spec.commandLine().getOut();
        try (FsInfo info = open()) {
            ItemPrinter items = new ItemPrinter(new ItemPrinter.Options(info.sectorsize(), info.csumType().size(),
                    hideNames, csumItems));
            TreePrinter printer = new TreePrinter(info.btree().reader(), out, items, dfs, csumHeaders,
                    info.csumType().size());
            List<RootEntry> roots = blocks.isEmpty() ? listRoots(info.btree(), info.rootTree(), printer) : List.of();
            if (treeId != 0 && !isTopLevel(treeId, info) && roots.stream().noneMatch(r -> r.key.objectid() == treeId)) {
                failOnErrors(printer); // a damaged root tree is the better explanation
                throw new IOException(image + ": no tree " + ProgsFormat.objectid(treeId, 0) + " (the root tree has no"
                        + " ROOT_ITEM for it)");
            }
            out.println(InspectCommand.versionLine());
            if (!blocks.isEmpty()) {
                printBlocks(info, printer);
            } else {
                printTrees(info, printer, roots, treeId, out);
            }
            out.flush();
            failOnErrors(printer);
        }
        return 0;
    }

    /**
     * Opens the trees only (superblock, chunk tree), not a subvolume: a dump must work on an image
     * whose fs tree is too damaged for {@code Filesystem.open}, which reads the root directory.
     */
    private FsInfo open() throws IOException {
        if (!Files.exists(image)) {
            throw new IOException(image + ": no such file");
        }
        if (Files.isDirectory(image)) {
            throw new IOException(image + ": is a directory, not an image");
        }
        if (cacheMb < 1 || cacheMb > (1L << 20)) {
            throw new IllegalArgumentException("--cache-mb must be between 1 and 1048576");
        }
        OpenOptions o = OpenOptions.readOnlyDefaults()
                .withCacheLimitBytes(Math.max(cacheMb << 20, org.jbtrfs.ctree.ExtentBufferCache.MIN_LIMIT_BYTES));
        BlockDevice dev = FileBlockDevice.open(image, true);
        try {
            return FsInfo.open(dev, o);
        } catch (IOException | RuntimeException e) {
            dev.close();
            throw e;
        }
    }

    /** A ROOT_ITEM of the root tree (or the log root tree): its key and where its tree starts. */
    private record RootEntry(DiskKey key, TreeRoot root) {
    }

    private static boolean isTopLevel(long id, FsInfo info) {
        return id == ObjectIds.ROOT_TREE || id == ObjectIds.CHUNK_TREE
                || (id == ObjectIds.TREE_LOG && info.superblock().logRoot() != 0);
    }

    private void printBlocks(FsInfo info, TreePrinter printer) {
        int sectorsize = info.sectorsize();
        for (long bytenr : new TreeSet<>(blocks)) { // progs prints them sorted, once each
            if (Long.remainderUnsigned(bytenr, sectorsize) != 0) {
                printer.error("tree block bytenr " + Le.u64s(bytenr) + " is not aligned to sectorsize " + sectorsize);
                continue;
            }
            ExtentBuffer eb = printer.readBlock(bytenr);
            if (eb != null) {
                try {
                    printer.printTree(eb, follow);
                } finally {
                    eb.release();
                }
            }
        }
    }

    private void printTrees(FsInfo info, TreePrinter printer, List<RootEntry> roots, long treeId, PrintWriter out)
            throws IOException {
        Superblock sb = info.superblock();
        TreeRoot logRoot = sb.logRoot() != 0 ? new TreeRoot(ObjectIds.TREE_LOG, sb.logRoot(), sb.logRootLevel(), -1) : null;
        if (treeId == ObjectIds.ROOT_TREE || treeId == ObjectIds.CHUNK_TREE || treeId == ObjectIds.TREE_LOG) {
            TreeRoot r = treeId == ObjectIds.ROOT_TREE ? info.rootTree() : treeId == ObjectIds.CHUNK_TREE ? info.chunkTree() : logRoot;
            if (r == null) {
                throw new IOException(image + ": has no log root tree to print");
            }
            out.print(treeId == ObjectIds.ROOT_TREE ? "root tree\n" : treeId == ObjectIds.CHUNK_TREE ? "chunk tree\n" : "log root tree\n");
            printWhole(printer, r, "the " + (treeId == ObjectIds.TREE_LOG ? "log root" : treeId == ObjectIds.ROOT_TREE ? "root" : "chunk") + " tree");
            return;
        }
        if (!(extentsOnly || uuidOnly || treeId != 0)) {
            topLevelTrees(info, printer, logRoot, out);
        }
        printRootItems(printer, roots, treeId, out);
        if (logRoot != null) {
            ExtentBuffer eb = printer.readRoot(logRoot, "the log root tree");
            if (eb != null) {
                eb.release();
                printRootItems(printer, listRoots(info.btree(), logRoot, printer), treeId, out);
            }
        }
        if (extentsOnly || deviceOnly || uuidOnly) {
            return;
        }
        if (backups) {
            printOldRoots(sb, out);
        }
        out.print("total bytes " + Le.u64s(sb.totalBytes()) + "\nbytes used " + Le.u64s(sb.bytesUsed()) + "\nuuid "
                + Uuids.toString(sb.fsid()) + "\n");
    }

    private void topLevelTrees(FsInfo info, TreePrinter printer, TreeRoot logRoot, PrintWriter out) {
        if (rootsOnly || backups) {
            out.print("root tree: " + Le.u64s(info.rootTree().bytenr()) + " level " + info.rootTree().level() + "\n");
            out.print("chunk tree: " + Le.u64s(info.chunkTree().bytenr()) + " level " + info.chunkTree().level() + "\n");
            if (logRoot != null) {
                out.print("log root tree: " + Le.u64s(logRoot.bytenr()) + " level " + logRoot.level() + "\n");
            }
            return;
        }
        out.print("root tree\n");
        printWhole(printer, info.rootTree(), "the root tree");
        out.print("chunk tree\n");
        printWhole(printer, info.chunkTree(), "the chunk tree");
        if (logRoot != null) {
            out.print("log root tree\n");
            printWhole(printer, logRoot, "the log root tree");
        }
    }

    private static void printWhole(TreePrinter printer, TreeRoot root, String what) {
        ExtentBuffer eb = printer.readRoot(root, what);
        if (eb != null) {
            try {
                printer.printTree(eb, true);
            } finally {
                eb.release();
            }
        }
    }

    /** Every ROOT_ITEM of a tree of roots, in key order; a damaged part is recorded and skipped. */
    private static List<RootEntry> listRoots(BTree btree, TreeRoot treeOfRoots, TreePrinter printer) {
        List<RootEntry> out = new ArrayList<>();
        try {
            btree.scan(treeOfRoots, new DiskKey(0, ItemType.ROOT_ITEM, 0), DiskKey.MAX, (key, data, off, len) -> {
                if (key.type() == ItemType.ROOT_ITEM) {
                    try {
                        RootItem ri = RootItem.decode(data, off, len);
                        out.add(new RootEntry(key, new TreeRoot(key.objectid(), ri.bytenr(), ri.level(), ri.generation())));
                    } catch (IOException e) {
                        printer.error("ROOT_ITEM " + ProgsFormat.key(key) + ": " + e.getMessage());
                    }
                }
                return true;
            });
        } catch (IOException e) {
            printer.error("reading the ROOT_ITEMs of tree " + ProgsFormat.objectid(treeOfRoots.id(), 0), e.getMessage());
        }
        return out;
    }

    /** The per-ROOT_ITEM part of cmd_inspect_dump_tree(), with its filters for -e, -d, -u and -t. */
    private void printRootItems(TreePrinter printer, List<RootEntry> roots, long treeId, PrintWriter out) {
        for (RootEntry r : roots) {
            long id = r.key.objectid();
            if (treeId != 0 && id != treeId) {
                continue;
            }
            boolean skip = extentsOnly || deviceOnly || uuidOnly;
            if (id == ObjectIds.EXTENT_TREE && !deviceOnly && !uuidOnly
                    || id == ObjectIds.DEV_TREE && !uuidOnly
                    || id == ObjectIds.ROOT_TREE_DIR
                    || id == ObjectIds.UUID_TREE && !extentsOnly && !deviceOnly) {
                skip = false;
            }
            if (skip) {
                continue;
            }
            ExtentBuffer eb = printer.readRoot(r.root, "tree " + ProgsFormat.key(r.key));
            if (eb == null) {
                continue; // as progs: a tree whose root block is unreadable gets no heading
            }
            try {
                out.print(TreeNames.heading(id) + " tree " + ProgsFormat.key(r.key));
                if (extentsOnly) {
                    out.print("\n");
                    printer.printLeavesOnly(eb);
                } else if (rootsOnly || backups) {
                    out.print(" " + Le.u64s(eb.bytenr()) + " level " + eb.level() + "\n");
                } else {
                    out.print(" \n");
                    printer.printTree(eb, true);
                }
            } finally {
                eb.release();
            }
        }
    }

    /** print_old_roots() (-R). */
    private static void printOldRoots(Superblock sb, PrintWriter out) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < Superblock.NUM_BACKUP_ROOTS; i++) {
            var b = sb.backupRoot(i);
            s.append("btrfs root backup slot ").append(i).append('\n');
            s.append("\ttree root gen ").append(Le.u64s(b.treeRootGen())).append(" block ").append(Le.u64s(b.treeRoot())).append('\n');
            s.append("\t\textent root gen ").append(Le.u64s(b.extentRootGen())).append(" block ").append(Le.u64s(b.extentRoot())).append('\n');
            s.append("\t\tchunk root gen ").append(Le.u64s(b.chunkRootGen())).append(" block ").append(Le.u64s(b.chunkRoot())).append('\n');
            s.append("\t\tdevice root gen ").append(Le.u64s(b.devRootGen())).append(" block ").append(Le.u64s(b.devRoot())).append('\n');
            s.append("\t\tcsum root gen ").append(Le.u64s(b.csumRootGen())).append(" block ").append(Le.u64s(b.csumRoot())).append('\n');
            s.append("\t\tfs root gen ").append(Le.u64s(b.fsRootGen())).append(" block ").append(Le.u64s(b.fsRoot())).append('\n');
            s.append("\t\t").append(Le.u64s(b.bytesUsed())).append(" used ").append(Le.u64s(b.totalBytes())).append(" total ")
                    .append(Le.u64s(b.numDevices())).append(" devices\n");
        }
        out.print(s);
    }

    /** What was printed stands; the exit status and one line say the image is damaged. */
    private void failOnErrors(TreePrinter printer) throws IOException {
        long n = printer.errorCount();
        if (n == 0) {
            return;
        }
        String first = printer.errors().get(0);
        throw new IOException(image + ": " + first + (n > 1 ? " (and " + (n - 1) + " more problem" + (n > 2 ? "s" : "") + ")" : ""));
    }
}
