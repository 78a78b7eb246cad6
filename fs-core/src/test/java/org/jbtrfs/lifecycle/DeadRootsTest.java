package org.jbtrfs.lifecycle;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.jbtrfs.Errno;
import org.jbtrfs.Filesystem;
import org.jbtrfs.FsException;
import org.jbtrfs.InodeId;
import org.jbtrfs.OpenOptions;
import org.jbtrfs.check.CheckAssertions;
import org.jbtrfs.check.CheckReport;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.ItemType;
import org.jbtrfs.format.ObjectIds;
import org.jbtrfs.format.RootItem;
import org.jbtrfs.race.RacePoint;
import org.jbtrfs.testing.KernelImages;
import org.jbtrfs.testing.SnapshotImages;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Subvolume deletion and the cleaner's dead roots (btrfs_delete_subvolume, btrfs_drop_snapshot):
 * the kernel makes subvolumes and snapshots, our engine deletes them and drops their trees, our
 * checker and btrfs check find nothing wrong, the kernel mounts the result and sees them gone with
 * the survivors' contents unchanged, and the freed space shows.
 */
class DeadRootsTest {
    @TempDir
    Path tmp;

    @AfterEach
    void disarm() {
        RacePoint.disarmAll();
    }

    /** Files of the plain subvolume: enough leaves for several drop steps. */
    private static final int FILES = 6000;

    private Path kernelImage(String name, boolean withSnapshot) throws Exception {
        return SnapshotImages.build(tmp.resolve(name), withSnapshot ? SnapshotImages.LEVEL2_FILES : FILES, withSnapshot);
    }

    private static String kernelContent(Path img, Path mnt) throws Exception {
        return SnapshotImages.content(img, mnt);
    }

    private static Filesystem openRw(Path img) throws Exception {
        return Filesystem.open(img, new OpenOptions(false, OpenOptions.DEFAULT_CACHE_LIMIT_BYTES, true));
    }

    private static long rootId(Filesystem fs, String name) throws Exception {
        return fs.lookup(fs.root(), name).root();
    }

    private static RootItem committedRootItem(Path img, long id) throws Exception {
        try (Filesystem ro = Filesystem.open(img, OpenOptions.readOnlyDefaults())) {
            assertTrue(ro.deadRoots().isEmpty(), "a read-only open queues no dead root");
            return ro.fsInfo().rootItem(id);
        }
    }

    private static boolean hasOrphanItem(Filesystem fs, long id) throws Exception {
        return LifecycleTest.trees(fs).reads().lookup(ObjectIds.ROOT_TREE,
                new DiskKey(ObjectIds.ORPHAN, ItemType.ORPHAN_ITEM, id)) != null;
    }

    @Test
    void aDeletedSnapshotIsDroppedAndItsSourceKeepsEverything() throws Exception {
        Path img = kernelImage("snap.img", true);
        String before = kernelContent(img, tmp.resolve("m0"));
        long used0;
        long used1;
        try (Filesystem fs = openRw(img)) {
            long snap = rootId(fs, "snap");
            fs.deleteSubvolume(fs.root(), "snap".getBytes(StandardCharsets.UTF_8));
            assertThrows(FsException.class, () -> fs.lookup(fs.root(), "snap"), "the entry is gone at once");
            assertEquals(List.of(snap), fs.deadRoots());
            assertTrue(hasOrphanItem(fs, snap), "the dead root has its orphan item");
            assertEquals(0, fs.cleanDeadRoots(Long.MAX_VALUE), "not before the deleting transaction committed");
            fs.sync();
            used0 = LifecycleTest.trees(fs).blockGroups().bytesUsed();
            assertEquals(1, fs.cleanDeadRoots(Long.MAX_VALUE));
            fs.sync();
            used1 = LifecycleTest.trees(fs).blockGroups().bytesUsed();
            assertTrue(fs.deadRoots().isEmpty());
            assertNull(LifecycleTest.trees(fs).reads().rootItem(snap), "ROOT_ITEM deleted");
            assertFalse(hasOrphanItem(fs, snap), "orphan item deleted");
        }
        // snap's own blocks and its 1 MiB file go; what it shared with sv stays.
        assertTrue(used0 - used1 >= (1 << 20), "freed " + (used0 - used1) + " bytes");
        CheckAssertions.assertClean(img);
        String after = kernelContent(img, tmp.resolve("m1"));
        assertEquals(before.lines().filter(l -> l.contains(" sv/")).toList(), after.lines().toList(),
                "sv as before, snap gone");
    }

    @Test
    void deletingTheSourceConvertsSharedBlocksAndTheSnapshotKeepsEverything() throws Exception {
        Path img = kernelImage("src.img", true);
        String before = kernelContent(img, tmp.resolve("m0"));
        long usedStart;
        long usedEnd;
        try (Filesystem fs = openRw(img)) {
            usedStart = LifecycleTest.trees(fs).blockGroups().bytesUsed();
            fs.deleteSubvolume(fs.root(), "sv".getBytes(StandardCharsets.UTF_8));
            fs.sync();
            assertEquals(1, fs.cleanDeadRoots(Long.MAX_VALUE));
            fs.sync();
        }
        CheckAssertions.assertClean(img);
        String after = kernelContent(img, tmp.resolve("m1"));
        assertEquals(before.lines().filter(l -> l.contains(" snap/")).toList(), after.lines().toList(),
                "snap as before, sv gone");
        try (Filesystem fs = openRw(img)) {
            fs.deleteSubvolume(fs.root(), "snap".getBytes(StandardCharsets.UTF_8));
            fs.sync();
            assertEquals(1, fs.cleanDeadRoots(Long.MAX_VALUE));
            fs.sync();
            usedEnd = LifecycleTest.trees(fs).blockGroups().bytesUsed();
        }
        assertTrue(usedStart - usedEnd >= 17L << 20, "both gone: 16 MiB + 1 MiB of data and their trees, freed "
                + (usedStart - usedEnd));
        CheckAssertions.assertClean(img);
        assertEquals("", kernelContent(img, tmp.resolve("m2")).strip(), "nothing left");
    }

    @Test
    void aDropStoppedHalfwayResumesAtTheNextReadWriteMount() throws Exception {
        Path img = kernelImage("resume.img", false);
        long sv;
        long usedStart;
        long freeStart;
        try (Filesystem fs = openRw(img)) {
            usedStart = LifecycleTest.trees(fs).blockGroups().bytesUsed();
            freeStart = fs.statfs().bfree() * fs.statfs().bsize();
            sv = rootId(fs, "sv");
            fs.deleteSubvolume(fs.root(), "sv".getBytes(StandardCharsets.UTF_8));
            fs.sync();
            assertEquals(0, fs.cleanDeadRoots(2), "two steps do not finish " + FILES + " files");
            assertEquals(List.of(sv), fs.deadRoots());
        }
        RootItem half = committedRootItem(img, sv);
        assertNotNull(half, "the dead root is still there");
        assertEquals(0, half.refs());
        assertTrue(half.dropStarted() && half.dropLevel() > 0, "drop_progress saved: " + half.dropProgress());
        assertTrue((half.flags() & RootItem.FLAG_DEAD) != 0, "DEAD flag");
        CheckReport r = CheckAssertions.check(img, true);
        assertTrue(r.clean(), "a half-dropped root checks clean: " + r);
        CheckAssertions.assertBtrfsCheckClean(img);
        try (Filesystem fs = openRw(img)) {
            assertEquals(List.of(sv), fs.deadRoots(), "found again at the read-write mount (btrfs_find_orphan_roots)");
            fs.cleanDeadRoots(Long.MAX_VALUE);
            assertTrue(fs.deadRoots().isEmpty(), "finished after the restart");
            fs.sync();
            long freed = usedStart - LifecycleTest.trees(fs).blockGroups().bytesUsed();
            assertTrue(freed >= 16L << 20, "the 16 MiB of data and the tree went: " + freed);
            long gained = fs.statfs().bfree() * fs.statfs().bsize() - freeStart;
            assertTrue(gained >= 16L << 20, "statfs shows the freed space: " + gained + " bytes more free");
        }
        assertNull(committedRootItem(img, sv));
        CheckAssertions.assertClean(img);
        assertEquals("", kernelContent(img, tmp.resolve("m1")).strip());
    }

    /**
     * Seed 003 for dead roots: the cleaner is between two drop steps when a remount to read-only
     * arrives; the remount waits for the cleaner mutex, the cleaner stops at that step boundary,
     * nothing starts a transaction while read-only, and back read-write the cleaner finishes.
     */
    @Test
    void aRemountToReadOnlyStopsTheCleanerBetweenDropSteps() throws Exception {
        Path img = kernelImage("race.img", false);
        try (Filesystem fs = openRw(img)) {
            long sv = rootId(fs, "sv");
            fs.deleteSubvolume(fs.root(), "sv".getBytes(StandardCharsets.UTF_8));
            fs.sync();
            Cleaner cleaner = (Cleaner) LifecycleTest.field(fs, "cleaner");
            RacePoint.Gate step;
            AtomicReference<Throwable> failed = new AtomicReference<>();
            Thread remount;
            try (RacePoint.Gate g = RacePoint.DROP_SNAPSHOT_STEP.arm()) {
                step = g;
                cleaner.kick();
                assertTrue(g.awaitHit(30, TimeUnit.SECONDS), "the cleaner made a drop step");
                remount = new Thread(() -> {
                    try {
                        fs.remount(true);
                    } catch (Throwable t) {
                        failed.set(t);
                    }
                }, "remount-ro");
                remount.start();
                LifecycleTest.await(() -> cleaner.waitingForMutex() > 0, "the remount waiting for the cleaner mutex");
            }
            remount.join(TimeUnit.SECONDS.toMillis(60));
            assertFalse(remount.isAlive(), "remount finished");
            assertNull(failed.get());
            assertTrue(step.wasHit());
            assertEquals(List.of(sv), fs.deadRoots(), "the drop stopped at the step boundary, still queued");
            long gen = LifecycleTest.trees(fs).transactions().lastCommitted();
            assertFalse(LifecycleTest.trees(fs).transactions().busy(), "no transaction while read-only");
            RootItem half = fs.fsInfo().rootItem(sv);
            assertEquals(gen, LifecycleTest.trees(fs).superblock().generation());
            fs.remount(false);
            fs.cleanDeadRoots(Long.MAX_VALUE);
            assertTrue(fs.deadRoots().isEmpty(), "finished once read-write");
            assertNotNull(half);
        }
        CheckAssertions.assertClean(img);
        assertEquals("", kernelContent(img, tmp.resolve("m1")).strip());
    }

    /**
     * Unmount while the cleaner is between two drop steps: close stops the cleaner, which ends its
     * round at that step boundary; nothing leaks, the half-dropped image checks clean, and the next
     * read-write open finishes the drop in its cleaner thread.
     */
    @Test
    void anUnmountStopsTheCleanerBetweenDropStepsAndTheNextMountFinishes() throws Exception {
        Path img = kernelImage("umount.img", false);
        long sv;
        Filesystem fs = openRw(img);
        Cleaner cleaner = (Cleaner) LifecycleTest.field(fs, "cleaner");
        sv = rootId(fs, "sv");
        fs.deleteSubvolume(fs.root(), "sv".getBytes(StandardCharsets.UTF_8));
        fs.sync();
        AtomicReference<Throwable> failed = new AtomicReference<>();
        Thread closer;
        try (RacePoint.Gate g = RacePoint.DROP_SNAPSHOT_STEP.arm()) {
            cleaner.kick();
            assertTrue(g.awaitHit(30, TimeUnit.SECONDS), "the cleaner made a drop step");
            closer = new Thread(() -> {
                try {
                    fs.close();
                } catch (Throwable t) {
                    failed.set(t);
                }
            }, "unmount");
            closer.start();
            LifecycleTest.await(cleaner::shouldYield, "the unmount asking the cleaner to stop");
        }
        closer.join(TimeUnit.SECONDS.toMillis(60));
        assertFalse(closer.isAlive(), "close finished");
        assertNull(failed.get(), "close reported no LEAK");
        RootItem half = committedRootItem(img, sv);
        assertNotNull(half, "the drop stopped before the end");
        assertTrue(half.dropStarted(), "with its progress saved");
        CheckAssertions.assertClean(img);
        try (Filesystem again = openRw(img)) {
            LifecycleTest.await(() -> again.deadRoots().isEmpty(), "the next mount's cleaner finishing the drop");
        }
        assertNull(committedRootItem(img, sv));
        CheckAssertions.assertClean(img);
    }

    /**
     * A file of the subvolume unlinked and released before the deletion leaves a delayed iput; the
     * drop starts before it runs. The iput must leave the dead tree alone (btrfs_evict_inode skips a
     * root with refs 0): evicting in it would change blocks the drop is freeing.
     */
    @Test
    void aDelayedIputInADeletedSubvolumeIsLeftToTheDrop() throws Exception {
        Path img = kernelImage("iput.img", false);
        try (Filesystem fs = openRw(img)) {
            InodeId big = fs.resolve("/sv/big1");
            fs.open(big);
            fs.unlink(fs.lookup(fs.root(), "sv"), "big1");
            Cleaner cleaner = (Cleaner) LifecycleTest.field(fs, "cleaner");
            try (RacePoint.Gate held = RacePoint.CLEANER_WOKEN.arm()) {
                fs.release(big);
                assertTrue(held.awaitHit(30, TimeUnit.SECONDS));
                assertEquals(1, cleaner.pending(), "the iput is pending");
                fs.deleteSubvolume(fs.root(), "sv".getBytes(StandardCharsets.UTF_8));
                fs.sync();
            }
            assertEquals(0, fs.cleanDeadRoots(1), "the drop has begun (the cleaner may have run the iput meanwhile)");
            fs.runDelayedIputs();
            assertEquals(0, cleaner.pending());
            fs.cleanDeadRoots(Long.MAX_VALUE);
            assertTrue(fs.deadRoots().isEmpty());
        }
        CheckAssertions.assertClean(img);
    }

    @Test
    void deletionRefusals() throws Exception {
        KernelImages.assumeAvailable();
        Path img = tmp.resolve("refuse.img");
        KernelImages.build(img, 256L << 20, null, m -> m.sh("btrfs -q subvolume create a && btrfs -q subvolume create a/inner"
                + " && mkdir plain && echo x > a/file && btrfs -q subvolume create b"));
        try (Filesystem fs = openRw(img)) {
            assertEquals(Errno.ENOTEMPTY, errno(() -> fs.deleteSubvolume(fs.root(), bytes("a"))), "a holds a subvolume");
            assertEquals(Errno.ENOTDIR, errno(() -> fs.deleteSubvolume(fs.root(), bytes("plain"))));
            assertEquals(Errno.ENOENT, errno(() -> fs.deleteSubvolume(fs.root(), bytes("none"))));
            InodeId f = fs.lookup(fs.lookup(fs.root(), "a"), "file");
            InodeId inner = fs.lookup(fs.root(), "a");
            fs.deleteSubvolume(inner, bytes("inner"));
            fs.open(f);
            assertEquals(Errno.EBUSY, errno(() -> fs.deleteSubvolume(fs.root(), bytes("a"))), "a file of it is open");
            fs.release(f);
            fs.deleteSubvolume(fs.root(), bytes("a"));
            assertTrue(fs.isWritable(), "refusals left the filesystem writable");
            fs.sync();
            assertEquals(2, fs.cleanDeadRoots(Long.MAX_VALUE));
        }
        CheckAssertions.assertClean(img);
        try (KernelImages.LoopMount m = KernelImages.mount(img, tmp.resolve("m"), null)) {
            m.sh("test ! -e a && test -d b && test -d plain && btrfs subvolume list . | grep -c path | grep -qx 1");
        }
    }

    /** rmdir of a subvolume's top directory deletes the subvolume when it is empty (btrfs_rmdir since Linux 4.18). */
    @Test
    void rmdirOfAnEmptySubvolumeDeletesIt() throws Exception {
        KernelImages.assumeAvailable();
        Path img = tmp.resolve("rmdir.img");
        KernelImages.build(img, 256L << 20, null, m -> m.sh("btrfs -q subvolume create full && echo x > full/file"
                + " && btrfs -q subvolume create empty && btrfs -q subvolume create nested && btrfs -q subvolume create nested/in"));
        try (Filesystem fs = openRw(img)) {
            assertEquals(Errno.ENOTEMPTY, errno(() -> fs.rmdir(fs.root(), bytes("full"))), "a file inside");
            assertEquals(Errno.ENOTEMPTY, errno(() -> fs.rmdir(fs.root(), bytes("nested"))), "a subvolume inside");
            assertEquals(Errno.EISDIR, errno(() -> fs.unlink(fs.root(), bytes("empty"))), "unlink is not rmdir");
            fs.rmdir(fs.root(), bytes("empty"));
            assertEquals(Errno.ENOENT, errno(() -> fs.lookup(fs.root(), "empty")));
            fs.rmdir(fs.lookup(fs.root(), "nested"), bytes("in"));
            fs.rmdir(fs.root(), bytes("nested"));
            fs.sync();
            assertEquals(3, fs.cleanDeadRoots(Long.MAX_VALUE), "the cleaner drops all three");
        }
        CheckAssertions.assertClean(img);
        try (KernelImages.LoopMount m = KernelImages.mount(img, tmp.resolve("m"), null)) {
            m.sh("test ! -e empty && test ! -e nested && test -f full/file && btrfs subvolume list . | grep -c path | grep -qx 1");
        }
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private interface Call {
        void run() throws Exception;
    }

    private static Errno errno(Call c) {
        FsException e = assertThrows(FsException.class, c::run);
        return e.errno();
    }
}
