package org.jbtrfs.transaction;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.TreeMap;
import org.jbtrfs.Filesystem;
import org.jbtrfs.OpenOptions;
import org.jbtrfs.check.CheckAssertions;
import org.jbtrfs.check.CheckReport;
import org.jbtrfs.device.CrashingBlockDevice;
import org.jbtrfs.testing.SnapshotImages;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Power failure anywhere in the deletion of a snapshotted subvolume and the drop of its tree (every
 * shared block converted to FULL_BACKREF on the way), one bounded step per commit: the image opens at a committed generation and checks clean, half-dropped or not; the
 * next read-write open finds the dead root again (btrfs_find_orphan_roots), finishes the drop, and
 * the snapshot shows exactly what the kernel wrote.
 */
class DeadRootsCrashTest {
    @TempDir
    Path tmp;

    /** The drop: a step per commit, so crashes land between and inside many of them. */
    private static int workload(CrashingBlockDevice dev) throws IOException {
        int commits = 0;
        try (Filesystem fs = Filesystem.open(dev, new OpenOptions(false, OpenOptions.DEFAULT_CACHE_LIMIT_BYTES, false))) {
            fs.deleteSubvolume(fs.root(), "sv".getBytes(StandardCharsets.UTF_8));
            fs.sync();
            commits++;
            while (!fs.deadRoots().isEmpty()) {
                fs.cleanDeadRoots(1);
                fs.sync();
                commits++;
            }
        }
        return commits;
    }

    @Test
    void aCrashAnywhereInADropResumesAtTheNextMount() throws Exception {
        Path img = SnapshotImages.build(tmp.resolve("base.img"), 6000, true, 160L << 20);
        byte[] base = Files.readAllBytes(img);
        TreeMap<String, String> snapOnly = new TreeMap<>(FilesystemCrashTest.contents(base));
        snapOnly.keySet().removeIf(p -> p.startsWith("/sv"));
        long seed = Long.getLong("jbtrfs.seed", System.nanoTime());
        System.out.println("DeadRootsCrashTest: seed=" + seed);
        CrashingBlockDevice full = new CrashingBlockDevice(base, Long.MAX_VALUE, seed);
        int commits = workload(full);
        assertTrue(commits >= 3, "the drop took several steps: " + commits + " commits");
        long total = full.writes();
        System.out.println("DeadRootsCrashTest: " + commits + " commits, " + total + " writes");
        assertEquals(snapOnly, FilesystemCrashTest.contents(full.crashImage()), "the full run: sv gone, snap intact");

        int points = Integer.getInteger("jbtrfs.crash.points", 10);
        Random rnd = new Random(seed);
        for (int i = 0; i <= points; i++) {
            long n = i == points ? total : (long) (rnd.nextDouble() * total);
            String where = "seed " + seed + ", crash after write " + n + " of " + total;
            CrashingBlockDevice dev = new CrashingBlockDevice(base, n, seed + i);
            try {
                workload(dev);
            } catch (IOException e) {
                // writes after the crash point vanish; a failed run is still a crash there
            }
            byte[] after = dev.crashImage();
            Path out = tmp.resolve("crash.img");
            Files.write(out, after);
            CheckReport r = CheckAssertions.check(out, true);
            assertTrue(r.clean(), where + ": the crashed image checks clean: " + r);
            if (i % 2 == 0) {
                CheckAssertions.assertBtrfsCheckClean(out);
            }
            TreeMap<String, String> crashed = FilesystemCrashTest.contents(after);
            boolean deleted = crashed.keySet().stream().noneMatch(p -> p.startsWith("/sv"));
            // The next read-write mount finishes whatever was left.
            try (Filesystem fs = Filesystem.open(out, new OpenOptions(false, OpenOptions.DEFAULT_CACHE_LIMIT_BYTES, false))) {
                fs.cleanDeadRoots(Long.MAX_VALUE);
                assertTrue(fs.deadRoots().isEmpty(), where + ": finished after the crash");
            }
            CheckAssertions.assertClean(out);
            TreeMap<String, String> now = FilesystemCrashTest.contents(Files.readAllBytes(out));
            assertEquals(deleted ? snapOnly : FilesystemCrashTest.contents(base), now,
                    where + (deleted ? ": snap as the kernel wrote it" : ": crashed before the deletion committed"));
        }
    }
}
