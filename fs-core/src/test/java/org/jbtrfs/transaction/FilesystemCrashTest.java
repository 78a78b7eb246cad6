package org.jbtrfs.transaction;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.TreeMap;
import org.jbtrfs.Attr;
import org.jbtrfs.DirEntry;
import org.jbtrfs.Filesystem;
import org.jbtrfs.InodeId;
import org.jbtrfs.OpenOptions;
import org.jbtrfs.SetAttr;
import org.jbtrfs.check.CheckAssertions;
import org.jbtrfs.device.CrashingBlockDevice;
import org.jbtrfs.device.MemoryBlockDevice;
import org.jbtrfs.disk.FsInfo;
import org.jbtrfs.testing.KernelImages;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Power failure anywhere in a workload of the public API (files with inline and regular data,
 * directories, links, overwrites, truncates, unlinks, renames, xattrs over three commits): for a
 * crash after write N — data writes, tree blocks and superblocks alike, unflushed writes kept at
 * random — the image opens at one of the committed generations, shows exactly what that
 * generation held, and checks clean (our checker always, btrfs check on every fourth point).
 */
class FilesystemCrashTest {
    @TempDir
    Path tmp;

    static final int COMMITS = 3;

    @Test
    void everyCrashPointOpensAtACommittedGenerationWithItsContents() throws Exception {
        Assumptions.assumeTrue(CheckAssertions.haveBtrfsProgs(), "skipped: btrfs-progs is not installed");
        Path img = tmp.resolve("base.img");
        KernelImages.mkfs(img, 128L << 20, "-q", "-n", "4096");
        byte[] base = Files.readAllBytes(img);
        long seed = Long.getLong("jbtrfs.seed", System.nanoTime());
        System.out.println("FilesystemCrashTest: seed=" + seed);

        // The full run: its snapshots after each commit are what a crash may show.
        List<TreeMap<String, String>> snapshots = new ArrayList<>();
        snapshots.add(contents(base));
        CrashingBlockDevice full = new CrashingBlockDevice(base, Long.MAX_VALUE, seed);
        workload(full, seed, snapshots);
        long total = full.writes();
        long gen0 = generation(base);
        assertEquals(gen0 + COMMITS, generation(full.crashImage()), "one generation per commit");
        assertEquals(snapshots.get(COMMITS), contents(full.crashImage()), "the full run ends at its last snapshot");

        int points = Integer.getInteger("jbtrfs.crash.points", 24);
        Random rnd = new Random(seed);
        int[] seen = new int[COMMITS + 1];
        for (int i = 0; i <= points; i++) {
            long n = i == points ? total : (long) (rnd.nextDouble() * total);
            CrashingBlockDevice dev = new CrashingBlockDevice(base, n, seed + i);
            try {
                workload(dev, seed, null);
            } catch (IOException e) {
                // Writes after the crash point vanish silently; nothing should fail, but a failed
                // run is still a crash at that point.
            }
            byte[] after = dev.crashImage();
            long gen = generation(after);
            String where = "seed " + seed + ", crash after write " + n + " of " + total;
            assertTrue(gen >= gen0 && gen <= gen0 + COMMITS, where + ": generation " + gen);
            int k = (int) (gen - gen0);
            seen[k]++;
            assertEquals(snapshots.get(k), contents(after), where + ": contents of generation " + gen);
            Path crashed = tmp.resolve("crash.img");
            Files.write(crashed, after);
            assertTrue(CheckAssertions.check(crashed, true).clean(), where + ": " + CheckAssertions.check(crashed, true));
            if (i % 4 == 0) {
                CheckAssertions.assertBtrfsCheckClean(crashed);
            }
        }
        System.out.println("FilesystemCrashTest: " + total + " writes; crash points per generation " + Arrays.toString(seen));
        assertTrue(seen[COMMITS] > 0, "the last point reaches the last generation");
    }

    /** Three commits of changes; records a snapshot of the contents after each when asked. */
    private static void workload(CrashingBlockDevice dev, long seed, List<TreeMap<String, String>> snapshots)
            throws IOException {
        Random rnd = new Random(seed);
        OpenOptions o = new OpenOptions(false, OpenOptions.DEFAULT_CACHE_LIMIT_BYTES, true);
        try (Filesystem fs = Filesystem.open(dev, o)) {
            InodeId d = fs.mkdir(fs.root(), "d", 0755, 0, 0);
            for (int i = 0; i < 40; i++) {
                InodeId f = fs.create(d, "f" + i, 0644, 0, 0);
                byte[] b = new byte[i % 3 == 0 ? 700 : 5000 + rnd.nextInt(200000)];
                rnd.nextBytes(b);
                fs.write(f, 0, b, 0, b.length);
            }
            fs.symlink(d, "link", "f1", 0, 0);
            fs.setxattr(fs.resolve("/d/f2"), "user.x".getBytes(), new byte[100], 0);
            fs.sync();
            snap(fs, snapshots);

            for (int i = 0; i < 40; i += 3) {
                InodeId f = fs.resolve("/d/f" + i);
                byte[] b = new byte[1 + rnd.nextInt(80000)];
                rnd.nextBytes(b);
                fs.write(f, rnd.nextInt(50000), b, 0, b.length);
            }
            fs.setattr(fs.resolve("/d/f4"), SetAttr.truncate(1000));
            fs.link(fs.resolve("/d/f5"), fs.root(), "hard".getBytes());
            fs.unlink(d, "f6");
            fs.rename(d, "f7".getBytes(), fs.root(), "moved".getBytes(), 0);
            fs.sync();
            snap(fs, snapshots);

            InodeId e = fs.mkdir(fs.root(), "e", 0700, 0, 0);
            for (int i = 0; i < 20; i++) {
                fs.unlink(d, "f" + (8 + i));
                InodeId f = fs.create(e, "g" + i, 0600, 0, 0);
                byte[] b = new byte[rnd.nextInt(30000)];
                rnd.nextBytes(b);
                fs.write(f, 0, b, 0, b.length);
            }
            fs.punchHole(fs.resolve("/d/f1"), 4096, 8192);
            fs.sync();
            snap(fs, snapshots);
        }
    }

    private static void snap(Filesystem fs, List<TreeMap<String, String>> snapshots) throws IOException {
        if (snapshots != null) {
            snapshots.add(contents(fs));
        }
    }

    static long generation(byte[] image) throws IOException {
        try (FsInfo fs = FsInfo.open(new MemoryBlockDevice(image, true), OpenOptions.readOnlyDefaults())) {
            return fs.superblock().generation();
        }
    }

    static TreeMap<String, String> contents(byte[] image) throws IOException {
        try (Filesystem fs = Filesystem.open(new MemoryBlockDevice(image, true),
                OpenOptions.readOnlyDefaults().withVerifyDataCsums(true))) {
            return contents(fs);
        }
    }

    /** Path → type, mode, nlink, size and content (or target) digest, xattr names. */
    static TreeMap<String, String> contents(Filesystem fs) throws IOException {
        TreeMap<String, String> out = new TreeMap<>();
        walk(fs, fs.root(), "", out);
        return out;
    }

    private static void walk(Filesystem fs, InodeId dir, String path, TreeMap<String, String> out) throws IOException {
        for (DirEntry e : fs.list(dir)) {
            String p = path + "/" + e.name();
            Attr a = fs.getattr(e.target());
            StringBuilder sb = new StringBuilder(Integer.toOctalString(a.mode())).append(" n").append(a.nlink())
                    .append(" s").append(a.size());
            if (a.isRegular()) {
                byte[] b = new byte[(int) a.size()];
                fs.read(e.target(), 0, b, 0, b.length);
                java.util.zip.CRC32C c = new java.util.zip.CRC32C();
                c.update(b);
                sb.append(" crc ").append(Long.toHexString(c.getValue()));
            } else if (a.isSymlink()) {
                sb.append(" -> ").append(new String(fs.readlink(e.target())));
            }
            for (byte[] x : fs.listxattr(e.target())) {
                sb.append(" x:").append(HexFormat.of().formatHex(x));
            }
            out.put(p, sb.toString());
            if (a.isDirectory()) {
                walk(fs, e.target(), p, out);
            }
        }
    }
}
