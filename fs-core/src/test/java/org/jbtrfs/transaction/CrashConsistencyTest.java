package org.jbtrfs.transaction;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.jbtrfs.Filesystem;
import org.jbtrfs.OpenOptions;
import org.jbtrfs.ctree.CowRoot;
import org.jbtrfs.device.CrashingBlockDevice;
import org.jbtrfs.device.MemoryBlockDevice;
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
 * Power failure at every point of a commit: for each crash point N, the disk keeps what a real
 * disk may keep (flushed writes, a random subset of unflushed ones before N, nothing after), and
 * the image must then open at either the old or the new generation, with exactly that generation's
 * contents, and pass btrfs check.
 */
class CrashConsistencyTest {
    @TempDir
    Path tmp;

    static final int XATTRS = 600;

    @Test
    void everyCrashPointOpensAtACommittedGeneration() throws Exception {
        crashEverywhere(false);
    }

    /** The same with a METADATA and a SYSTEM chunk made in the transaction (phase 2 in the commit). */
    @Test
    void everyCrashPointOfACommitAddingChunksOpensAtACommittedGeneration() throws Exception {
        crashEverywhere(true);
    }

    private void crashEverywhere(boolean newChunks) throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/sbin/mkfs.btrfs")) || Files.isExecutable(Path.of("/sbin/mkfs.btrfs")),
                "skipped: btrfs-progs is not installed");
        Path img = tmp.resolve("base.img");
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(img.toFile(), "rw")) {
            f.setLength(160L << 20);
        }
        CommitRoundTripTest.run("mkfs.btrfs", "-q", "-f", img.toString());
        byte[] base = Files.readAllBytes(img);
        long seed = Long.getLong("jbtrfs.seed", System.nanoTime());
        System.out.println("CrashConsistencyTest: seed=" + seed);

        long total = workload(new CrashingBlockDevice(base, Long.MAX_VALUE, seed), newChunks);
        long gen0 = generation(base);
        Random rnd = new Random(seed);
        // Every crash point when the commit is short (it is here), else a seeded sample plus the end.
        int points = (int) Math.min(total, Integer.getInteger("jbtrfs.crash.points", 64));
        int sawOld = 0;
        int sawNew = 0;
        for (int i = 0; i <= points; i++) {
            long n = total <= points ? i : i == points ? total : (long) (rnd.nextDouble() * total);
            CrashingBlockDevice dev = new CrashingBlockDevice(base, n, seed + i);
            workload(dev, newChunks);
            byte[] after = dev.crashImage();
            long gen = generation(after);
            String where = "seed " + seed + " crash after write " + n + " of " + total;
            assertTrue(gen == gen0 || gen == gen0 + 1, where + ": generation " + gen);
            Set<String> names = xattrNames(after);
            if (gen == gen0) {
                sawOld++;
                assertTrue(names.isEmpty(), where + ": old generation shows new xattrs");
            } else {
                sawNew++;
                assertEquals(XATTRS, names.size(), where + ": new generation is missing xattrs");
            }
            List<Integer> changed = patch(img, base, after);
            org.jbtrfs.check.CheckAssertions.assertClean(img);
            patchBack(img, base, changed);
        }
        assertTrue(sawNew > 0, "the full run reaches the new generation");
        System.out.println("  " + total + " writes per commit; crash points at old generation " + sawOld + ", new " + sawNew);
    }

    /** Writes the 4 KiB blocks where {@code after} differs from {@code base} into the image file. */
    private static List<Integer> patch(Path file, byte[] base, byte[] after) throws IOException {
        List<Integer> changed = new java.util.ArrayList<>();
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.WRITE)) {
            for (int off = 0; off < base.length; off += 4096) {
                if (!java.util.Arrays.equals(base, off, off + 4096, after, off, off + 4096)) {
                    ch.write(java.nio.ByteBuffer.wrap(after, off, 4096), off);
                    changed.add(off);
                }
            }
        }
        return changed;
    }

    private static void patchBack(Path file, byte[] base, List<Integer> changed) throws IOException {
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.WRITE)) {
            for (int off : changed) {
                ch.write(java.nio.ByteBuffer.wrap(base, off, 4096), off);
            }
        }
    }

    /** One transaction adding xattrs to the root directory; returns the writes it issued. */
    private static long workload(CrashingBlockDevice dev, boolean newChunks) throws IOException {
        try (FsInfo fs = FsInfo.open(dev, OpenOptions.readOnlyDefaults())) {
            FsTrees trees = FsTrees.open(fs);
            TransHandle h = trees.transactions().start();
            if (newChunks) {
                trees.chunkAllocator().allocChunk(org.jbtrfs.format.BlockGroupItem.METADATA);
                trees.chunkAllocator().allocChunk(org.jbtrfs.format.BlockGroupItem.SYSTEM);
            }
            CowRoot root = trees.root(ObjectIds.FS_TREE);
            root.lock.writeLock().lock();
            try {
                for (int i = 0; i < XATTRS; i++) {
                    byte[] n = ("user.crash." + i).getBytes(StandardCharsets.UTF_8);
                    byte[] v = new byte[200];
                    java.util.Arrays.fill(v, (byte) i);
                    DirItem d = new DirItem(new DiskKey(0, 0, 0), h.transid(), DirItem.FT_XATTR, n, v);
                    trees.cow().insertItem(h.transid(), root, new DiskKey(256, ItemType.XATTR_ITEM, Crc32c.nameHash(n)),
                            DirItem.encodeAll(List.of(d)));
                }
            } finally {
                root.lock.writeLock().unlock();
            }
            trees.transactions().commit(h);
        }
        return dev.writes();
    }

    private static long generation(byte[] image) throws IOException {
        try (FsInfo fs = FsInfo.open(new MemoryBlockDevice(image, true), OpenOptions.readOnlyDefaults())) {
            return fs.superblock().generation();
        }
    }

    private static Set<String> xattrNames(byte[] image) throws IOException {
        try (Filesystem fs = Filesystem.open(new MemoryBlockDevice(image, true), OpenOptions.readOnlyDefaults())) {
            Set<String> out = new HashSet<>();
            for (byte[] n : fs.listxattr(fs.root())) {
                out.add(new String(n, StandardCharsets.UTF_8));
            }
            return out;
        }
    }
}
