package org.jbtrfs.extent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.jbtrfs.Filesystem;
import org.jbtrfs.OpenOptions;
import org.jbtrfs.ctree.TreeRoot;
import org.jbtrfs.disk.FsInfo;
import org.jbtrfs.format.ObjectIds;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Block groups loaded from a real image: the free space tree and the extent tree describe the same
 * free space, the counters balance, and the allocator hands out space only from free ranges.
 */
class BlockGroupsLoadTest {
    @TempDir
    Path tmp;

    private Path image() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/sbin/mkfs.btrfs")) || Files.isExecutable(Path.of("/sbin/mkfs.btrfs")),
                "skipped: mkfs.btrfs (btrfs-progs) is not installed");
        Path root = Files.createDirectories(tmp.resolve("root"));
        Random rnd = new Random(5);
        for (int i = 0; i < 200; i++) {
            byte[] b = new byte[rnd.nextInt(300_000)];
            rnd.nextBytes(b);
            Files.write(root.resolve("f" + i), b);
        }
        Path img = tmp.resolve("x.img");
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(img.toFile(), "rw")) {
            f.setLength(256L << 20);
        }
        Process p = new ProcessBuilder("mkfs.btrfs", "-q", "-f", "--rootdir", root.toString(), img.toString())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(120, TimeUnit.SECONDS) && p.exitValue() == 0, out);
        return img;
    }

    @Test
    void freeSpaceTreeAgreesWithExtentTree() throws Exception {
        try (Filesystem fs = Filesystem.open(image(), OpenOptions.readOnlyDefaults())) {
            FsInfo f = fs.fsInfo();
            TreeRoot extent = f.requireTreeRoot(ObjectIds.EXTENT_TREE);
            TreeRoot fst = f.requireTreeRoot(ObjectIds.FREE_SPACE_TREE);
            BlockGroups fromFst = BlockGroups.load(f.btree(), f.chunkMap(), extent, extent, fst, f.sectorsize(), f.nodesize());
            BlockGroups fromExtents = BlockGroups.load(f.btree(), f.chunkMap(), extent, extent, null, f.sectorsize(), f.nodesize());
            List<BlockGroup> a = List.copyOf(fromFst.all());
            List<BlockGroup> b = List.copyOf(fromExtents.all());
            assertEquals(a.size(), b.size());
            for (int i = 0; i < a.size(); i++) {
                assertTrue(a.get(i).freeOnDisk.sameAs(b.get(i).freeOnDisk), a.get(i) + ": " + a.get(i).freeOnDisk + " vs " + b.get(i).freeOnDisk);
            }
            assertEquals(f.superblock().bytesUsed(), fromFst.bytesUsed(), "superblock bytes_used");
        }
    }

    @Test
    void reservesOnlyFreeSpaceAndBalancesCounters() throws Exception {
        try (Filesystem fs = Filesystem.open(image(), OpenOptions.readOnlyDefaults())) {
            FsInfo f = fs.fsInfo();
            TreeRoot extent = f.requireTreeRoot(ObjectIds.EXTENT_TREE);
            BlockGroups bgs = BlockGroups.load(f.btree(), f.chunkMap(), extent, extent,
                    f.requireTreeRoot(ObjectIds.FREE_SPACE_TREE), f.sectorsize(), f.nodesize());
            BlockGroups truth = BlockGroups.load(f.btree(), f.chunkMap(), extent, extent, null, f.sectorsize(), f.nodesize());
            long data = org.jbtrfs.format.BlockGroupItem.DATA;
            long a1 = bgs.reserve(data, 1 << 20, 0);
            long a2 = bgs.reserve(data, 4096, 0);
            BlockGroup g = truth.find(a1);
            assertTrue(g.freeOnDisk.contains(a1, 1 << 20) && truth.find(a2).freeOnDisk.contains(a2, 4096),
                    "reserved ranges were free");
            assertTrue(a2 >= a1 + (1 << 20) || a2 + 4096 <= a1, "reservations do not overlap");
            bgs.extentAllocated(1, a1, 1 << 20, false);
            bgs.unreserve(a2, 4096);
            bgs.extentFreed(1, a1, 1 << 20, false);
            long a3 = bgs.reserve(data, 1 << 20, a1);
            assertTrue(a3 != a1, "pinned space is not handed out again before the commit");
            bgs.unreserve(a3, 1 << 20);
            bgs.unpinAll();
            assertEquals(truth.bytesUsed(), bgs.bytesUsed());
            for (BlockGroup bg : bgs.all()) {
                bg.lock.lock();
                try {
                    assertTrue(bg.countersBalance());
                } finally {
                    bg.lock.unlock();
                }
            }
            assertEquals(1, bgs.takeDirty().size(), "the data group is dirty");
        }
    }

}
