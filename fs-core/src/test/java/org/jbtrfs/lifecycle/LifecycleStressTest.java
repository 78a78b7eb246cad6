package org.jbtrfs.lifecycle;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.jbtrfs.Errno;
import org.jbtrfs.Filesystem;
import org.jbtrfs.FsException;
import org.jbtrfs.InodeId;
import org.jbtrfs.OpenOptions;
import org.jbtrfs.check.CheckAssertions;
import org.jbtrfs.mkfs.Mkfs;
import org.jbtrfs.mkfs.MkfsOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Loops of write / remount read-only / remount read-write / unmount / mount, with several writer
 * threads on a small image kept near ENOSPC and a commit every second: every close finds no leak
 * (it throws on one), our checker finds every image clean, btrfs check the last one. Writers meet
 * only the errors such a life brings (EROFS while read-only, ENOSPC, races on names). Prints the seed.
 */
class LifecycleStressTest {
    @TempDir
    Path tmp;

    static final Set<Errno> EXPECTED = EnumSet.of(Errno.EROFS, Errno.ENOSPC, Errno.ENOENT, Errno.EEXIST, Errno.ENOTEMPTY,
            Errno.EISDIR, Errno.ENOTDIR, Errno.EINTR);

    @Test
    void writeRemountUnmountMountLoops() throws Exception {
        Path img = tmp.resolve("stress.img");
        Mkfs.format(img, MkfsOptions.defaults(128L << 20).withNodesize(4096));
        long seed = Long.getLong("jbtrfs.seed", System.nanoTime());
        System.out.println("LifecycleStressTest: seed=" + seed);
        Random rnd = new Random(seed);
        int mounts = Integer.getInteger("jbtrfs.lifecycle.mounts", 4);
        long totalOps = 0;
        int remounts = 0;
        for (int mount = 0; mount < mounts; mount++) {
            Filesystem fs = Filesystem.open(img, new OpenOptions(false, OpenOptions.DEFAULT_CACHE_LIMIT_BYTES, false, 1));
            AtomicLong ops = new AtomicLong();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            List<Thread> writers = new ArrayList<>();
            boolean[] stop = {false};
            for (int w = 0; w < 4; w++) {
                long wseed = rnd.nextLong();
                int id = w;
                Thread t = new Thread(() -> {
                    Random r = new Random(wseed);
                    byte[] buf = new byte[256 * 1024];
                    while (!stopped(stop)) {
                        try {
                            InodeId dir = dir(fs, "w" + id);
                            String name = "f" + r.nextInt(50);
                            int what = r.nextInt(10);
                            if (what < 5) {
                                InodeId f = lookupOrCreate(fs, dir, name);
                                r.nextBytes(buf);
                                fs.write(f, r.nextInt(4) == 0 ? r.nextInt(1 << 20) : 0, buf, 0, 1 + r.nextInt(buf.length));
                            } else if (what < 8) {
                                fs.unlink(dir, name);
                            } else {
                                fs.rename(dir, name.getBytes(StandardCharsets.UTF_8), dir,
                                        ("f" + r.nextInt(50)).getBytes(StandardCharsets.UTF_8), 0);
                            }
                            ops.incrementAndGet();
                        } catch (FsException e) {
                            if (!EXPECTED.contains(e.errno())) {
                                failure.compareAndSet(null, e);
                                return;
                            }
                            ops.incrementAndGet();
                        } catch (Throwable e) {
                            failure.compareAndSet(null, e);
                            return;
                        }
                    }
                }, "stress-writer-" + w);
                writers.add(t);
                t.start();
            }
            for (int k = 0; k < 3; k++) {
                long target = ops.get() + 200;
                LifecycleTest.await(() -> ops.get() >= target || failure.get() != null, "writers making progress");
                fs.remount(true);
                remounts++;
                assertEquals(Errno.EROFS, assertThrows(FsException.class,
                        () -> fs.mkdir(fs.root(), "x" + System.nanoTime(), 0755, 0, 0)).errno());
                long roTarget = ops.get() + 50;
                LifecycleTest.await(() -> ops.get() >= roTarget || failure.get() != null, "writers meeting EROFS");
                fs.remount(false);
            }
            synchronized (stop) {
                stop[0] = true;
            }
            for (Thread t : writers) {
                t.join();
            }
            if (failure.get() != null) {
                throw new AssertionError("seed " + seed + ", mount " + mount + ": a writer failed", failure.get());
            }
            totalOps += ops.get();
            fs.close(); // throws on any LEAK
            assertTrue(CheckAssertions.check(img, true).clean(), "seed " + seed + ", after mount " + mount + ": "
                    + CheckAssertions.check(img, true));
        }
        CheckAssertions.assertClean(img);
        System.out.println("LifecycleStressTest: " + mounts + " mounts, " + remounts + " remounts read-only and back, "
                + totalOps + " operations");
    }

    private static boolean stopped(boolean[] stop) {
        synchronized (stop) {
            return stop[0];
        }
    }

    private static InodeId dir(Filesystem fs, String name) throws java.io.IOException {
        try {
            return fs.lookup(fs.root(), name);
        } catch (FsException e) {
            if (e.errno() != Errno.ENOENT) {
                throw e;
            }
            return fs.mkdir(fs.root(), name, 0755, 0, 0);
        }
    }

    private static InodeId lookupOrCreate(Filesystem fs, InodeId dir, String name) throws java.io.IOException {
        try {
            return fs.lookup(dir, name);
        } catch (FsException e) {
            if (e.errno() != Errno.ENOENT) {
                throw e;
            }
            return fs.create(dir, name, 0644, 0, 0);
        }
    }
}
