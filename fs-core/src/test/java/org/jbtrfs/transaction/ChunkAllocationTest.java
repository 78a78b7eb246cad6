package org.jbtrfs.transaction;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jbtrfs.Errno;
import org.jbtrfs.FsException;
import org.jbtrfs.OpenOptions;
import org.jbtrfs.check.CheckAssertions;
import org.jbtrfs.ctree.CowRoot;
import org.jbtrfs.device.ChunkMap;
import org.jbtrfs.device.FileBlockDevice;
import org.jbtrfs.disk.FsInfo;
import org.jbtrfs.extent.BlockGroup;
import org.jbtrfs.format.BlockGroupItem;
import org.jbtrfs.format.Crc32c;
import org.jbtrfs.format.DirItem;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.ItemType;
import org.jbtrfs.format.ObjectIds;
import org.jbtrfs.format.Superblock;
import org.jbtrfs.testing.KernelImages;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Chunk allocation end to end on mkfs.btrfs images: metadata filling up grows by new chunks, SYSTEM
 * chunks land in the sys_chunk_array, a full device fails with ENOSPC and leaves a clean image, and
 * a DATA chunk from reserveExtent is a valid empty block group. Every image is reopened, checked by
 * our checker and btrfs check, and (where root and loop devices exist) mounted by the kernel, whose
 * {@code btrfs filesystem df} must show the chunk totals we allocated. Prints its seed.
 */
class ChunkAllocationTest {
    static final long MIB = 1L << 20;

    @TempDir
    Path tmp;
    long seed;
    Random rnd;

    @BeforeEach
    void setUp() {
        Assumptions.assumeTrue(KernelImages.which("mkfs.btrfs") != null, "skipped: btrfs-progs is not installed");
        seed = Long.getLong("jbtrfs.seed", System.nanoTime());
        System.out.println("ChunkAllocationTest: seed=" + seed + " (replay with -Djbtrfs.seed=" + seed + ")");
        rnd = new Random(seed);
    }

    @Test
    void metadataFillingUpGetsNewChunks4k() throws Exception {
        metadataFillingUpGetsNewChunks(256 * MIB, "-n", "4096");
    }

    @Test
    void metadataFillingUpGetsNewChunksSingleProfile16k() throws Exception {
        metadataFillingUpGetsNewChunks(300 * MIB, "-m", "single");
    }

    private void metadataFillingUpGetsNewChunks(long size, String... mkfsArgs) throws Exception {
        Path img = tmp.resolve("meta.img");
        KernelImages.mkfs(img, size, mkfsArgs);
        Map<String, Integer> before = chunkCounts(img);
        long profileBefore = profileOf(img, BlockGroupItem.METADATA);
        TreeMap<String, byte[]> model = new TreeMap<>();
        int commits = 4;
        try (FsInfo fs = FsInfo.open(FileBlockDevice.open(img, false), OpenOptions.readOnlyDefaults())) {
            FsTrees trees = FsTrees.open(fs);
            long metaTotal = trees.blockGroups().summary(BlockGroupItem.METADATA).totalBytes();
            // Big xattrs: about one per leaf, so the items alone need more than the metadata there is.
            long itemsPerCommit = metaTotal / fs.nodesize() * 5 / 4 / commits + 1;
            for (int c = 0; c < commits; c++) {
                TransHandle h = trees.transactions().start();
                CowRoot root = trees.root(ObjectIds.FS_TREE);
                root.lock.writeLock().lock();
                try {
                    for (int i = 0; i < itemsPerCommit; i++) {
                        String name = "user.c" + c + "." + i;
                        byte[] v = new byte[fs.nodesize() - 400 - rnd.nextInt(Math.min(1000, fs.nodesize() / 2))];
                        rnd.nextBytes(v);
                        if (insertXattr(trees, h.transid(), root, name, v)) {
                            model.put(name, v);
                        }
                    }
                } finally {
                    root.lock.writeLock().unlock();
                }
                trees.transactions().commit(h);
                assertEquals(0, trees.chunkAllocator().pendingCount(), "every chunk inserted by the commit");
            }
            long metaAfter = trees.blockGroups().summary(BlockGroupItem.METADATA).totalBytes();
            assertTrue(metaAfter > metaTotal, "seed " + seed + ": metadata grew from " + metaTotal + " to " + metaAfter);
        }
        Map<String, Integer> after = chunkCounts(img);
        assertTrue(after.get("METADATA") > before.get("METADATA"), "seed " + seed + ": " + before + " -> " + after);
        assertEquals(profileBefore, profileOf(img, BlockGroupItem.METADATA), "new chunks keep the image's profile");
        assertSuperblockCopiesIntact(img);
        assertModel(img, model);
        assertCleanAndKernelAgrees(img, model);
    }

    @Test
    void systemChunksGoIntoTheSysChunkArrayUntilItIsFull() throws Exception {
        Path img = tmp.resolve("sys.img");
        KernelImages.mkfs(img, 2048 * MIB, "-n", "4096");
        int arrayBefore;
        int made = 0;
        FsException full;
        TreeMap<String, byte[]> model = new TreeMap<>();
        try (FsInfo fs = FsInfo.open(FileBlockDevice.open(img, false), OpenOptions.readOnlyDefaults())) {
            arrayBefore = sysArrayEntries(fs.superblock());
            FsTrees trees = FsTrees.open(fs);
            TransHandle h = trees.transactions().start();
            BlockGroup first = trees.chunkAllocator().allocChunk(BlockGroupItem.SYSTEM);
            made++;
            assertEquals(BlockGroupItem.SYSTEM | BlockGroupItem.DUP, first.flags());
            assertEquals(32 * MIB, first.length());
            addItems(trees, h, model, 50);
            trees.transactions().commit(h);
            assertEquals(arrayBefore + 1, sysArrayEntries(trees.superblock()));
            // Up to the 2048-byte limit, over a few transactions.
            while (true) {
                TransHandle t = trees.transactions().start();
                try {
                    for (int i = 0; i < 3; i++) {
                        trees.chunkAllocator().allocChunk(BlockGroupItem.SYSTEM);
                        made++;
                    }
                } catch (FsException e) {
                    trees.transactions().commit(t);
                    full = e;
                    break;
                }
                trees.transactions().commit(t);
            }
            assertEquals(arrayBefore + made, sysArrayEntries(trees.superblock()));
        }
        assertEquals(Errno.ENOSPC, full.errno());
        assertTrue(full.getMessage().contains("sys_chunk_array"), full.getMessage());
        // DUP entries are 17 + 48 + 2 * 32 = 129 bytes: 15 fit in 2048.
        assertEquals(15, arrayBefore + made);
        try (FsInfo fs = FsInfo.open(FileBlockDevice.open(img, true), OpenOptions.readOnlyDefaults())) {
            assertEquals(arrayBefore + made, sysArrayEntries(fs.superblock()));
            assertEquals(arrayBefore + made, count(fs, BlockGroupItem.SYSTEM));
        }
        assertModel(img, model);
        assertCleanAndKernelAgrees(img, model);
    }

    @Test
    void aFullDeviceFailsWithEnospcAndKeepsWhatWasCommitted() throws Exception {
        Path img = tmp.resolve("full.img");
        KernelImages.mkfs(img, 300 * MIB, "-n", "4096");
        TreeMap<String, byte[]> model = new TreeMap<>();
        try (FsInfo fs = FsInfo.open(FileBlockDevice.open(img, false), OpenOptions.readOnlyDefaults())) {
            FsTrees trees = FsTrees.open(fs);
            TransHandle h = trees.transactions().start();
            addItems(trees, h, model, 300);
            trees.transactions().commit(h);

            TransHandle t = trees.transactions().start();
            int chunks = 0;
            FsException e = null;
            while (e == null) {
                long type = rnd.nextInt(4) == 0 ? BlockGroupItem.METADATA : BlockGroupItem.DATA;
                try {
                    trees.chunkAllocator().allocChunk(type);
                    chunks++;
                    assertTrue(chunks < 1000, "seed " + seed + ": the device never filled");
                } catch (FsException x) {
                    e = x;
                }
            }
            assertEquals(Errno.ENOSPC, e.errno());
            assertTrue(e.getMessage().contains("no unallocated hole"), e.getMessage());
            long left = trees.chunkAllocator().unallocatedBytes();
            // The first MiB is never allocated; beyond it, less than a DUP chunk's two 64 KiB stripes.
            assertTrue(left - org.jbtrfs.extent.DevExtents.DEVICE_RANGE_RESERVED < 128 << 10,
                    "seed " + seed + ": ENOSPC with " + left + " bytes unallocated");
            // The engine's entry point says the same, once the existing data groups are full.
            FsException viaReserve = assertThrows(FsException.class,
                    () -> trees.reserveExtent(t.transid(), BlockGroupItem.DATA, 512 * MIB, 0));
            assertEquals(Errno.ENOSPC, viaReserve.errno());
            addItems(trees, t, model, 200);
            trees.transactions().commit(t);
            System.out.println("ChunkAllocationTest: " + chunks + " chunks until ENOSPC: " + e.getMessage());
        }
        assertModel(img, model);
        assertCleanAndKernelAgrees(img, model);
    }

    @Test
    void aDataChunkFromReserveExtentIsAValidEmptyBlockGroup() throws Exception {
        Path img = tmp.resolve("data.img");
        KernelImages.mkfs(img, 256 * MIB);
        TreeMap<String, byte[]> model = new TreeMap<>();
        long dataBefore;
        try (FsInfo fs = FsInfo.open(FileBlockDevice.open(img, false), OpenOptions.readOnlyDefaults())) {
            FsTrees trees = FsTrees.open(fs);
            dataBefore = trees.blockGroups().summary(BlockGroupItem.DATA).totalBytes();
            TransHandle h = trees.transactions().start();
            // More than the mkfs data group holds: a new chunk, and the range is inside it.
            long bytes = dataBefore + MIB;
            long at = trees.reserveExtent(h.transid(), BlockGroupItem.DATA, bytes, 0);
            BlockGroup bg = trees.blockGroups().find(at);
            assertTrue(bg.isData() && at + bytes <= bg.end() && bg.start() >= dataBefore, bg + " at " + at);
            assertEquals(1, trees.chunkAllocator().pendingCount());
            trees.unreserveExtent(at, bytes);
            addItems(trees, h, model, 20);
            trees.transactions().commit(h);
            assertEquals(dataBefore + 32 * MIB, trees.blockGroups().summary(BlockGroupItem.DATA).totalBytes());
        }
        try (FsInfo fs = FsInfo.open(FileBlockDevice.open(img, true), OpenOptions.readOnlyDefaults())) {
            assertEquals(2, count(fs, BlockGroupItem.DATA));
        }
        assertModel(img, model);
        assertCleanAndKernelAgrees(img, model);
    }

    @Test
    void theAllocatorNeverHandsOutTheSuperblockCopyInsideAMetadataChunk() throws Exception {
        Path img = tmp.resolve("super.img");
        KernelImages.mkfs(img, 256 * MIB, "-n", "4096");
        try (FsInfo fs = FsInfo.open(FileBlockDevice.open(img, false), OpenOptions.readOnlyDefaults())) {
            FsTrees trees = FsTrees.open(fs);
            long[] copy = null;
            for (ChunkMap.Mapping m : fs.chunks()) {
                for (long[] r : org.jbtrfs.extent.BlockGroups.superStripes(m.logical(), m.length(), m.stripes())) {
                    if ((m.type() & BlockGroupItem.METADATA) != 0) {
                        copy = r;
                    }
                }
            }
            assertTrue(copy != null, "mkfs 256 MiB puts the 64 MiB copy inside the metadata chunk");
            List<Long> got = new ArrayList<>();
            while (true) {
                try {
                    got.add(trees.blockGroups().reserve(BlockGroupItem.METADATA, fs.nodesize(), 0));
                } catch (FsException e) {
                    break;
                }
            }
            for (long at : got) {
                assertTrue(at + fs.nodesize() <= copy[0] || at >= copy[0] + copy[1],
                        "reserved " + at + " over the superblock copy at logical " + copy[0]);
            }
            BlockGroup meta = trees.blockGroups().find(copy[0]);
            assertEquals((meta.length() - meta.used() - copy[1]) / fs.nodesize(), got.size());
            for (long at : got) {
                trees.unreserveExtent(at, fs.nodesize());
            }
        }
    }

    // ---------------------------------------------------------------- helpers

    private void addItems(FsTrees trees, TransHandle h, TreeMap<String, byte[]> model, int n) throws IOException {
        CowRoot root = trees.root(ObjectIds.FS_TREE);
        root.lock.writeLock().lock();
        try {
            for (int i = 0; i < n; i++) {
                String name = "user.t" + h.transid() + "." + i;
                byte[] v = new byte[rnd.nextInt(300)];
                rnd.nextBytes(v);
                if (insertXattr(trees, h.transid(), root, name, v)) {
                    model.put(name, v);
                }
            }
        } finally {
            root.lock.writeLock().unlock();
        }
    }

    private static boolean insertXattr(FsTrees trees, long transid, CowRoot root, String name, byte[] value)
            throws IOException {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        DiskKey key = new DiskKey(256, ItemType.XATTR_ITEM, Crc32c.nameHash(n));
        DirItem d = new DirItem(new DiskKey(0, 0, 0), transid, DirItem.FT_XATTR, n, value);
        return trees.cow().insertItem(transid, root, key, DirItem.encodeAll(List.of(d)));
    }

    private static void assertModel(Path img, TreeMap<String, byte[]> model) throws IOException {
        try (org.jbtrfs.Filesystem fs = org.jbtrfs.Filesystem.open(img, OpenOptions.readOnlyDefaults())) {
            List<String> names = new ArrayList<>();
            for (byte[] b : fs.listxattr(fs.root())) {
                names.add(new String(b, StandardCharsets.UTF_8));
            }
            names.sort(null);
            assertEquals(new ArrayList<>(model.keySet()), names);
            for (Map.Entry<String, byte[]> e : model.entrySet()) {
                assertArrayEquals(e.getValue(), fs.getxattr(fs.root(), e.getKey()), e.getKey());
            }
        }
    }

    /**
     * The copy at 64 MiB lies inside a metadata chunk of these images; filling metadata must have
     * allocated around it (exclude_super_stripes), so it is still a valid copy of this generation.
     */
    private static void assertSuperblockCopiesIntact(Path img) throws IOException {
        try (FsInfo fs = FsInfo.open(FileBlockDevice.open(img, true), OpenOptions.readOnlyDefaults())) {
            for (long off : Superblock.MIRROR_OFFSETS) {
                if (off + Superblock.SIZE > fs.device().size()) {
                    continue;
                }
                byte[] b = new byte[Superblock.SIZE];
                fs.device().read(off, b, 0, b.length);
                Superblock copy = new Superblock(b);
                copy.validate(off);
                assertEquals(fs.superblock().generation(), copy.generation(), "superblock copy at " + off);
            }
        }
    }

    private static Map<String, Integer> chunkCounts(Path img) throws IOException {
        try (FsInfo fs = FsInfo.open(FileBlockDevice.open(img, true), OpenOptions.readOnlyDefaults())) {
            return Map.of("DATA", count(fs, BlockGroupItem.DATA), "METADATA", count(fs, BlockGroupItem.METADATA),
                    "SYSTEM", count(fs, BlockGroupItem.SYSTEM));
        }
    }

    private static int count(FsInfo fs, long type) {
        int n = 0;
        for (ChunkMap.Mapping m : fs.chunks()) {
            n += (m.type() & BlockGroupItem.TYPE_MASK) == type ? 1 : 0;
        }
        return n;
    }

    private static long profileOf(Path img, long type) throws IOException {
        try (FsInfo fs = FsInfo.open(FileBlockDevice.open(img, true), OpenOptions.readOnlyDefaults())) {
            long p = -1;
            for (ChunkMap.Mapping m : fs.chunks()) {
                if ((m.type() & BlockGroupItem.TYPE_MASK) == type) {
                    long mine = m.type() & BlockGroupItem.PROFILE_MASK;
                    assertTrue(p < 0 || p == mine, "mixed profiles for " + type);
                    p = mine;
                }
            }
            return p;
        }
    }

    private static int sysArrayEntries(Superblock sb) throws IOException {
        ChunkMap m = new ChunkMap(sb.devItem().devid());
        m.loadSysChunkArray(sb.sysChunkArray());
        return m.mappings().size();
    }

    /** Totals per type as we hold them: the sum of the chunk lengths. */
    private static Map<String, Long> ourTotals(Path img) throws IOException {
        try (FsInfo fs = FsInfo.open(FileBlockDevice.open(img, true), OpenOptions.readOnlyDefaults())) {
            Map<String, Long> t = new TreeMap<>();
            for (ChunkMap.Mapping m : fs.chunks()) {
                String k = (m.type() & BlockGroupItem.DATA) != 0 ? "Data"
                        : (m.type() & BlockGroupItem.SYSTEM) != 0 ? "System" : "Metadata";
                t.merge(k, m.length(), Long::sum);
            }
            return t;
        }
    }

    private void assertCleanAndKernelAgrees(Path img, TreeMap<String, byte[]> model) throws IOException {
        CheckAssertions.assertClean(img);
        Map<String, Long> ours = ourTotals(img);
        System.out.println("ChunkAllocationTest: chunk totals " + ours);
        if (!KernelImages.unavailableReason().isEmpty()) {
            System.out.println("ChunkAllocationTest: kernel mount skipped: " + KernelImages.unavailableReason());
            return;
        }
        Path mnt = Files.createDirectories(tmp.resolve("mnt"));
        try (KernelImages.LoopMount m = KernelImages.mount(img, mnt, "ro")) {
            String df = KernelImages.runChecked(KernelImages.COMMAND_TIMEOUT, "btrfs", "filesystem", "df", "-b",
                    mnt.toString()).output();
            Map<String, Long> kernel = new TreeMap<>();
            Matcher mt = Pattern.compile("(?m)^(Data|System|Metadata), [^:]+: total=(\\d+)").matcher(df);
            while (mt.find()) {
                kernel.put(mt.group(1), Long.parseLong(mt.group(2)));
            }
            assertEquals(ours, kernel, "btrfs filesystem df:\n" + df);
            var view = Files.getFileAttributeView(mnt, java.nio.file.attribute.UserDefinedFileAttributeView.class);
            // A sample: listing thousands of big names overflows listxattr's 64 KiB (ERANGE).
            List<String> names = new ArrayList<>(model.keySet());
            for (int i = 0; i < Math.min(30, names.size()); i++) {
                String n = names.get(rnd.nextInt(names.size()));
                java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate(view.size(n.substring("user.".length())));
                view.read(n.substring("user.".length()), buf);
                assertArrayEquals(model.get(n), buf.array(), "the kernel reads " + n);
            }
            // The device's allocated bytes (DEV_ITEM bytes_used) and size, as the kernel reports them.
            String usage = KernelImages.runChecked(KernelImages.COMMAND_TIMEOUT, "btrfs", "filesystem", "usage", "-b",
                    mnt.toString()).output();
            Matcher alloc = Pattern.compile("Device allocated:\\s+(\\d+)").matcher(usage);
            assertTrue(alloc.find(), usage);
            try (FsInfo fs = FsInfo.open(FileBlockDevice.open(img, true), OpenOptions.readOnlyDefaults())) {
                assertEquals(fs.superblock().devItem().bytesUsed(), Long.parseLong(alloc.group(1)), usage);
                long chunkBytes = 0;
                for (ChunkMap.Mapping c : fs.chunks()) {
                    chunkBytes += c.length() * c.mirrors();
                }
                assertEquals(chunkBytes, fs.superblock().devItem().bytesUsed(), "dev_item bytes_used = raw chunk bytes");
            }
            org.jbtrfs.StatFs st;
            try (org.jbtrfs.Filesystem fs = org.jbtrfs.Filesystem.open(img, OpenOptions.readOnlyDefaults())) {
                st = fs.statfs();
            }
            String kst = KernelImages.runChecked(KernelImages.COMMAND_TIMEOUT, "stat", "-f", "-c", "%S %b", mnt.toString())
                    .output().strip();
            assertEquals(kst, st.bsize() + " " + st.blocks(), "statfs block size and blocks");
        }
        CheckAssertions.assertClean(img);
    }
}
