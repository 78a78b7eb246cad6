package org.jbtrfs.transaction;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.jbtrfs.Errno;
import org.jbtrfs.Filesystem;
import org.jbtrfs.FsException;
import org.jbtrfs.InodeId;
import org.jbtrfs.OpenOptions;
import org.jbtrfs.check.CheckAssertions;
import org.jbtrfs.mkfs.Mkfs;
import org.jbtrfs.mkfs.MkfsOptions;
import org.jbtrfs.testing.KernelImages;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * Filling small filesystems to the last byte, with many small files and with large ones: ENOSPC
 * comes as a refusal up front (the filesystem stays writable, nothing half done), everything
 * written before it reads back, space freed by unlinking comes back after a commit, close finds no
 * reservation left over (asserted in {@link Filesystem#close}), and the image checks clean.
 */
class EnospcTest {
    @TempDir
    Path tmp;

    static OpenOptions rw() {
        return new OpenOptions(false, OpenOptions.DEFAULT_CACHE_LIMIT_BYTES, true);
    }

    /** Writes files of {@code size} bytes (random data) into a new directory until ENOSPC; returns the names written. */
    static List<String> fill(Filesystem fs, InodeId dir, int size, Random rnd, int maxFiles) throws Exception {
        List<String> written = new ArrayList<>();
        byte[] b = new byte[size];
        for (int i = 0; i < maxFiles; i++) {
            String name = "f" + i;
            InodeId f;
            try {
                f = fs.create(dir, name, 0644, 0, 0);
            } catch (FsException e) {
                assertEquals(Errno.ENOSPC, e.errno(), e.getMessage());
                return written;
            }
            rnd.nextBytes(b);
            try {
                if (size > 0) {
                    fs.write(f, 0, b, 0, size);
                }
            } catch (FsException e) {
                assertEquals(Errno.ENOSPC, e.errno(), e.getMessage());
                assertTrue(fs.isWritable(), "ENOSPC must not abort the transaction: " + e.getMessage());
                fs.unlink(dir, name);
                return written;
            }
            written.add(name);
        }
        throw new AssertionError("the filesystem never filled up after " + maxFiles + " files of " + size + " bytes");
    }

    @ParameterizedTest(name = "{0} MiB, {1}-byte files, {2}")
    @CsvSource({"96, 1048576, ours", "96, 300, ours", "128, 4000000, progs", "128, 9000, progs", "256, 20000, ours"})
    void fillToTheLastByte(int mib, int fileSize, String maker) throws Exception {
        Assumptions.assumeTrue(CheckAssertions.haveBtrfsProgs(), "skipped: btrfs-progs is not installed");
        Path img = tmp.resolve("full.img");
        if (maker.equals("ours")) {
            Mkfs.format(img, MkfsOptions.defaults((long) mib << 20).withNodesize(4096));
        } else {
            KernelImages.mkfs(img, (long) mib << 20, "-q");
        }
        long seed = Long.getLong("jbtrfs.seed", System.nanoTime());
        System.out.println("EnospcTest: seed=" + seed);
        Random rnd = new Random(seed);
        List<String> written;
        try (Filesystem fs = Filesystem.open(img, rw())) {
            InodeId dir = fs.mkdir(fs.root(), "fill", 0755, 0, 0);
            written = fill(fs, dir, fileSize, new Random(seed), 1 << 20);
            assertTrue(written.size() > 3, "wrote only " + written.size() + " files");
            assertTrue(fs.isWritable(), "still writable after ENOSPC");
            fs.sync();
            // Freeing space makes room again once the commit has unpinned it.
            int removed = 0;
            for (int i = 0; i < written.size(); i += 2) {
                fs.unlink(dir, written.get(i));
                removed++;
            }
            fs.sync();
            List<String> again = fill(fs, fs.mkdir(fs.root(), "again", 0755, 0, 0), fileSize, rnd, 1 << 20);
            assertTrue(again.size() >= removed / 2, "after freeing " + removed + " files only " + again.size() + " fit again");
            System.out.println("EnospcTest: " + mib + " MiB, " + fileSize + "-byte files (" + maker + " mkfs): " + written.size()
                    + " files until ENOSPC, " + again.size() + " more after unlinking " + removed);
        }
        CheckAssertions.assertClean(img);
        try (Filesystem ro = Filesystem.open(img, OpenOptions.readOnlyDefaults().withVerifyDataCsums(true))) {
            Random check = new Random(seed);
            byte[] want = new byte[fileSize];
            byte[] got = new byte[fileSize];
            InodeId dir = ro.resolve("/fill");
            for (int i = 0; i < written.size(); i++) {
                check.nextBytes(want);
                if (i % 2 == 1) {
                    InodeId f = ro.lookup(dir, written.get(i));
                    assertEquals(fileSize, ro.read(f, 0, got, 0, fileSize));
                    assertArrayEquals(want, got, written.get(i));
                }
            }
        }
    }
}
