package org.jbtrfs.lifecycle;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Field;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.jbtrfs.Errno;
import org.jbtrfs.Filesystem;
import org.jbtrfs.FsException;
import org.jbtrfs.InodeId;
import org.jbtrfs.OpenOptions;
import org.jbtrfs.check.CheckAssertions;
import org.jbtrfs.mkfs.Mkfs;
import org.jbtrfs.mkfs.MkfsOptions;
import org.jbtrfs.race.RacePoint;
import org.jbtrfs.transaction.FsTrees;
import org.jbtrfs.transaction.TransHandle;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The rules of seed 003 (c1f76ad01eb07ba9), each with the interleaving forced by race points: a
 * remount to read-only waits for a busy cleaner and runs the pending delayed iputs before its
 * commit; a read-only mount starts no transaction (orphans wait for read-write); unmount reports a
 * transaction still open after its commit; and the transaction thread commits every commit=N
 * seconds. (Patch 1, the qgroup rescan worker, comes with qgroups.)
 */
class LifecycleTest {
    @TempDir
    Path tmp;

    @AfterEach
    void disarm() {
        RacePoint.disarmAll();
    }

    static OpenOptions rw() {
        return new OpenOptions(false, OpenOptions.DEFAULT_CACHE_LIMIT_BYTES, true);
    }

    private Path image() throws Exception {
        Path img = tmp.resolve("life.img");
        Mkfs.format(img, MkfsOptions.defaults(128L << 20));
        return img;
    }

    static Object field(Object o, String name) throws Exception {
        Field f = o.getClass().getDeclaredField(name);
        f.setAccessible(true);
        return f.get(o);
    }

    static Cleaner cleaner(Filesystem fs) throws Exception {
        return (Cleaner) field(fs, "cleaner");
    }

    static FsTrees trees(Filesystem fs) throws Exception {
        return (FsTrees) field(fs, "trees");
    }

    /** Waits (bounded) for a condition another thread makes true; fails the test if it never does. */
    static void await(BooleanSupplier cond, String what) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for: " + what);
            }
            Thread.onSpinWait();
        }
    }

    /** Patch 3/5: a remount to read-only arriving while the cleaner works waits for it, and the cleaner's transaction ends before the remount's commit. */
    @Test
    void remountReadOnlyWaitsForABusyCleaner() throws Exception {
        Path img = image();
        Filesystem fs = Filesystem.open(img, rw());
        InodeId f = fs.create(fs.root(), "open-then-unlinked", 0644, 0, 0);
        fs.write(f, 0, new byte[10000], 0, 10000);
        fs.open(f);
        fs.unlink(fs.root(), "open-then-unlinked");
        fs.sync();
        Cleaner cleaner = cleaner(fs);
        try (RacePoint.Gate working = RacePoint.CLEANER_WORKING.arm()) {
            fs.release(f); // a delayed iput: the cleaner wakes and stops at the race point, holding its mutex
            assertTrue(working.awaitHit(30, TimeUnit.SECONDS), "the cleaner reached its work");
            CompletableFuture<Void> remount = CompletableFuture.runAsync(() -> {
                try {
                    fs.remount(true);
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            await(() -> cleaner.waitingForMutex() > 0, "the remount waiting for the cleaner mutex");
            assertFalse(remount.isDone(), "the remount must not pass a busy cleaner");
            assertFalse(fs.isReadOnly(), "not read-only while the cleaner works");
            working.release();
            remount.get(30, TimeUnit.SECONDS);
        }
        assertTrue(fs.isReadOnly());
        assertFalse(trees(fs).transactions().busy(), "no transaction open after the remount's commit");
        assertEquals(0, cleaner.pending(), "the cleaner's iput ran before the remount committed");
        FsException e = assertThrows(FsException.class, () -> fs.create(fs.root(), "x", 0644, 0, 0));
        assertEquals(Errno.EROFS, e.errno());
        fs.close(); // throws on any LEAK
        CheckAssertions.assertClean(img);
        try (Filesystem ro = Filesystem.open(img, OpenOptions.readOnlyDefaults())) {
            assertThrows(FsException.class, () -> ro.getattr(f), "the evicted inode is gone from the committed image");
        }
    }

    /** Patch 5/5: the delayed iputs still queued at remount time run before its commit. */
    @Test
    void remountReadOnlyRunsPendingDelayedIputs() throws Exception {
        Path img = image();
        Filesystem fs = Filesystem.open(img, rw());
        InodeId f = fs.create(fs.root(), "victim", 0644, 0, 0);
        fs.write(f, 0, new byte[50000], 0, 50000);
        fs.open(f);
        fs.unlink(fs.root(), "victim");
        Cleaner cleaner = cleaner(fs);
        cleaner.stop(); // nobody runs the queue in the background now
        fs.release(f);
        assertEquals(1, cleaner.pending(), "the eviction is queued");
        fs.remount(true);
        assertEquals(0, cleaner.pending(), "the remount ran the pending delayed iput");
        assertThrows(FsException.class, () -> fs.getattr(f));
        fs.close();
        CheckAssertions.assertClean(img);
        try (Filesystem ro = Filesystem.open(img, OpenOptions.readOnlyDefaults())) {
            assertThrows(FsException.class, () -> ro.getattr(f), "evicted before the read-only commit");
        }
    }

    /** Patch 2/5: a read-only mount starts no transaction — orphans stay until a read-write mount. */
    @Test
    void readOnlyMountLeavesOrphansForReadWrite() throws Exception {
        Path img = image();
        Filesystem fs = Filesystem.open(img, rw());
        InodeId f = fs.create(fs.root(), "orphan", 0644, 0, 0);
        fs.open(f);
        fs.unlink(fs.root(), "orphan");
        fs.sync();
        fs.fsInfo().device().close(); // the process dies: the orphan item is committed
        byte[] before = Files.readAllBytes(img);
        try (Filesystem ro = Filesystem.open(img, OpenOptions.readOnlyDefaults())) {
            assertEquals(0, ro.getattr(f).nlink(), "the orphan is still there read-only");
            assertThrows(FsException.class, () -> ro.remount(false), "read-only opens stay read-only");
        }
        assertArrayEquals(before, Files.readAllBytes(img), "a read-only mount wrote nothing");
        try (Filesystem again = Filesystem.open(img, rw())) {
            assertThrows(FsException.class, () -> again.getattr(f), "read-write mount cleaned the orphan");
        }
        CheckAssertions.assertClean(img);
    }

    /** Patch 4/5: a transaction started after unmount's last commit (by a worker not stopped) is reported. */
    @Test
    void unmountReportsATransactionStillOpen() throws Exception {
        Path img = image();
        Filesystem fs = Filesystem.open(img, rw());
        fs.create(fs.root(), "a", 0644, 0, 0);
        FsTrees trees = trees(fs);
        TransHandle[] stray = new TransHandle[1];
        try (RacePoint.Gate check = RacePoint.UNMOUNT_BEFORE_CHECK.arm()) {
            CompletableFuture<Void> close = CompletableFuture.runAsync(() -> {
                try {
                    fs.close();
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            assertTrue(check.awaitHit(30, TimeUnit.SECONDS));
            stray[0] = trees.transactions().start(); // what a worker that outlived the stop would do
            check.release();
            Throwable t = assertThrows(java.util.concurrent.ExecutionException.class, () -> close.get(30, TimeUnit.SECONDS))
                    .getCause();
            assertTrue(t instanceof IllegalStateException && t.getMessage().contains("LEAK transaction open"), String.valueOf(t));
        }
        CheckAssertions.assertClean(img); // the stray transaction never reached the disk
    }

    /** commit=N: data written and not synced is in the last committed generation after N seconds. */
    @Test
    void theTransactionThreadCommitsEveryInterval() throws Exception {
        Path img = image();
        Filesystem fs = Filesystem.open(img, rw().withCommitSeconds(1));
        InodeId f = fs.create(fs.root(), "unsynced", 0644, 0, 0);
        byte[] data = new byte[20000];
        new java.util.Random(5).nextBytes(data);
        fs.write(f, 0, data, 0, data.length);
        TransactionThread tt = (TransactionThread) field(fs, "transactionThread");
        long before = tt.commits();
        await(() -> tt.commits() > before && !busy(fs), "a periodic commit");
        fs.fsInfo().device().close(); // SIGKILL: no close, no sync
        try (Filesystem ro = Filesystem.open(img, OpenOptions.readOnlyDefaults().withVerifyDataCsums(true))) {
            byte[] got = new byte[data.length];
            assertEquals(data.length, ro.read(ro.resolve("/unsynced"), 0, got, 0, got.length));
            assertArrayEquals(data, got);
        }
        CheckAssertions.assertClean(img);
    }

    private static boolean busy(Filesystem fs) {
        try {
            return trees(fs).transactions().busy();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    /** Remount read-only and back while files are open: writes get EROFS in between, then work again. */
    @Test
    void remountRoundTripWithOpenFiles() throws Exception {
        Path img = image();
        try (Filesystem fs = Filesystem.open(img, rw())) {
            InodeId f = fs.create(fs.root(), "f", 0644, 0, 0);
            fs.open(f);
            fs.write(f, 0, new byte[4096], 0, 4096);
            fs.remount(true);
            assertEquals(Errno.EROFS, assertThrows(FsException.class, () -> fs.write(f, 0, new byte[1], 0, 1)).errno());
            assertEquals(4096, fs.getattr(f).size(), "reads go on");
            fs.remount(false);
            fs.write(f, 4096, new byte[4096], 0, 4096);
            fs.release(f);
            assertEquals(8192, fs.getattr(f).size());
        }
        CheckAssertions.assertClean(img);
    }
}
