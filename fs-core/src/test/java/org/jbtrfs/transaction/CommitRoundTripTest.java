package org.jbtrfs.transaction;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.jbtrfs.Filesystem;
import org.jbtrfs.InodeId;
import org.jbtrfs.OpenOptions;
import org.jbtrfs.ctree.CowRoot;
import org.jbtrfs.device.FileBlockDevice;
import org.jbtrfs.disk.FsInfo;
import org.jbtrfs.format.Crc32c;
import org.jbtrfs.format.DirItem;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.ItemType;
import org.jbtrfs.format.ObjectIds;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole write path below the inode layer, end to end on a real image: open an image made by
 * mkfs.btrfs for writing, add thousands of xattr items to the root directory in one transaction
 * (COW, splits, new tree blocks, delayed refs, extent items, block group usage, free space tree,
 * root items, superblocks), commit; then delete most of them in a second transaction (merges,
 * freed and pinned blocks). After each commit btrfs check must find nothing wrong and our reader
 * must see exactly the xattrs the model holds.
 */
class CommitRoundTripTest {
    @TempDir
    Path tmp;

    static String run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), String.join(" ", cmd) + " timed out");
        assertEquals(0, p.exitValue(), String.join(" ", cmd) + " failed:\n" + out);
        return out;
    }

    @Test
    void xattrsAddedAndRemovedAcrossCommitsCheckClean() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/sbin/mkfs.btrfs")) || Files.isExecutable(Path.of("/sbin/mkfs.btrfs")),
                "skipped: btrfs-progs is not installed");
        Path img = tmp.resolve("x.img");
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(img.toFile(), "rw")) {
            f.setLength(256L << 20);
        }
        run("mkfs.btrfs", "-q", "-f", img.toString());
        long seed = Long.getLong("jbtrfs.seed", System.nanoTime());
        System.out.println("CommitRoundTripTest: seed=" + seed);
        Random rnd = new Random(seed);
        Map<String, byte[]> model = new LinkedHashMap<>();

        long gen0;
        try (FsInfo fs = FsInfo.open(FileBlockDevice.open(img, false), OpenOptions.readOnlyDefaults())) {
            gen0 = fs.superblock().generation();
            FsTrees trees = FsTrees.open(fs);
            TransHandle h = trees.transactions().start();
            CowRoot fsRoot = trees.root(ObjectIds.FS_TREE);
            fsRoot.lock.writeLock().lock();
            try {
                for (int i = 0; i < 1800; i++) {
                    String name = "user.attr." + i;
                    byte[] value = new byte[50 + rnd.nextInt(400)];
                    rnd.nextBytes(value);
                    if (insertXattr(trees, h.transid(), fsRoot, name, value)) {
                        model.put(name, value);
                    }
                }
            } finally {
                fsRoot.lock.writeLock().unlock();
            }
            trees.transactions().commit(h);
            assertEquals(gen0 + 1, trees.superblock().generation());
        }
        org.jbtrfs.check.CheckAssertions.assertClean(img);
        assertXattrs(img, model);
        assertKernelSees(img, model);

        try (FsInfo fs = FsInfo.open(FileBlockDevice.open(img, false), OpenOptions.readOnlyDefaults())) {
            FsTrees trees = FsTrees.open(fs);
            TransHandle h = trees.transactions().start();
            CowRoot fsRoot = trees.root(ObjectIds.FS_TREE);
            fsRoot.lock.writeLock().lock();
            try {
                List<String> names = new ArrayList<>(model.keySet());
                for (String name : names) {
                    if (rnd.nextInt(100) < 85) {
                        DiskKey k = new DiskKey(256, ItemType.XATTR_ITEM, Crc32c.nameHash(name.getBytes(StandardCharsets.UTF_8)));
                        assertTrue(trees.cow().deleteItem(h.transid(), fsRoot, k), "delete " + name);
                        model.remove(name);
                    }
                }
            } finally {
                fsRoot.lock.writeLock().unlock();
            }
            trees.transactions().commit(h);
            // A third, empty-ish transaction: only the root item of the fs tree is untouched.
            TransHandle h3 = trees.transactions().start();
            fsRoot.lock.writeLock().lock();
            try {
                assertTrue(insertXattr(trees, h3.transid(), fsRoot, "user.last", new byte[] {1, 2, 3}));
                model.put("user.last", new byte[] {1, 2, 3});
            } finally {
                fsRoot.lock.writeLock().unlock();
            }
            trees.transactions().commit(h3);
            assertEquals(gen0 + 3, trees.superblock().generation());
        }
        org.jbtrfs.check.CheckAssertions.assertClean(img);
        assertXattrs(img, model);
        assertKernelSees(img, model);
    }

    /** Where root, loop devices and the kernel's btrfs exist: the kernel mounts it and lists the same xattrs. */
    private void assertKernelSees(Path img, Map<String, byte[]> model) throws Exception {
        if (!org.jbtrfs.testing.KernelImages.unavailableReason().isEmpty()) {
            System.out.println("CommitRoundTripTest: kernel mount skipped: " + org.jbtrfs.testing.KernelImages.unavailableReason());
            return;
        }
        Path mnt = Files.createDirectories(tmp.resolve("mnt"));
        try (org.jbtrfs.testing.KernelImages.LoopMount m = org.jbtrfs.testing.KernelImages.mount(img, mnt, "ro")) {
            Set<String> names = new HashSet<>();
            var view = Files.getFileAttributeView(mnt, java.nio.file.attribute.UserDefinedFileAttributeView.class);
            for (String n : view.list()) {
                names.add("user." + n);
                java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate(view.size(n));
                view.read(n, buf);
                assertArrayEquals(model.get("user." + n), buf.array(), n);
            }
            assertEquals(model.keySet(), names, "the kernel sees the same xattrs");
        }
        org.jbtrfs.check.CheckAssertions.assertClean(img);
    }

    private static boolean insertXattr(FsTrees trees, long transid, CowRoot root, String name, byte[] value)
            throws IOException {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        DirItem d = new DirItem(new DiskKey(0, 0, 0), transid, DirItem.FT_XATTR, n, value);
        return trees.cow().insertItem(transid, root, new DiskKey(256, ItemType.XATTR_ITEM, Crc32c.nameHash(n)),
                DirItem.encodeAll(List.of(d)));
    }

    private static void assertXattrs(Path img, Map<String, byte[]> model) throws IOException {
        try (Filesystem fs = Filesystem.open(img, OpenOptions.readOnlyDefaults())) {
            InodeId root = fs.root();
            Set<String> names = new HashSet<>();
            for (byte[] n : fs.listxattr(root)) {
                names.add(new String(n, StandardCharsets.UTF_8));
            }
            assertEquals(model.keySet(), names);
            for (Map.Entry<String, byte[]> e : model.entrySet()) {
                assertArrayEquals(e.getValue(), fs.getxattr(root, e.getKey()), e.getKey());
            }
        }
    }
}
