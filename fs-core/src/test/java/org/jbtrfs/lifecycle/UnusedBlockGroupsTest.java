package org.jbtrfs.lifecycle;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Random;
import org.jbtrfs.Filesystem;
import org.jbtrfs.InodeId;
import org.jbtrfs.OpenOptions;
import org.jbtrfs.check.CheckAssertions;
import org.jbtrfs.device.ChunkMap;
import org.jbtrfs.format.BlockGroupItem;
import org.jbtrfs.mkfs.Mkfs;
import org.jbtrfs.mkfs.MkfsOptions;
import org.jbtrfs.testing.KernelImages;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The cleaner's unused block groups (btrfs_delete_unused_bgs): data chunks made for a large file
 * go away after the file does, the image checks clean and mounts in the kernel, and the freed
 * device space makes new chunks again.
 */
class UnusedBlockGroupsTest {
    @TempDir
    Path tmp;

    static long dataChunks(Filesystem fs) throws Exception {
        long n = 0;
        for (ChunkMap.Mapping m : fs.fsInfo().chunkMap().mappings()) {
            if ((m.type() & BlockGroupItem.DATA) != 0) {
                n++;
            }
        }
        return n;
    }

    static long dataChunksOnDisk(Path img) throws Exception {
        try (Filesystem ro = Filesystem.open(img, OpenOptions.readOnlyDefaults())) {
            return dataChunks(ro);
        }
    }

    @Test
    void emptiedDataChunksAreRemovedAndTheirSpaceComesBack() throws Exception {
        Path img = tmp.resolve("ubg.img");
        Mkfs.format(img, MkfsOptions.defaults(512L << 20));
        long initial = dataChunksOnDisk(img);
        byte[] chunk = new byte[8 << 20];
        new Random(1).nextBytes(chunk);
        try (Filesystem fs = Filesystem.open(img, new OpenOptions(false, OpenOptions.DEFAULT_CACHE_LIMIT_BYTES, true))) {
            InodeId big = fs.create(fs.root(), "big", 0644, 0, 0);
            for (int i = 0; i < 30; i++) {
                fs.write(big, (long) i * chunk.length, chunk, 0, chunk.length);
            }
            InodeId keep = fs.create(fs.root(), "keep", 0644, 0, 0);
            fs.write(keep, 0, chunk, 0, 4096);
            fs.sync();
            long grown = dataChunks(fs);
            assertTrue(grown > initial + 2, "240 MiB of data needed more data chunks: " + initial + " -> " + grown);
            fs.unlink(fs.root(), "big");
            fs.sync(); // the extents are freed and unpinned: the groups they filled are empty now
            int removed = fs.deleteUnusedBlockGroups();
            assertTrue(removed >= 2, "empty data groups removed: " + removed);
            assertEquals(0, fs.deleteUnusedBlockGroups(), "nothing left to remove until the next commit");
            fs.sync(); // the removal's commit; then the device ranges are free
            assertEquals(grown - removed, dataChunks(fs), "their chunks are gone from the chunk map");
            // The freed device space makes new chunks again: the same data fits once more.
            InodeId again = fs.create(fs.root(), "again", 0644, 0, 0);
            for (int i = 0; i < 30; i++) {
                fs.write(again, (long) i * chunk.length, chunk, 0, chunk.length);
            }
            byte[] back = new byte[4096];
            fs.read(keep, 0, back, 0, back.length);
            assertArrayEquals(java.util.Arrays.copyOf(chunk, 4096), back, "the file kept in a surviving group");
        }
        CheckAssertions.assertClean(img);
        if (KernelImages.unavailableReason().isEmpty()) {
            try (KernelImages.LoopMount m = KernelImages.mount(img, tmp.resolve("mnt"), null)) {
                m.sh("test $(stat -c %s again) = 251658240 && head -c 4096 keep | wc -c | grep -qx 4096"
                        + " && head -c 1M /dev/urandom > kernel-wrote && sync").orFail();
            }
            CheckAssertions.assertClean(img);
        }
    }

    /** Chunks the superblock's sys_chunk_array bootstraps (key + chunk item with its stripes each). */
    static int sysArrayEntries(org.jbtrfs.format.Superblock sb) {
        byte[] a = sb.sysChunkArray();
        int n = 0;
        for (int off = 0; off < a.length; n++) {
            off += org.jbtrfs.format.DiskKey.SIZE + org.jbtrfs.format.ChunkItem.sizeFor(
                    org.jbtrfs.format.ChunkItem.numStripesAt(a, off + org.jbtrfs.format.DiskKey.SIZE));
        }
        return n;
    }

    static long chunks(Filesystem fs, long type) {
        return fs.fsInfo().chunkMap().mappings().stream().filter(m -> (m.type() & type) != 0).count();
    }

    /**
     * An empty SYSTEM group goes like any other, and its chunk leaves the superblock's
     * sys_chunk_array in the same commit (btrfs_del_sys_chunk); the last one always stays.
     */
    @Test
    void anEmptySystemGroupLeavesTheSysChunkArray() throws Exception {
        Path img = tmp.resolve("sys.img");
        Mkfs.format(img, MkfsOptions.defaults(256L << 20));
        try (Filesystem fs = Filesystem.open(img, new OpenOptions(false, OpenOptions.DEFAULT_CACHE_LIMIT_BYTES, true))) {
            var trees = LifecycleTest.trees(fs);
            assertEquals(0, fs.deleteUnusedBlockGroups(), "the only SYSTEM group stays");
            fs.create(fs.root(), "a", 0644, 0, 0);
            trees.chunkAllocator().allocChunk(BlockGroupItem.SYSTEM);
            fs.sync();
            assertEquals(2, chunks(fs, BlockGroupItem.SYSTEM));
            assertEquals(2, sysArrayEntries(trees.superblock()), "the new SYSTEM chunk is in the sys_chunk_array");
            assertEquals(1, fs.deleteUnusedBlockGroups(), "one SYSTEM group is empty (the chunk tree lives in the other)");
            assertEquals(0, fs.deleteUnusedBlockGroups(), "never the last SYSTEM group");
            fs.sync();
            assertEquals(1, chunks(fs, BlockGroupItem.SYSTEM));
            assertEquals(1, sysArrayEntries(trees.superblock()), "its sys_chunk_array entry went with it");
            fs.create(fs.root(), "b", 0644, 0, 0);
        }
        CheckAssertions.assertClean(img);
        try (Filesystem ro = Filesystem.open(img, OpenOptions.readOnlyDefaults())) {
            assertEquals(1, sysArrayEntries(ro.fsInfo().superblock()));
            ro.lookup(ro.root(), "b");
        }
        if (KernelImages.unavailableReason().isEmpty()) {
            try (KernelImages.LoopMount m = KernelImages.mount(img, tmp.resolve("mnt"), null)) {
                m.sh("test -f a && test -f b && head -c 1M /dev/urandom > kernel-wrote && sync");
            }
            CheckAssertions.assertClean(img);
        }
    }

    @Test
    void anIdleFilesystemDoesNotCommitForTheCleaner() throws Exception {
        Path img = tmp.resolve("idle.img");
        Mkfs.format(img, MkfsOptions.defaults(256L << 20));
        try (Filesystem fs = Filesystem.open(img, new OpenOptions(false, OpenOptions.DEFAULT_CACHE_LIMIT_BYTES, false))) {
            fs.create(fs.root(), "f", 0644, 0, 0);
            fs.sync();
            assertEquals(0, fs.deleteUnusedBlockGroups(), "the last group of each type stays");
            assertTrue(!LifecycleTest.trees(fs).transactions().busy(),
                    "no transaction was started for nothing (an idle filesystem must not commit every interval)");
        }
        CheckAssertions.assertClean(img);
    }
}
