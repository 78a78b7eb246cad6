package org.jbtrfs.file;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.jbtrfs.check.CheckAssertions;
import org.jbtrfs.check.CheckReport;
import org.jbtrfs.device.FileBlockDevice;
import org.jbtrfs.disk.FsInfo;
import org.jbtrfs.format.ObjectIds;
import org.jbtrfs.format.Timespec;
import org.jbtrfs.testing.KernelImages;
import org.jbtrfs.transaction.FsTrees;
import org.jbtrfs.transaction.TransHandle;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Random pwrite (1 B .. 1 MiB, unaligned, overlapping, growing), truncate (shrink and grow),
 * punch hole, fallocate (mode 0 and KEEP_SIZE, prealloc past EOF included) and zero range on the files of a kernel-made image, against an in-memory model, over several
 * commits with a reopen from disk before each: after every operation the file reads back (current
 * uncommitted trees, data csums verified) as the model says; after every commit a fresh read-only
 * open reads every file as the model says and our checker (with data csums) finds nothing; at the
 * end btrfs check --check-data-csum agrees, the kernel mounts the image and reads the model's
 * bytes, writes some of its own, and we read those back and write on top. Prints the seed.
 */
class FileWriteModelTest {
    @TempDir
    Path tmp;

    /** Files stay below this size, so the ~190 MiB of free DATA space is never exhausted. */
    private static final long MAX_FILE_BYTES = 6L << 20;
    private static final int MAX_WRITE_BYTES = 1 << 20;

    private final Map<Long, FileTestSupport.FileModel> models = new TreeMap<>();
    private Map<String, Long> inos;
    private long seed;
    private String lastOp = "";
    /** Operations run: writes, truncates, punches, bytes written, fallocates, zero ranges. For the printed summary. */
    private final long[] counts = new long[6];

    @Test
    void randomWritesTruncatesAndPunchesMatchTheModel() throws Exception {
        Path img = FileTestSupport.freshImage(tmp);
        inos = FileTestSupport.inodes(img);
        for (Map.Entry<String, Long> e : inos.entrySet()) {
            models.put(e.getValue(), new FileTestSupport.FileModel(FileTestSupport.initial(e.getKey())));
        }
        seed = Long.getLong("jbtrfs.seed", System.nanoTime());
        int commits = Integer.getInteger("jbtrfs.file.commits", 8);
        System.out.println("FileWriteModelTest: seed=" + seed + " commits=" + commits + " (replay with -Djbtrfs.seed="
                + seed + ", more commits with -Djbtrfs.file.commits=N)");
        Random rnd = new Random(seed);
        List<Long> files = new ArrayList<>(models.keySet());
        for (int c = 0; c < commits; c++) {
            runTransaction(img, rnd, files, c);
            String where = "seed " + seed + " after commit " + c;
            assertCommitted(img, where);
            CheckReport r = CheckAssertions.check(img, true);
            assertTrue(r.clean(), where + ": " + r);
        }
        CheckAssertions.assertClean(img);
        kernelRoundTrip(img, rnd, files);
        StringBuilder sizes = new StringBuilder();
        models.forEach((ino, m) -> sizes.append(' ').append(ino).append('=').append(m.data.length));
        System.out.println("FileWriteModelTest: " + counts[0] + " writes (" + counts[3] + " bytes), " + counts[1]
                + " truncates, " + counts[2] + " punches, " + counts[4] + " fallocates, " + counts[5] + " zero ranges over " + (commits + 1) + " commits; final sizes" + sizes);
    }

    private void runTransaction(Path img, Random rnd, List<Long> files, int c) throws Exception {
        try (FsInfo fs = FsInfo.open(FileBlockDevice.open(img, false), FileTestSupport.verifying(true))) {
            FsTrees trees = FsTrees.open(fs);
            FileWriter w = new FileWriter(trees);
            TransHandle h = trees.transactions().start();
            int ops = 10 + rnd.nextInt(30);
            for (int i = 0; i < ops; i++) {
                long ino = files.get(rnd.nextInt(files.size()));
                Timespec now = new Timespec(1_700_000_000L + c, i);
                try {
                    boolean changed = step(w, h, ino, rnd, now);
                    assertArrayEquals(models.get(ino).data, FileTestSupport.readCurrent(trees, ino), "content");
                    if (changed) {
                        assertEquals(now, FileTestSupport.inodeNow(trees, ino).mtime(), "mtime");
                        assertEquals(now, FileTestSupport.inodeNow(trees, ino).ctime(), "ctime");
                        assertEquals(h.transid(), FileTestSupport.inodeNow(trees, ino).transid(), "transid");
                    }
                } catch (Exception | AssertionError e) {
                    throw new AssertionError("seed " + seed + " commit " + c + " op " + i + " (" + lastOp + "): " + e, e);
                }
            }
            trees.transactions().commit(h);
        }
    }

    /** One random operation on jbtrfs and the model; false when it changes nothing (punch past EOF). */
    private boolean step(FileWriter w, TransHandle h, long ino, Random rnd, Timespec now) throws Exception {
        FileTestSupport.FileModel m = models.get(ino);
        long size = m.data.length;
        int kind = rnd.nextInt(100);
        if (kind < 60) {
            long pos = switch (rnd.nextInt(4)) {
                case 0 -> rnd.nextInt(5000);
                case 1 -> (long) (rnd.nextDouble() * (size + 256 * 1024));
                default -> (long) (rnd.nextDouble() * (size + 1));
            };
            int len = switch (rnd.nextInt(10)) {
                case 0, 1, 2, 3 -> 1 + rnd.nextInt(200);
                case 4, 5, 6 -> 1 + rnd.nextInt(16 * 1024);
                default -> 1 + rnd.nextInt(MAX_WRITE_BYTES);
            };
            pos = Math.min(pos, MAX_FILE_BYTES - len);
            int off = rnd.nextInt(7);
            byte[] buf = new byte[off + len + 3];
            rnd.nextBytes(buf);
            lastOp = "write inode " + ino + " pos " + pos + " len " + len + " size " + size;
            w.write(h, ObjectIds.FS_TREE, ino, pos, buf, off, len, now);
            m.write(pos, buf, off, len);
            counts[0]++;
            counts[3] += len;
        } else if (kind < 76) {
            long newSize = rnd.nextInt(3) == 0 ? rnd.nextInt(3000)
                    : Math.min(MAX_FILE_BYTES, (long) (rnd.nextDouble() * (size * 3 / 2 + 8192)));
            lastOp = "truncate inode " + ino + " to " + newSize + " from " + size;
            w.truncate(h, ObjectIds.FS_TREE, ino, newSize, now);
            m.truncate(newSize);
            counts[1]++;
        } else if (kind < 90) {
            boolean zero = rnd.nextBoolean();
            boolean keep = rnd.nextBoolean();
            long pos = Math.min(MAX_FILE_BYTES - 1, (long) (rnd.nextDouble() * (size + 64 * 1024)));
            long len = Math.min(MAX_FILE_BYTES - pos, 1 + (long) (rnd.nextDouble() * (rnd.nextBoolean() ? 8192 : 1 << 20)));
            lastOp = (zero ? "zero range" : "fallocate") + (keep ? " keep-size" : "") + " inode " + ino + " " + pos + "+"
                    + len + " size " + size;
            if (zero) {
                w.zeroRange(h, ObjectIds.FS_TREE, ino, pos, len, keep, now);
                m.zeroRange(pos, len, keep);
            } else {
                w.fallocate(h, ObjectIds.FS_TREE, ino, pos, len, keep, now);
                m.fallocate(pos, len, keep);
            }
            counts[zero ? 5 : 4]++;
        } else {
            long start = (long) (rnd.nextDouble() * (size + 1000));
            long len = 1 + (long) (rnd.nextDouble() * (size + 4096));
            lastOp = "punch inode " + ino + " " + start + "+" + len + " size " + size;
            w.punchHole(h, ObjectIds.FS_TREE, ino, start, len, now);
            m.punch(start, len);
            counts[2]++;
            return start < size; // nothing happens past EOF, not even mtime
        }
        return true;
    }

    private void assertCommitted(Path img, String where) throws Exception {
        for (Map.Entry<Long, FileTestSupport.FileModel> e : models.entrySet()) {
            assertArrayEquals(e.getValue().data, FileTestSupport.readCommitted(img, e.getKey()),
                    where + ": inode " + e.getKey() + " as committed");
        }
    }

    /** The kernel reads our files, writes its own changes, and we read those and write on top. */
    private void kernelRoundTrip(Path img, Random rnd, List<Long> files) throws Exception {
        Path mnt = tmp.resolve("mnt");
        try (KernelImages.LoopMount m = KernelImages.mount(img, mnt, null)) {
            for (Map.Entry<String, Long> e : inos.entrySet()) {
                assertArrayEquals(models.get(e.getValue()).data, Files.readAllBytes(m.path(e.getKey())),
                        "seed " + seed + ": the kernel reads " + e.getKey());
            }
            for (String name : List.of("e0", "big", "small")) {
                FileTestSupport.FileModel fm = models.get(inos.get(name));
                try (RandomAccessFile f = new RandomAccessFile(m.path(name).toFile(), "rw")) {
                    long pos = fm.data.length / 2;
                    byte[] b = new byte[5000 + rnd.nextInt(70_000)];
                    rnd.nextBytes(b);
                    f.seek(pos);
                    f.write(b);
                    fm.write(pos, b, 0, b.length);
                }
            }
            try (RandomAccessFile f = new RandomAccessFile(m.path("mid").toFile(), "rw")) {
                long newSize = models.get(inos.get("mid")).data.length / 3;
                f.setLength(newSize);
                models.get(inos.get("mid")).truncate(newSize);
            }
        }
        CheckAssertions.assertClean(img);
        assertCommitted(img, "seed " + seed + " after the kernel wrote");
        // And we write on top of what the kernel wrote.
        runTransaction(img, rnd, files, 1000);
        assertCommitted(img, "seed " + seed + " after writing over the kernel's writes");
        CheckAssertions.assertClean(img);
    }
}
