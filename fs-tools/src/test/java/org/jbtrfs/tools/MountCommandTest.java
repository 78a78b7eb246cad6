package org.jbtrfs.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import org.jbtrfs.Filesystem;
import org.jbtrfs.OpenOptions;
import org.jbtrfs.check.CheckAssertions;
import org.jbtrfs.fuse.FuseDaemon;
import org.jbtrfs.fuse.FuseMount;
import org.jbtrfs.fuse.MountInfo;
import org.jbtrfs.testing.KernelImages;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code jbtrfs mount} in the background (a daemon JVM) and {@code jbtrfs umount}: the mount is
 * live when mount returns, a second mount of the same image is refused while the first holds the
 * lock, umount returns after the last commit (the image is free and checks clean), and the image
 * can be mounted again at once.
 */
class MountCommandTest {
    @TempDir
    Path tmp;

    private static Run jbtrfs(String... args) {
        return Run.of(args);
    }

    private static void assumeFuse() {
        String why = "";
        if (!Files.exists(Path.of("/dev/fuse"))) {
            why = "no /dev/fuse";
        } else if (!"root".equals(System.getProperty("user.name"))) {
            why = "not root";
        } else if (KernelImages.which("fusermount") == null) {
            why = "no fusermount";
        } else if (!CheckAssertions.haveBtrfsProgs()) {
            why = "no btrfs-progs";
        }
        if (!why.isEmpty()) {
            System.out.println("skipped: " + why);
        }
        String reason = why;
        Assumptions.assumeTrue(why.isEmpty(), () -> "skipped: " + reason);
    }

    @Test
    void mountInBackgroundUmountRemount() throws Exception {
        assumeFuse();
        Path img = tmp.resolve("cli.img");
        Path mnt = Files.createDirectories(tmp.resolve("mnt"));
        Path mnt2 = Files.createDirectories(tmp.resolve("mnt2"));
        assertEquals(0, jbtrfs("mkfs", img.toString(), "--size", "256m", "-q").status());
        try {
            Run m = jbtrfs("mount", img.toString(), mnt.toString(), "-o", "noatime,commit=30", "--heap", "256m");
            assertEquals(0, m.status(), m.err());
            assertTrue(MountInfo.isJbtrfsMount(mnt), "live when mount returns");
            MountInfo.Mount info = MountInfo.at(mnt).orElseThrow();
            assertEquals(img.toString(), info.source(), "the image is the mount's source");
            assertTrue(FuseDaemon.isLocked(img), "the daemon holds the image lock");
            Files.writeString(mnt.resolve("written-through-the-daemon"), "hello\n");

            Run again = jbtrfs("mount", img.toString(), mnt2.toString(), "--heap", "256m");
            assertEquals(1, again.status());
            assertTrue(again.err().contains("image is in use"), again.err());
            assertFalse(MountInfo.isJbtrfsMount(mnt2));

            Run bad = jbtrfs("mount", img.toString(), mnt2.toString(), "-o", "no_such_option");
            assertEquals(2, bad.status(), bad.err());

            Run u = jbtrfs("umount", mnt.toString());
            assertEquals(0, u.status(), u.err());
            assertFalse(MountInfo.isJbtrfsMount(mnt));
            assertFalse(FuseDaemon.isLocked(img), "umount returns after the daemon let go of the image");
            CheckAssertions.assertClean(img);
            try (Filesystem fs = Filesystem.open(img, OpenOptions.readOnlyDefaults())) {
                byte[] b = new byte[16];
                int n = fs.read(fs.resolve("/written-through-the-daemon"), 0, b, 0, b.length);
                assertEquals("hello\n", new String(b, 0, n, java.nio.charset.StandardCharsets.UTF_8));
            }

            Run ro = jbtrfs("mount", img.toString(), mnt.toString(), "-o", "ro", "--heap", "256m");
            assertEquals(0, ro.status(), ro.err());
            assertEquals("hello\n", Files.readString(mnt.resolve("written-through-the-daemon")));
            KernelImages.Result w = KernelImages.run(Duration.ofSeconds(30), mnt, java.util.List.of("sh", "-c", "echo x > new"));
            assertFalse(w.ok());
            assertTrue(w.output().contains("Read-only file system"), w.describe());
            assertEquals(0, jbtrfs("umount", mnt.toString()).status());
            assertFalse(FuseDaemon.isLocked(img));
        } finally {
            for (Path p : new Path[] {mnt, mnt2}) {
                if (MountInfo.at(p).isPresent()) {
                    FuseMount.unmount(p, true);
                }
            }
        }
    }

    /** jbtrfs filesystem remount -o ro|rw on a background daemon: commit and refusal, then writable again. */
    @Test
    void filesystemRemountReadOnlyAndBack() throws Exception {
        assumeFuse();
        Path img = tmp.resolve("remount.img");
        Path mnt = Files.createDirectories(tmp.resolve("mnt"));
        assertEquals(0, jbtrfs("mkfs", img.toString(), "--size", "256m", "-q").status());
        try {
            assertEquals(0, jbtrfs("mount", img.toString(), mnt.toString(), "--heap", "256m").status());
            Files.writeString(mnt.resolve("before"), "written before the remount\n");
            Run ro = jbtrfs("filesystem", "remount", "-o", "ro", mnt.toString());
            assertEquals(0, ro.status(), ro.err());
            assertTrue(MountInfo.await(Duration.ofSeconds(15), () -> imageHas(img, "/before")),
                    "the daemon committed on the remount to read-only");
            KernelImages.Result w = KernelImages.run(Duration.ofSeconds(30), mnt, java.util.List.of("sh", "-c", "echo x > new"));
            assertTrue(!w.ok() && w.output().contains("Read-only file system"), w.describe());
            assertEquals(0, jbtrfs("filesystem", "remount", "-o", "rw", mnt.toString()).status());
            Files.writeString(mnt.resolve("after"), "x");
            assertEquals(2, jbtrfs("filesystem", "remount", "-o", "sideways", mnt.toString()).status());
            assertEquals(1, jbtrfs("filesystem", "remount", "-o", "ro", tmp.toString()).status(), "not a jbtrfs mount");
            assertEquals(0, jbtrfs("umount", mnt.toString()).status());
            CheckAssertions.assertClean(img);
            assertTrue(imageHas(img, "/after"));
        } finally {
            if (MountInfo.at(mnt).isPresent()) {
                FuseMount.unmount(mnt, true);
            }
        }
    }

    /** Whether the image's last committed generation holds {@code path} (read while it is mounted). */
    private static boolean imageHas(Path img, String path) {
        try (Filesystem fs = Filesystem.open(img, OpenOptions.readOnlyDefaults())) {
            fs.resolve(path);
            return true;
        } catch (java.io.IOException | RuntimeException e) {
            return false;
        }
    }

    /** kill -9 of the daemon while it writes: the image opens at its last commit and checks clean. */
    @Test
    void killMinus9OfTheDaemonLeavesTheLastCommit() throws Exception {
        assumeFuse();
        Path img = tmp.resolve("kill.img");
        Path mnt = Files.createDirectories(tmp.resolve("mnt"));
        assertEquals(0, jbtrfs("mkfs", img.toString(), "--size", "256m", "-q").status());
        try {
            Run m = jbtrfs("mount", img.toString(), mnt.toString(), "-o", "commit=1", "--heap", "256m");
            assertEquals(0, m.status(), m.err());
            // commit=1: data written and never synced reaches the image within about a second.
            Files.writeString(mnt.resolve("unsynced"), "committed by the transaction thread\n");
            assertTrue(MountInfo.await(Duration.ofSeconds(15), () -> imageHas(img, "/unsynced")),
                    "commit=1: the unsynced file is in the image's last commit");
            // `sync FILE` is fsync(2), which reaches the daemon (a commit); syncfs(2) (`sync -f`) does
            // not reach a FUSE filesystem at all: the commit thread covers it within commit=N.
            KernelImages.run(Duration.ofSeconds(60), mnt, java.util.List.of("sh", "-c",
                    "seq 1 100000 > synced && sync synced && mkdir d && for i in $(seq 1 200); do echo $i > d/f$i; done")).orFail();
            // Writes in flight when the daemon dies: a background writer that never syncs.
            Process writer = new ProcessBuilder("sh", "-c", "i=0; while :; do head -c 65536 /dev/urandom > w$i; i=$((i+1)); done")
                    .directory(mnt.toFile()).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            KernelImages.Result pids = KernelImages.run(Duration.ofSeconds(30), "pgrep", "-f", "mount -f " + img);
            assertTrue(pids.ok(), "the daemon's pid: " + pids.describe());
            KernelImages.run(Duration.ofSeconds(30), mnt, java.util.List.of("sh", "-c", "ls w3 >/dev/null 2>&1 || true"));
            for (String pid : pids.output().trim().split("\\s+")) {
                KernelImages.run(Duration.ofSeconds(30), "kill", "-9", pid).orFail();
            }
            writer.destroyForcibly();
            writer.waitFor();
            FuseMount.unmount(mnt, true); // the mount's daemon is gone: detach it
            assertTrue(MountInfo.await(Duration.ofSeconds(60), () -> {
                try {
                    return !FuseDaemon.isLocked(img);
                } catch (java.io.IOException e) {
                    return false;
                }
            }), "a killed daemon's lock goes with it");
            CheckAssertions.assertClean(img);
            try (Filesystem fs = Filesystem.open(img, OpenOptions.readOnlyDefaults().withVerifyDataCsums(true))) {
                org.jbtrfs.InodeId f = fs.resolve("/synced");
                byte[] b = new byte[(int) fs.getattr(f).size()];
                fs.read(f, 0, b, 0, b.length);
                StringBuilder want = new StringBuilder();
                for (int i = 1; i <= 100000; i++) {
                    want.append(i).append('\n');
                }
                assertEquals(want.toString(), new String(b, java.nio.charset.StandardCharsets.US_ASCII), "fsync'd data survived");
                byte[] u = new byte[64];
                int n = fs.read(fs.resolve("/unsynced"), 0, u, 0, u.length);
                assertEquals("committed by the transaction thread\n", new String(u, 0, n, java.nio.charset.StandardCharsets.US_ASCII));
            }
            // And the image mounts again, writable: the crash left nothing to refuse.
            assertEquals(0, jbtrfs("mount", img.toString(), mnt.toString(), "--heap", "256m").status());
            Files.writeString(mnt.resolve("after"), "x");
            assertEquals(0, jbtrfs("umount", mnt.toString()).status());
            CheckAssertions.assertClean(img);
        } finally {
            if (MountInfo.at(mnt).isPresent()) {
                FuseMount.unmount(mnt, true);
            }
        }
    }

    /**
     * A user other than root mounts: the daemon (running as that user) gets its /dev/fuse
     * descriptor from the setuid fusermount3 over a socket pair, serves the user's writes, and the
     * user unmounts. The image root belongs to the user (mkfs --rootdir of a directory of theirs).
     * Everything runs from a copy of the class path the user can read (Maven's repository is root's).
     */
    @Test
    void anUnprivilegedUserMountsThroughFusermount() throws Exception {
        assumeFuse();
        Assumptions.assumeTrue(KernelImages.which("setpriv") != null, "skipped: no setpriv (util-linux)");
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path cp = Files.createDirectories(tmp.resolve("cp"));
        StringBuilder classPath = new StringBuilder();
        int n = 0;
        for (String e : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
            Path from = Path.of(e);
            if (!Files.exists(from)) {
                continue;
            }
            Path to = cp.resolve((n++) + "-" + from.getFileName());
            KernelImages.run(Duration.ofSeconds(60), "cp", "-r", from.toString(), to.toString()).orFail();
            classPath.append(classPath.length() == 0 ? "" : ":").append(to);
        }
        KernelImages.run(Duration.ofSeconds(30), "chmod", "-R", "a+rX", cp.toString()).orFail();
        Path src = Files.createDirectories(tmp.resolve("src"));
        Files.writeString(src.resolve("hello"), "from mkfs\n");
        Path img = tmp.resolve("user.img");
        Path mnt = Files.createDirectories(tmp.resolve("mnt"));
        KernelImages.run(Duration.ofSeconds(30), "chown", "-R", "65534:65534", src.toString(), mnt.toString()).orFail();
        assertEquals(0, jbtrfs("mkfs", img.toString(), "--size", "256m", "--rootdir", src.toString(), "-q").status());
        KernelImages.run(Duration.ofSeconds(30), "chown", "65534:65534", img.toString()).orFail();
        String javaCmd = ProcessHandle.current().info().command().orElse("java");
        String asNobody = "setpriv --reuid=65534 --regid=65534 --clear-groups env HOME=" + tmp + " ";
        String jbtrfs = asNobody + javaCmd + " -cp " + classPath + " org.jbtrfs.tools.Main ";
        Path dev = Path.of("/dev/fuse");
        var devPerms = Files.getPosixFilePermissions(dev);
        try {
            // Distributions make /dev/fuse 0666 for fusermount3's users; some machines (this VM) keep it 0600.
            Files.setPosixFilePermissions(dev, PosixFilePermissions.fromString("rw-rw-rw-"));
            KernelImages.run(Duration.ofSeconds(180), "sh", "-c", jbtrfs + "mount --heap 256m " + img + " " + mnt + " 2>&1").orFail();
            MountInfo.Mount info = MountInfo.at(mnt).orElseThrow();
            assertEquals(FuseMount.FS_TYPE, info.fsType());
            assertEquals(img.toString(), info.source());
            String out = KernelImages.run(Duration.ofSeconds(60), "sh", "-c", asNobody
                    + "sh -c 'cd " + mnt + " && cat hello && echo mine > new && mkdir d && stat -c %u new' 2>&1").orFail().output();
            assertEquals("from mkfs\n65534\n", out);
            KernelImages.Result rootLooks = KernelImages.run(Duration.ofSeconds(30), "ls", mnt.toString());
            assertFalse(rootLooks.ok(), "without allow_other even root may not look in: " + rootLooks.output());
            KernelImages.run(Duration.ofSeconds(360), "sh", "-c", jbtrfs + "umount " + mnt + " 2>&1").orFail();
            assertFalse(MountInfo.isJbtrfsMount(mnt));
        } finally {
            Files.setPosixFilePermissions(dev, devPerms);
            if (MountInfo.isJbtrfsMount(mnt)) {
                FuseMount.unmount(mnt, true);
            }
        }
        CheckAssertions.assertClean(img);
        try (Filesystem fs = Filesystem.open(img, OpenOptions.readOnlyDefaults())) {
            byte[] b = new byte[16];
            int got = fs.read(fs.resolve("/new"), 0, b, 0, b.length);
            assertEquals("mine\n", new String(b, 0, got, java.nio.charset.StandardCharsets.UTF_8));
        }
    }
}
