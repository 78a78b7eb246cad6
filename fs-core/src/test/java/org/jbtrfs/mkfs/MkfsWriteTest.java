package org.jbtrfs.mkfs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.jbtrfs.DirEntry;
import org.jbtrfs.Filesystem;
import org.jbtrfs.InodeId;
import org.jbtrfs.OpenOptions;
import org.jbtrfs.check.CheckAssertions;
import org.jbtrfs.ctree.CowRoot;
import org.jbtrfs.device.FileBlockDevice;
import org.jbtrfs.disk.FsInfo;
import org.jbtrfs.format.Crc32c;
import org.jbtrfs.format.CsumType;
import org.jbtrfs.format.DirItem;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.ItemType;
import org.jbtrfs.format.ObjectIds;
import org.jbtrfs.format.Superblock;
import org.jbtrfs.mkfs.MkfsOptions.Profile;
import org.jbtrfs.testing.KernelImages;
import org.jbtrfs.transaction.FsTrees;
import org.jbtrfs.transaction.TransHandle;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What comes after mkfs: our own write core opens the new image and commits changes to it, and
 * the Linux kernel mounts it, writes files and directories, and leaves an image that btrfs check
 * passes and our reader shows exactly as written.
 */
class MkfsWriteTest {
    private static final long MIB = 1L << 20;

    @TempDir
    Path tmp;

    /** Enough xattrs to split the fs tree leaf several times and allocate new metadata blocks. */
    @Test
    void ourWriteCoreCommitsOnAFreshImage() throws IOException {
        Path img = tmp.resolve("w.img");
        Mkfs.format(img, MkfsOptions.defaults(128 * MIB).withNodesize(4096));
        long seed = Long.getLong("jbtrfs.seed", System.nanoTime());
        System.out.println("MkfsWriteTest: seed=" + seed);
        Random rnd = new Random(seed);
        Map<String, byte[]> model = new TreeMap<>();
        try (FsInfo fs = FsInfo.open(FileBlockDevice.open(img, false), OpenOptions.readOnlyDefaults())) {
            FsTrees trees = FsTrees.open(fs);
            for (int commit = 0; commit < 2; commit++) {
                TransHandle h = trees.transactions().start();
                CowRoot root = trees.root(ObjectIds.FS_TREE);
                root.lock.writeLock().lock();
                try {
                    for (int i = 0; i < 300; i++) {
                        String name = "user.c" + commit + "." + i;
                        byte[] value = new byte[20 + rnd.nextInt(300)];
                        rnd.nextBytes(value);
                        byte[] n = name.getBytes(StandardCharsets.UTF_8);
                        DirItem d = new DirItem(new DiskKey(0, 0, 0), h.transid(), DirItem.FT_XATTR, n, value);
                        assertTrue(trees.cow().insertItem(h.transid(), root,
                                new DiskKey(256, ItemType.XATTR_ITEM, Crc32c.nameHash(n)), DirItem.encodeAll(List.of(d))));
                        model.put(name, value);
                    }
                } finally {
                    root.lock.writeLock().unlock();
                }
                trees.transactions().commit(h);
            }
            assertEquals(3, trees.superblock().generation());
        }
        CheckAssertions.assertClean(img);
        try (Filesystem fs = Filesystem.open(img, OpenOptions.readOnlyDefaults())) {
            Map<String, byte[]> seen = new TreeMap<>();
            for (byte[] n : fs.listxattr(fs.root())) {
                String name = new String(n, StandardCharsets.UTF_8);
                seen.put(name, fs.getxattr(fs.root(), name));
            }
            assertEquals(model.keySet(), seen.keySet());
            for (String k : model.keySet()) {
                assertArrayEquals(model.get(k), seen.get(k), k);
            }
        }
    }

    /**
     * The second copy of the 256 MiB layout's metadata chunk covers the superblock copy at 64 MiB.
     * Filling metadata past that point must never put a tree block there (the kernel's
     * exclude_super_stripes): every mirror of every tree block stays clear of every superblock copy.
     */
    @Test
    void treeBlocksNeverCoverASuperblockCopy() throws IOException {
        Path img = tmp.resolve("s.img");
        Mkfs.Result r = Mkfs.format(img, MkfsOptions.defaults(256 * MIB));
        MkfsLayout.Chunk meta = r.layout().chunk(org.jbtrfs.format.BlockGroupItem.METADATA);
        assertTrue(meta.stripeOffsets().get(1) < Superblock.MIRROR_OFFSETS[1]
                && meta.stripeOffsets().get(1) + meta.length() > Superblock.MIRROR_OFFSETS[1], "the layout this test needs");
        long mirrorLogical = meta.logical() + Superblock.MIRROR_OFFSETS[1] - meta.stripeOffsets().get(1);
        Random rnd = new Random(5);
        try (FsInfo fs = FsInfo.open(FileBlockDevice.open(img, false), OpenOptions.readOnlyDefaults())) {
            FsTrees trees = FsTrees.open(fs);
            TransHandle h = trees.transactions().start();
            CowRoot root = trees.root(ObjectIds.FS_TREE);
            root.lock.writeLock().lock();
            try {
                // Four 3.9 KiB xattrs fill a 16 KiB leaf: enough leaves to pass the mirror's address.
                long leaves = (mirrorLogical - meta.logical()) / 16384 + 64;
                for (int i = 0; i < leaves * 4; i++) {
                    byte[] n = ("user.fill." + i).getBytes(StandardCharsets.UTF_8);
                    byte[] value = new byte[3900];
                    rnd.nextBytes(value);
                    DirItem d = new DirItem(new DiskKey(0, 0, 0), h.transid(), DirItem.FT_XATTR, n, value);
                    assertTrue(trees.cow().insertItem(h.transid(), root,
                            new DiskKey(256, ItemType.XATTR_ITEM, Crc32c.nameHash(n)), DirItem.encodeAll(List.of(d))));
                }
            } finally {
                root.lock.writeLock().unlock();
            }
            trees.transactions().commit(h);
        }
        CheckAssertions.assertClean(img);
        try (FsInfo fs = FsInfo.open(FileBlockDevice.open(img, true), OpenOptions.readOnlyDefaults())) {
            long[] highest = {0};
            fs.btree().scan(fs.requireTreeRoot(ObjectIds.EXTENT_TREE), DiskKey.MIN, DiskKey.MAX, (key, b, o, l) -> {
                if (key.type() == ItemType.METADATA_ITEM) {
                    highest[0] = Math.max(highest[0], key.objectid());
                    for (long phys : fs.chunkMap().map(key.objectid(), fs.nodesize())) {
                        for (long sb : Superblock.MIRROR_OFFSETS) {
                            assertFalse(sb + Superblock.SIZE > phys && sb < phys + fs.nodesize(),
                                    "tree block " + key.objectid() + " (physical " + phys + ") covers the superblock at " + sb);
                        }
                    }
                }
                return true;
            });
            assertTrue(highest[0] > mirrorLogical, "metadata reached past the mirror: " + highest[0] + " > " + mirrorLogical);
        }
    }

    @Test
    void kernelMountsWritesAndWeReadItBack() throws Exception {
        KernelImages.assumeAvailable();
        for (MkfsOptions o : List.of(MkfsOptions.defaults(256 * MIB),
                MkfsOptions.defaults(1024 * MIB).withNodesize(65536).withCsumType(CsumType.XXHASH64).withLabel("k64"),
                MkfsOptions.defaults(128 * MIB).withMetadataProfile(Profile.SINGLE).withCsumType(CsumType.BLAKE2B),
                MkfsOptions.defaults(128 * MIB).withNodesize(4096).withCsumType(CsumType.SHA256))) {
            kernelRoundTrip(o);
        }
    }

    private void kernelRoundTrip(MkfsOptions o) throws Exception {
        Path img = tmp.resolve("k.img");
        Files.deleteIfExists(img);
        Mkfs.format(img, o);
        Map<String, byte[]> files = new TreeMap<>();
        Random rnd = new Random(o.nodesize() + o.csumType().code());
        Path mnt = tmp.resolve("mnt");
        try (KernelImages.LoopMount m = KernelImages.mount(img, mnt, null)) {
            Files.createDirectories(mnt.resolve("dir/sub"));
            // Inline (small), regular and multi-extent (large) files, at several depths.
            int[] sizes = {0, 17, 3000, 4096, 70_000, 3 << 20};
            String[] where = {"a", "dir/b", "dir/sub/c", "d", "dir/e", "dir/sub/big"};
            for (int i = 0; i < sizes.length; i++) {
                byte[] data = new byte[sizes[i]];
                rnd.nextBytes(data);
                Files.write(mnt.resolve(where[i]), data);
                files.put(where[i], data);
            }
            Files.createDirectories(mnt.resolve("empty"));
        }
        CheckAssertions.assertClean(img);
        try (Filesystem fs = Filesystem.open(img, OpenOptions.readOnlyDefaults())) {
            Map<String, byte[]> seen = new TreeMap<>();
            Map<String, Boolean> dirs = new HashMap<>();
            walk(fs, fs.root(), "", seen, dirs);
            assertEquals(files.keySet(), seen.keySet(), "files with " + o);
            for (String k : files.keySet()) {
                assertArrayEquals(files.get(k), seen.get(k), k);
            }
            assertEquals(Map.of("dir", true, "dir/sub", true, "empty", true), dirs);
        }
    }

    private static void walk(Filesystem fs, InodeId dir, String prefix, Map<String, byte[]> files, Map<String, Boolean> dirs)
            throws IOException {
        for (DirEntry e : fs.list(dir)) {
            String name = new String(e.rawName(), StandardCharsets.UTF_8);
            String rel = prefix.isEmpty() ? name : prefix + "/" + name;
            if (e.fileType() == DirItem.FT_DIR) {
                dirs.put(rel, true);
                walk(fs, e.target(), rel, files, dirs);
            } else {
                long size = fs.getattr(e.target()).size();
                byte[] data = new byte[(int) size];
                int got = 0;
                while (got < size) {
                    int n = fs.read(e.target(), got, data, got, (int) size - got);
                    assertTrue(n > 0, "short read of " + rel);
                    got += n;
                }
                files.put(rel, data);
            }
        }
    }
}
