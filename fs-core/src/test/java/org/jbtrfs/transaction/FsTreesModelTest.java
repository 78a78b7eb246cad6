package org.jbtrfs.transaction;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
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
import org.jbtrfs.OpenOptions;
import org.jbtrfs.check.CheckAssertions;
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
 * Many transactions of random item changes on a real image through the whole write core (COW,
 * delayed refs, block groups, free space tree, root items, superblocks), against a model: after
 * every commit the image is reopened from disk, compared with the model item by item, and checked
 * by our checker; btrfs check and the kernel's view come at the end. Prints the seed.
 */
class FsTreesModelTest {
    @TempDir
    Path tmp;

    @Test
    void randomChangesOverManyCommitsStayConsistent() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/sbin/mkfs.btrfs")) || Files.isExecutable(Path.of("/sbin/mkfs.btrfs")),
                "skipped: btrfs-progs is not installed");
        Path img = tmp.resolve("x.img");
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(img.toFile(), "rw")) {
            f.setLength(200L << 20);
        }
        CommitRoundTripTest.run("mkfs.btrfs", "-q", "-f", "-n", "4096", img.toString());
        long seed = Long.getLong("jbtrfs.seed", System.nanoTime());
        System.out.println("FsTreesModelTest: seed=" + seed + " (replay with -Djbtrfs.seed=" + seed + ")");
        Random rnd = new Random(seed);
        TreeMap<String, byte[]> model = new TreeMap<>();
        int commits = Integer.getInteger("jbtrfs.fstrees.commits", 12);
        for (int c = 0; c < commits; c++) {
            // Reopen from disk every few commits, so state carried in memory cannot hide a bug.
            try (FsInfo fs = FsInfo.open(FileBlockDevice.open(img, false), OpenOptions.readOnlyDefaults())) {
                FsTrees trees = FsTrees.open(fs);
                for (int t = 0; t < 3; t++, c++) {
                    TransHandle h = trees.transactions().start();
                    CowRoot root = trees.root(ObjectIds.FS_TREE);
                    root.lock.writeLock().lock();
                    try {
                        int ops = 200 + rnd.nextInt(600);
                        for (int i = 0; i < ops; i++) {
                            step(trees, h.transid(), root, model, rnd);
                        }
                    } finally {
                        root.lock.writeLock().unlock();
                    }
                    trees.transactions().commit(h);
                }
            }
            try {
                assertModel(img, model);
                assertTrue(CheckAssertions.check(img, false).clean(), CheckAssertions.check(img, false).toString());
            } catch (AssertionError | IOException e) {
                throw new AssertionError("seed " + seed + " after commit " + c + ": " + e.getMessage(), e);
            }
        }
        CheckAssertions.assertClean(img);
    }

    private static void step(FsTrees trees, long transid, CowRoot root, TreeMap<String, byte[]> model, Random rnd)
            throws IOException {
        String name = "user.m" + rnd.nextInt(4000);
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        DiskKey key = new DiskKey(256, ItemType.XATTR_ITEM, Crc32c.nameHash(n));
        if (model.containsKey(name)) {
            assertTrue(trees.cow().deleteItem(transid, root, key), "delete " + name);
            model.remove(name);
            if (rnd.nextBoolean()) {
                return;
            }
        }
        byte[] v = new byte[rnd.nextInt(100) < 90 ? rnd.nextInt(200) : rnd.nextInt(3000)];
        rnd.nextBytes(v);
        DirItem d = new DirItem(new DiskKey(0, 0, 0), transid, DirItem.FT_XATTR, n, v);
        if (trees.cow().insertItem(transid, root, key, DirItem.encodeAll(List.of(d)))) {
            model.put(name, v);
        }
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
}
