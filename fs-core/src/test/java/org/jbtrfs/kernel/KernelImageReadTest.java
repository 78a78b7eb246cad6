package org.jbtrfs.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Supplier;
import org.jbtrfs.Attr;
import org.jbtrfs.DirEntry;
import org.jbtrfs.Errno;
import org.jbtrfs.Filesystem;
import org.jbtrfs.FsException;
import org.jbtrfs.InodeId;
import org.jbtrfs.OpenOptions;
import org.jbtrfs.StatFs;
import org.jbtrfs.ctree.TreeRoot;
import org.jbtrfs.format.DirItem;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.FileExtentItem;
import org.jbtrfs.format.ItemType;
import org.jbtrfs.format.ObjectIds;
import org.jbtrfs.format.RootItem;
import org.jbtrfs.format.Timespec;
import org.jbtrfs.kernel.TreeView.Node;
import org.jbtrfs.testing.KernelImages;
import org.jbtrfs.testing.KernelImages.LoopMount;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * jbtrfs reads exactly what the Linux kernel wrote. One image per run: mkfs.btrfs (btrfs-progs
 * defaults), filled through a kernel loop mount from a seeded host tree ({@link SourceTree}), checked
 * with {@code btrfs check --readonly --check-data-csum}. Then every path jbtrfs finds is compared
 * with two oracles:
 * <ul>
 *   <li>the host source tree: names, types, permissions, owners, sizes, mtimes, link counts,
 *       device numbers, symlink targets, xattrs and every byte of every file;</li>
 *   <li>the kernel's own reading of the image, mounted read-only (which changes nothing on disk,
 *       atimes included): all of that plus inode numbers, st_blocks, st_blksize, atime, ctime,
 *       otime (statx btime), directory sizes and link counts, readdir order and which paths share
 *       a subvolume (st_dev).</li>
 * </ul>
 * Skipped (not failed) where the kernel cannot be used: see {@link KernelImages#assumeAvailable()}.
 */
class KernelImageReadTest {
    /** Content seed; -Djbtrfs.kernel.seed=N builds a different tree. Printed. */
    private static final long SEED = Long.getLong("jbtrfs.kernel.seed", 0x6a627472_6673L);
    /** Big enough for the ~35 MiB of data and prealloc with room to spare; the file is sparse. */
    private static final long IMAGE_BYTES = 512L << 20;
    /** Mismatches quoted in a failure message; the count is always given. */
    private static final int MISMATCHES_SHOWN = 60;
    /** Mismatches printed to the test output. */
    private static final int MISMATCHES_PRINTED = 5000;
    private static final String[] PLACEHOLDERS = {"snap/nested", "snap-ro/nested"};

    @TempDir
    static Path work;

    private static SourceTree tree;
    private static Path image;
    private static Map<String, Node> host;
    private static Map<String, Node> kernel;
    /** stat -f of the read-only kernel mount: bsize, blocks, bfree, bavail, namelen. */
    private static long[] kernelStatfs;
    /** The kernel's global block reserve in bytes (btrfs filesystem df), which f_bfree leaves out. */
    private static long kernelGlobalReserveBytes;
    private static Filesystem fs;
    private static Filesystem fsVerify;
    private static Map<String, JbNode> jb;

    /** One path as jbtrfs reads it; {@code entry} is how its parent lists it (null for the root). */
    record JbNode(String rel, InodeId id, Attr attr, DirEntry entry, List<DirEntry> children, byte[] link,
            Map<String, byte[]> xattrs) {
    }

    @BeforeAll
    static void buildImage() throws Exception {
        KernelImages.assumeAvailable();
        long t0 = System.nanoTime();
        System.out.println("KernelImageReadTest: seed=" + SEED + " (replay with -Djbtrfs.kernel.seed=" + SEED + ")");
        tree = new SourceTree(work.resolve("src"), SEED);
        tree.buildHost();
        image = work.resolve("kernel.img");
        KernelImages.mkfs(image, IMAGE_BYTES);
        Path mnt = work.resolve("mnt");
        try (LoopMount m = KernelImages.mount(image, mnt, null)) {
            tree.populateImage(m);
        }
        KernelImages.check(image, "--check-data-csum");
        host = TreeView.record(tree.root());
        try (LoopMount m = KernelImages.mount(image, mnt, "ro")) {
            kernel = TreeView.record(m.dir());
            String[] f = KernelImages.runChecked(KernelImages.COMMAND_TIMEOUT, "stat", "-f", "-c", "%S %b %f %a %l",
                    m.dir().toString()).output().strip().split(" ");
            kernelStatfs = Arrays.stream(f).mapToLong(Long::parseLong).toArray();
            kernelGlobalReserveBytes = globalReserve(KernelImages.runChecked(KernelImages.COMMAND_TIMEOUT, "btrfs",
                    "filesystem", "df", "-b", m.dir().toString()).output());
        }
        fs = Filesystem.open(image, OpenOptions.readOnlyDefaults());
        fsVerify = Filesystem.open(image, OpenOptions.readOnlyDefaults().withVerifyDataCsums(true));
        System.out.printf("KernelImageReadTest: image built and recorded in %d ms (%d paths)%n",
                (System.nanoTime() - t0) / 1_000_000, host.size());
    }

    @AfterAll
    static void close() throws IOException {
        if (fs != null) {
            fs.close();
        }
        if (fsVerify != null) {
            fsVerify.close();
        }
    }

    private static long globalReserve(String df) {
        for (String line : df.split("\n")) {
            if (line.startsWith("GlobalReserve")) {
                String total = line.substring(line.indexOf("total=") + 6);
                return Long.parseLong(total.substring(0, total.indexOf(',')).strip());
            }
        }
        throw new AssertionError("no GlobalReserve line in btrfs filesystem df output:\n" + df);
    }

    // ---------------------------------------------------------------- the jbtrfs side

    /** Every path jbtrfs reaches from the root by list(), with attributes, links and xattrs. */
    private static synchronized Map<String, JbNode> jb() throws IOException {
        if (jb == null) {
            Map<String, JbNode> out = new LinkedHashMap<>();
            walk(fs.root(), "", null, out, new HashSet<>());
            jb = out;
        }
        return jb;
    }

    private static void walk(InodeId id, String rel, DirEntry entry, Map<String, JbNode> out, Set<InodeId> dirs)
            throws IOException {
        Attr a = fs.getattr(id);
        List<DirEntry> children = List.of();
        if (a.isDirectory()) {
            if (!dirs.add(id)) {
                throw new AssertionError("directory " + id + " reached twice, second time as " + rel);
            }
            children = fs.list(id);
        }
        byte[] link = a.isSymlink() ? fs.readlink(id) : null;
        Map<String, byte[]> x = new TreeMap<>();
        for (byte[] name : fs.listxattr(id)) {
            x.put(new String(name, StandardCharsets.UTF_8), fs.getxattr(id, name));
        }
        out.put(rel, new JbNode(rel, id, a, entry, children, link, x));
        for (DirEntry e : children) {
            walk(e.target(), rel.isEmpty() ? e.name() : rel + "/" + e.name(), e, out, dirs);
        }
    }

    private static boolean isPlaceholder(String rel) {
        return Arrays.asList(PLACEHOLDERS).contains(rel);
    }

    // ---------------------------------------------------------------- tests

    @Test
    void everyPathMatchesTheHostTreeAndTheKernel() throws IOException {
        Map<String, JbNode> j = jb();
        Mismatches mm = new Mismatches();
        mm.check("paths", "set of paths (host vs jbtrfs)", new TreeMap<>(host).keySet(), new TreeMap<>(j).keySet());
        mm.check("paths", "set of paths (kernel vs jbtrfs)", new TreeMap<>(kernel).keySet(), new TreeMap<>(j).keySet());
        Map<Long, Long> rootToDev = new HashMap<>();
        Map<Long, Long> devToRoot = new HashMap<>();
        for (JbNode n : j.values()) {
            Node h = host.get(n.rel());
            Node k = kernel.get(n.rel());
            if (h == null || k == null) {
                continue;
            }
            compareWithKernel(mm, n, k);
            compareWithHost(mm, n, h);
            // The kernel's placeholder uses simple_getattr, so it shows the superblock's st_dev,
            // which no real inode has; jbtrfs files it under the subvolume that holds it.
            if (!isPlaceholder(n.rel())) {
                Long dev = rootToDev.putIfAbsent(n.id().root(), k.dev());
                Long root = devToRoot.putIfAbsent(k.dev(), n.id().root());
                mm.check(n.rel(), "subvolume: jbtrfs root " + n.id().root() + " has one st_dev",
                        dev == null ? k.dev() : dev, k.dev());
                mm.check(n.rel(), "subvolume: st_dev " + k.dev() + " is one jbtrfs root",
                        root == null ? n.id().root() : root, n.id().root());
            }
            if (!n.rel().isEmpty()) {
                mm.check(n.rel(), "resolve()", n.id(), fs.resolve("/" + n.rel()));
                JbNode parent = j.get(n.rel().contains("/") ? n.rel().substring(0, n.rel().lastIndexOf('/')) : "");
                mm.check(n.rel(), "lookup()", n.id(), fs.lookup(parent.id(), n.entry().rawName()));
                mm.check(n.rel(), "d_type", fileType(n.attr().mode()), n.entry().fileType());
            }
        }
        assertTrue(rootToDev.size() >= 5, "expected 5 subvolumes (top, subvol, nested, snap, snap-ro): " + rootToDev);
        mm.assertNone();
    }

    private static void compareWithKernel(Mismatches mm, JbNode n, Node k) {
        String r = n.rel();
        Attr a = n.attr();
        mm.check(r, "mode (kernel)", oct(k.mode()), oct(a.mode()));
        mm.check(r, "uid (kernel)", k.uid(), a.uid());
        mm.check(r, "gid (kernel)", k.gid(), a.gid());
        mm.check(r, "size (kernel)", k.size(), a.size());
        mm.check(r, "nlink (kernel)", k.nlink(), a.nlink());
        mm.check(r, "rdev (kernel)", k.rdev(), a.rdev());
        mm.check(r, "ino (kernel)", k.ino(), a.ino());
        mm.check(r, "st_blocks (kernel)", k.blocks(), a.blocks());
        mm.check(r, "st_blksize (kernel)", (long) k.blksize(), (long) a.blksize());
        if (!isPlaceholder(r)) {
            // The kernel makes the placeholder up in memory, with the current time.
            mm.check(r, "atime (kernel)", k.atime(), a.atime());
            mm.check(r, "mtime (kernel)", k.mtime(), a.mtime());
            mm.check(r, "ctime (kernel)", k.ctime(), a.ctime());
            if (k.btime() != null) {
                mm.check(r, "otime (kernel btime)", k.btime(), a.otime());
            }
        }
        if (k.isSymlink()) {
            mm.check(r, "symlink target (kernel)", str(k.link()), str(n.link()));
        }
        mm.check(r, "xattrs (kernel)", xattrString(k.xattrs()), xattrString(n.xattrs()));
        mm.check(r, "readdir order (kernel)", k.children(), n.children().stream().map(DirEntry::name).toList());
    }

    private static void compareWithHost(Mismatches mm, JbNode n, Node h) {
        String r = n.rel();
        Attr a = n.attr();
        mm.check(r, "mode (host)", oct(h.mode()), oct(a.mode()));
        mm.check(r, "uid (host)", h.uid(), a.uid());
        mm.check(r, "gid (host)", h.gid(), a.gid());
        mm.check(r, "rdev (host)", h.rdev(), a.rdev());
        if (!h.isDir()) {
            // Directory sizes and link counts are the filesystem's own (btrfs: 2 x name bytes, nlink 1).
            mm.check(r, "size (host)", h.size(), a.size());
            mm.check(r, "nlink (host)", h.nlink(), a.nlink());
        }
        if (!isPlaceholder(r)) {
            mm.check(r, "mtime (host)", h.mtime(), a.mtime());
        }
        if (h.isSymlink()) {
            mm.check(r, "symlink target (host)", str(h.link()), str(n.link()));
        }
        mm.check(r, "xattrs (host)", xattrString(h.xattrs()), xattrString(n.xattrs()));
        mm.check(r, "children (host)", new java.util.TreeSet<>(h.children()),
                new java.util.TreeSet<>(n.children().stream().map(DirEntry::name).toList()));
    }

    @Test
    void explicitTimesAreReadExactly() throws IOException {
        Mismatches mm = new Mismatches();
        for (String[] t : SourceTree.TIMES) {
            Attr a = fs.getattr(fs.resolve("/" + t[0]));
            mm.check(t[0], "mtime set with touch -d '" + t[1] + "'", parseTime(t[1]), a.mtime());
            mm.check(t[0], "atime set with touch -a -d '" + t[2] + "'", parseTime(t[2]), a.atime());
        }
        mm.assertNone();
    }

    private static Timespec parseTime(String s) {
        java.time.LocalDateTime t = java.time.LocalDateTime.parse(s.replace(' ', 'T'));
        return new Timespec(t.toEpochSecond(java.time.ZoneOffset.UTC), t.getNano());
    }

    @Test
    void fileContentsMatchByteForByte() throws IOException {
        Mismatches mm = new Mismatches();
        long bytes = 0;
        for (Node h : host.values()) {
            if (!h.isRegular()) {
                continue;
            }
            byte[] expect = Files.readAllBytes(tree.root().resolve(h.rel()));
            InodeId id = jb().get(h.rel()).id();
            Random rnd = new Random(SEED ^ h.rel().hashCode());
            boolean thorough = !h.rel().startsWith("big/");
            int[] chunks = !thorough ? new int[] {expect.length + 1}
                    : expect.length <= 65536 ? new int[] {1, 7, 1000, 4095, 4096, 65537, expect.length + 100}
                    : new int[] {4095, 65536, 131073, 1 << 20, expect.length + 100};
            for (int chunk : chunks) {
                if (chunk == 1 && expect.length > 5000) {
                    continue;
                }
                bytes += readAllAndCompare(mm, fs, id, h.rel(), expect, chunk);
            }
            bytes += readAllAndCompare(mm, fsVerify, id, h.rel() + " (verifying csums)", expect, 1 << 20);
            for (int i = 0; thorough && i < 30; i++) {
                long pos = i % 3 == 0 ? (long) rnd.nextInt(expect.length / 4096 + 2) * 4096 : rnd.nextInt(expect.length + 5000);
                int len = rnd.nextInt(i % 2 == 0 ? 300_000 : 9000);
                bytes += readRangeAndCompare(mm, i % 5 == 0 ? fsVerify : fs, id, h.rel(), expect, pos, len);
            }
            bytes += readRangeAndCompare(mm, fs, id, h.rel(), expect, expect.length, 10);
            bytes += readRangeAndCompare(mm, fs, id, h.rel(), expect, Math.max(0, expect.length - 1), 10);
        }
        System.out.println("KernelImageReadTest: compared " + (bytes >> 20) + " MiB of file data");
        mm.assertNone();
    }

    private static long readAllAndCompare(Mismatches mm, Filesystem f, InodeId id, String rel, byte[] expect, int chunk)
            throws IOException {
        byte[] got = new byte[expect.length];
        byte[] buf = new byte[chunk + 3];
        long pos = 0;
        while (true) {
            int n = f.read(id, pos, buf, 3, chunk);
            if (n < 0 || n > chunk) {
                mm.add(rel, "read(" + pos + ", " + chunk + ") returned " + n);
                return pos;
            }
            if (n == 0) {
                break;
            }
            if (pos + n > expect.length) {
                mm.add(rel, "read past EOF: read(" + pos + ", " + chunk + ") returned " + n + ", size " + expect.length);
                return pos;
            }
            System.arraycopy(buf, 3, got, (int) pos, n);
            pos += n;
            if (n < chunk && pos < expect.length) {
                mm.add(rel, "short read(" + (pos - n) + ", " + chunk + ") = " + n + " before EOF " + expect.length);
                return pos;
            }
        }
        if (pos != expect.length) {
            mm.add(rel, "read " + pos + " bytes in chunks of " + chunk + ", size " + expect.length);
        } else {
            int d = Arrays.mismatch(expect, got);
            if (d >= 0) {
                mm.add(rel, "content differs at byte " + d + " (chunks of " + chunk + "): expect "
                        + hexAround(expect, d) + " got " + hexAround(got, d));
            }
        }
        return pos;
    }

    private static long readRangeAndCompare(Mismatches mm, Filesystem f, InodeId id, String rel, byte[] expect, long pos,
            int len) throws IOException {
        byte[] buf = new byte[len + 2];
        Arrays.fill(buf, (byte) 0x5a);
        int n = f.read(id, pos, buf, 1, len);
        int want = (int) Math.max(0, Math.min(len, expect.length - pos));
        if (n != want) {
            mm.add(rel, "read(" + pos + ", " + len + ") returned " + n + ", expect " + want);
            return 0;
        }
        if (buf[0] != 0x5a || buf[n + 1] != 0x5a) {
            mm.add(rel, "read(" + pos + ", " + len + ") wrote outside dst[off, off+n)");
        }
        if (!Arrays.equals(buf, 1, 1 + n, expect, (int) Math.min(pos, expect.length), (int) Math.min(pos, expect.length) + n)) {
            mm.add(rel, "read(" + pos + ", " + len + ") content differs");
        }
        return n;
    }

    @Test
    void hardLinksAreOneInode() throws IOException {
        Map<String, List<String>> byHostInode = new TreeMap<>();
        for (Node h : host.values()) {
            if (!h.isDir()) {
                byHostInode.computeIfAbsent(h.dev() + ":" + h.ino(), x -> new ArrayList<>()).add(h.rel());
            }
        }
        Map<InodeId, String> owner = new HashMap<>();
        Mismatches mm = new Mismatches();
        int multi = 0;
        for (Map.Entry<String, List<String>> e : byHostInode.entrySet()) {
            Set<InodeId> ids = new HashSet<>();
            for (String rel : e.getValue()) {
                ids.add(jb().get(rel).id());
            }
            mm.check(e.getValue().get(0), "one jbtrfs inode for host inode " + e.getKey() + " " + e.getValue(), 1, ids.size());
            for (InodeId id : ids) {
                String prev = owner.putIfAbsent(id, e.getKey());
                if (prev != null) {
                    mm.add(e.getValue().get(0), "jbtrfs inode " + id + " shared by host inodes " + prev + " and " + e.getKey());
                }
                mm.check(e.getValue().get(0), "nlink = names found", (long) e.getValue().size(), fs.getattr(id).nlink());
            }
            multi += e.getValue().size() > 1 ? 1 : 0;
        }
        assertTrue(multi >= 5, "expected several hard-linked inodes, found " + multi);
        assertEquals(100, jb().get("hard/many/base").attr().nlink());
        mm.assertNone();
    }

    @Test
    void readdirInBatchesOfSevenSeesEveryEntryOnceInOrder() throws IOException {
        InodeId big = fs.resolve("/big");
        List<DirEntry> full = fs.list(big);
        assertEquals(SourceTree.BIG_DIR_ENTRIES, full.size());
        for (JbNode d : jb().values()) {
            if (!d.attr().isDirectory()) {
                continue;
            }
            List<DirEntry> batched = new ArrayList<>();
            long off = 0;
            long lastNext = -1;
            while (true) {
                List<DirEntry> batch = fs.readdir(d.id(), off, 7);
                if (batch.isEmpty()) {
                    break;
                }
                assertTrue(batch.size() <= 7, "batch of " + batch.size());
                for (DirEntry e : batch) {
                    assertTrue(e.nextOffset() > lastNext, d.rel() + ": offsets must grow: " + e + " after " + lastNext);
                    lastNext = e.nextOffset();
                }
                batched.addAll(batch);
                off = batch.get(batch.size() - 1).nextOffset();
            }
            assertTrue(batched.size() >= 2, d.rel() + ": no . and ..");
            assertEquals(".", batched.get(0).name(), d.rel());
            assertEquals(d.id(), batched.get(0).target(), d.rel() + ": . is the directory");
            assertEquals("..", batched.get(1).name(), d.rel());
            assertEquals(d.rel().isEmpty() ? d.id() : fs.parent(d.id()), batched.get(1).target(), d.rel() + ": ..");
            List<String> names = batched.subList(2, batched.size()).stream().map(DirEntry::name).toList();
            assertEquals(d.children().stream().map(DirEntry::name).toList(), names, d.rel() + ": batched readdir vs list()");
            assertEquals(names.size(), new HashSet<>(names).size(), d.rel() + ": a name appeared twice");
        }
        // Resuming at any entry's offset continues right after it.
        Random rnd = new Random(SEED);
        for (int i = 0; i < 200; i++) {
            int k = rnd.nextInt(full.size());
            List<DirEntry> rest = fs.readdir(big, full.get(k).nextOffset(), 3);
            List<DirEntry> expect = full.subList(k + 1, Math.min(full.size(), k + 4));
            assertEquals(expect.stream().map(DirEntry::name).toList(), rest.stream().map(DirEntry::name).toList(),
                    "resume after entry " + k);
        }
        assertEquals(List.of(), fs.readdir(big, full.get(full.size() - 1).nextOffset(), 7));
        assertEquals(List.of(), fs.readdir(big, 0, 0));
        assertEquals(List.of("."), fs.readdir(big, 0, 1).stream().map(DirEntry::name).toList());
        assertEquals("..", fs.readdir(big, 1, 1).get(0).name());
    }

    @Test
    void subvolumesSnapshotsAndThePlaceholder() throws IOException {
        Map<String, JbNode> j = jb();
        InodeId top = fs.root();
        assertEquals(new InodeId(ObjectIds.FS_TREE, ObjectIds.FIRST_FREE), top);
        Set<Long> roots = new HashSet<>();
        for (String s : new String[] {"subvol", "subvol/nested", "snap", "snap-ro"}) {
            InodeId id = j.get(s).id();
            assertEquals(ObjectIds.FIRST_FREE, id.ino(), s + " top directory");
            assertTrue(roots.add(id.root()), s + " has a subvolume of its own: " + id);
            assertNotEquals(ObjectIds.FS_TREE, id.root(), s);
            RootItem ri = fs.fsInfo().rootItem(id.root());
            assertEquals(s.equals("snap-ro"), ri.isReadOnly(), s + " read-only flag");
        }
        assertEquals(top, fs.parent(j.get("subvol").id()));
        assertEquals(j.get("subvol").id(), fs.parent(j.get("subvol/nested").id()));
        assertEquals(top, fs.resolve("/snap/.."));
        for (String p : PLACEHOLDERS) {
            JbNode n = j.get(p);
            String parent = p.substring(0, p.indexOf('/'));
            assertEquals(new InodeId(j.get(parent).id().root(), ObjectIds.EMPTY_SUBVOL_DIR), n.id(), p);
            assertEquals(2, kernel.get(p).ino(), p + ": the kernel shows inode 2 too");
            assertTrue(n.attr().isDirectory(), p);
            assertEquals(List.of(), n.children(), p + " is empty");
            assertEquals(List.of(), fs.listxattr(n.id()));
            assertThrows(FsException.class, () -> fs.lookup(n.id(), "n1"));
        }
        // The snapshots share the source's inode numbers and bytes.
        for (String rel : j.keySet()) {
            if (rel.startsWith("subvol/") && !rel.startsWith("subvol/nested")) {
                for (String s : new String[] {"snap", "snap-ro"}) {
                    JbNode twin = j.get(s + rel.substring(6));
                    assertEquals(j.get(rel).id().ino(), twin.id().ino(), twin.rel());
                }
            }
        }
    }

    /**
     * The format layer agrees that the image holds what the test meant to create: compressed
     * extents of each type (regular and inline), file extents pointing into the middle of a
     * compressed extent, inline and prealloc extents, and INODE_EXTREF items.
     */
    @Test
    void theImageHoldsEveryKindOfExtent() throws IOException {
        int[] byCompression = new int[4];
        int[] inlineByCompression = new int[4];
        int[] counts = new int[5]; // inline, regular, prealloc, compressed with offset != 0, extrefs
        for (String sv : new String[] {"", "subvol", "subvol/nested"}) {
            TreeRoot root = fs.fsInfo().treeRoot(jb().get(sv).id().root());
            fs.fsInfo().btree().scan(root, DiskKey.MIN, DiskKey.MAX, (key, b, o, l) -> {
                if (key.type() == ItemType.INODE_EXTREF) {
                    counts[4]++;
                }
                if (key.type() != ItemType.EXTENT_DATA) {
                    return true;
                }
                FileExtentItem fe = FileExtentItem.decode(b, o, l);
                int c = Math.min(fe.compression(), 3);
                byCompression[c]++;
                counts[fe.type()]++;
                if (fe.isInline()) {
                    inlineByCompression[c]++;
                } else if (fe.compression() != 0 && fe.offset() != 0) {
                    counts[3]++;
                }
                return true;
            });
        }
        String summary = "extents by compression (none, zlib, lzo, zstd) " + Arrays.toString(byCompression)
                + ", inline by compression " + Arrays.toString(inlineByCompression)
                + ", inline/regular/prealloc/compressed-with-offset/extrefs " + Arrays.toString(counts);
        System.out.println("KernelImageReadTest: " + summary);
        for (int c = 1; c <= 3; c++) {
            assertTrue(byCompression[c] > 0, "no extents of compression " + c + ": " + summary);
            assertTrue(inlineByCompression[c] > 0, "no inline extents of compression " + c + ": " + summary);
        }
        for (int i = 0; i < counts.length; i++) {
            assertTrue(counts[i] > 0, "kind " + i + " missing: " + summary);
        }
        // Each comp-TYPE/text file is compressed with its own type only.
        for (int c = 1; c <= 3; c++) {
            long ino = jb().get("comp-" + SourceTree.COMPRESSION[c - 1] + "/text").id().ino();
            Set<Integer> types = new HashSet<>();
            TreeRoot root = fs.fsInfo().treeRoot(ObjectIds.FS_TREE);
            fs.fsInfo().btree().scan(root, new DiskKey(ino, ItemType.EXTENT_DATA, 0),
                    new DiskKey(ino, ItemType.EXTENT_DATA, -1L), (key, b, o, l) -> {
                        types.add(FileExtentItem.decode(b, o, l).compression());
                        return true;
                    });
            // The tail sector stays uncompressed (compress_file_range does not compress a lone sector).
            assertTrue(types.contains(c) && Set.of(0, c).containsAll(types), "compression of comp-"
                    + SourceTree.COMPRESSION[c - 1] + "/text: " + types);
        }
    }

    /** The xattr comparisons above are not vacuous: each kind the tree sets is there. */
    @Test
    void xattrsOfEveryKindAreThere() throws IOException {
        Map<String, JbNode> j = jb();
        assertEquals(3072, j.get("xattr/big").xattrs().get("user.big").length);
        assertEquals(30, j.get("xattr/many").xattrs().size());
        assertEquals(0, j.get("xattr/empty").xattrs().get("user.empty").length);
        assertEquals("dirval", str(j.get("xattr/dir").xattrs().get("user.d")));
        assertEquals("sv", str(j.get("snap-ro/xattr-file").xattrs().get("user.s")));
        if (tree.hasPrivilegedXattrs()) {
            assertEquals(Set.of("security.test", "trusted.t", "user.u"), j.get("xattr/sec").xattrs().keySet());
            assertEquals("linkval", str(j.get("xattr/seclink").xattrs().get("security.onlink")));
        } else {
            System.out.println("KernelImageReadTest: no setfattr; security.* and trusted.* xattrs not covered");
        }
    }

    @Test
    void symlinksInTheMiddleOfAPathAreFollowed() throws IOException {
        assertEquals(fs.resolve("/deep/a/fa"), fs.resolve("/links/to-dir/a/fa"));
        assertEquals(fs.resolve("/deep/a/b"), fs.resolve("links/to-dir/a/./b/../b"));
        assertTrue(fs.getattr(fs.resolve("/links/to-dir")).isSymlink(), "the last component is not followed");
        assertErrno(Errno.ELOOP, () -> fs.resolve("/links/loop1/x"));
        assertErrno(Errno.ENOENT, () -> fs.resolve("/links/dangling/x"));
        assertEquals(4095, fs.readlink(fs.resolve("/links/long4095")).length);
    }

    @Test
    void refusalsCarryTheirErrno() throws IOException {
        InodeId file = fs.resolve("/files/b100");
        InodeId dir = fs.resolve("/files");
        assertErrno(Errno.ENOENT, () -> fs.lookup(dir, "no-such-name"));
        assertErrno(Errno.ENOTDIR, () -> fs.lookup(file, "x"));
        assertErrno(Errno.ENOTDIR, () -> fs.readdir(file, 0, 10));
        assertErrno(Errno.ENODATA, () -> fs.getxattr(file, "user.absent"));
        assertErrno(Errno.EINVAL, () -> fs.readlink(file));
        assertErrno(Errno.EISDIR, () -> fs.read(dir, 0, new byte[10], 0, 10));
        assertErrno(Errno.ENAMETOOLONG, () -> fs.lookup(dir, "x".repeat(256)));
        assertEquals(fs.resolve("/names/" + "n".repeat(255)), fs.lookup(fs.resolve("/names"), "n".repeat(255)));
    }

    /**
     * statfs(2) against the kernel's. f_blocks is total_bytes / bsize on both sides and must be
     * equal (and equal to the image size, which mkfs used whole). The kernel's f_bfree leaves out
     * the global block reserve (btrfs_statfs subtracts block_rsv->size), which exists only in a
     * mounted kernel; so jbtrfs' f_bfree may exceed the kernel's by that much and no more
     * (tolerance: the GlobalReserve total of {@code btrfs filesystem df}, plus one block of
     * rounding). f_bavail: the kernel counts the unallocated device space a new data chunk could
     * use (btrfs_calc_avail_data_space, which keeps the first MiB and rounds to whole stripes),
     * jbtrfs all of it; tolerance 1 MiB for the reserved start plus 1% of the device for chunk
     * rounding.
     */
    @Test
    void statfsAgreesWithTheKernel() throws IOException {
        StatFs s = fs.statfs();
        System.out.printf("KernelImageReadTest: statfs jbtrfs bsize=%d blocks=%d bfree=%d bavail=%d; kernel "
                + "bsize=%d blocks=%d bfree=%d bavail=%d; global reserve %d bytes%n", s.bsize(), s.blocks(), s.bfree(),
                s.bavail(), kernelStatfs[0], kernelStatfs[1], kernelStatfs[2], kernelStatfs[3], kernelGlobalReserveBytes);
        assertEquals(4096, s.bsize());
        assertEquals(kernelStatfs[0], s.bsize(), "f_bsize");
        assertEquals(IMAGE_BYTES, s.blocks() * s.bsize(), "f_blocks * f_bsize is the image size");
        assertEquals(kernelStatfs[1], s.blocks(), "f_blocks");
        assertEquals(kernelStatfs[4], s.namelen(), "f_namelen");
        assertTrue(s.bavail() <= s.bfree() && s.bfree() <= s.blocks(), "bavail <= bfree <= blocks: " + s);
        long reserveBlocks = kernelGlobalReserveBytes / s.bsize() + 1;
        long dFree = s.bfree() - kernelStatfs[2];
        assertTrue(dFree >= 0 && dFree <= reserveBlocks, "f_bfree " + s.bfree() + " vs kernel " + kernelStatfs[2]
                + ": difference " + dFree + " blocks, allowed 0.." + reserveBlocks + " (global reserve)");
        long availTolerance = ((1L << 20) + IMAGE_BYTES / 100) / s.bsize();
        assertTrue(Math.abs(s.bavail() - kernelStatfs[3]) <= availTolerance, "f_bavail " + s.bavail() + " vs kernel "
                + kernelStatfs[3] + ", allowed difference " + availTolerance + " blocks");
    }

    // ---------------------------------------------------------------- helpers

    private static void assertErrno(Errno expect, org.junit.jupiter.api.function.Executable call) {
        FsException e = assertThrows(FsException.class, call);
        assertEquals(expect, e.errno(), e.getMessage());
    }

    private static int fileType(int mode) {
        return DirItem.fileTypeOfMode(mode);
    }

    private static String oct(int mode) {
        return "0" + Integer.toOctalString(mode);
    }

    private static String str(byte[] b) {
        return b == null ? "null" : new String(b, StandardCharsets.UTF_8);
    }

    private static String xattrString(Map<String, byte[]> x) {
        StringBuilder sb = new StringBuilder("{");
        for (Map.Entry<String, byte[]> e : new TreeMap<>(x).entrySet()) {
            sb.append(e.getKey()).append('=').append(java.util.HexFormat.of().formatHex(e.getValue())).append(' ');
        }
        return sb.append('}').toString();
    }

    private static String hexAround(byte[] b, int at) {
        int from = Math.max(0, at - 4);
        return java.util.HexFormat.of().formatHex(b, from, Math.min(b.length, at + 12));
    }

    /** Collects every difference so that one run shows them all, then fails with the first ones. */
    static final class Mismatches {
        private final List<String> found = new ArrayList<>();

        void check(String rel, String what, Object expect, Object actual) {
            if (!java.util.Objects.equals(expect, actual)) {
                add(rel, what + ": expect " + abbreviate(expect) + ", jbtrfs has " + abbreviate(actual));
            }
        }

        void add(String rel, String message) {
            found.add("/" + rel + ": " + message);
        }

        void assertNone() {
            if (!found.isEmpty()) {
                // The whole list goes to the test output, the first ones into the failure message.
                found.subList(0, Math.min(found.size(), MISMATCHES_PRINTED)).forEach(System.out::println);
                Supplier<String> msg = () -> found.size() + " mismatches (first " + Math.min(found.size(), MISMATCHES_SHOWN)
                        + "):\n  " + String.join("\n  ", found.subList(0, Math.min(found.size(), MISMATCHES_SHOWN)));
                fail(msg.get());
            }
        }

        private static String abbreviate(Object o) {
            String s = String.valueOf(o);
            return s.length() <= 300 ? s : s.substring(0, 300) + "...(" + s.length() + " chars)";
        }
    }
}
