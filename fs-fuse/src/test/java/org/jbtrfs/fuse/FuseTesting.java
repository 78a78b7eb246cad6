package org.jbtrfs.fuse;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.jbtrfs.Filesystem;
import org.jbtrfs.OpenOptions;
import org.jbtrfs.check.CheckAssertions;
import org.jbtrfs.mkfs.Mkfs;
import org.jbtrfs.mkfs.MkfsOptions;
import org.jbtrfs.testing.KernelImages;
import org.junit.jupiter.api.Assumptions;

/**
 * What the FUSE tests share: the check that a FUSE mount can be made here (skipping the test with
 * the reason otherwise), making and mounting images, and running shell tools in a mount.
 */
final class FuseTesting {
    static final Duration SHELL_TIMEOUT = Duration.ofSeconds(120);
    private static volatile String unavailable;

    private FuseTesting() {
    }

    /** Skips the calling test, saying what is missing, unless FUSE mounts, root and btrfs-progs are here. */
    static void assumeFuse() {
        String why = unavailableReason();
        if (!why.isEmpty()) {
            System.out.println("skipped: " + why);
        }
        Assumptions.assumeTrue(why.isEmpty(), () -> "skipped: " + why);
    }

    static synchronized String unavailableReason() {
        if (unavailable == null) {
            unavailable = probe();
        }
        return unavailable;
    }

    private static String probe() {
        if (!System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT).contains("linux")) {
            return "not Linux (FUSE mounts need Linux)";
        }
        if (!Files.exists(Path.of("/dev/fuse"))) {
            return "no /dev/fuse";
        }
        if (!"root".equals(System.getProperty("user.name"))) {
            return "not root (the tests mount, and the kernel mounts the images through loop devices)";
        }
        if (KernelImages.which("fusermount") == null) {
            return "no fusermount (install fuse3 or fuse)";
        }
        if (!CheckAssertions.haveBtrfsProgs()) {
            return "no btrfs-progs (btrfs check is the oracle)";
        }
        return "";
    }

    static Path mkfs(Path image, long sizeBytes) throws IOException {
        Mkfs.format(image, MkfsOptions.defaults(sizeBytes));
        return image;
    }

    /** Opens {@code image} for writing and mounts it at {@code mnt} (created if missing). */
    static FuseMount mount(Path image, Path mnt, String... options) throws IOException {
        Files.createDirectories(mnt);
        MountOptions o = MountOptions.parse(List.of(options));
        Filesystem fs = Filesystem.open(image, new OpenOptions(o.readOnly(), o.cacheBytes(), false, o.commitSeconds()));
        return FuseMount.start(fs, image, mnt, o);
    }

    /** Runs {@code bash -c script} in {@code dir}; the result whatever it is. */
    static KernelImages.Result sh(Path dir, String script) {
        return KernelImages.run(SHELL_TIMEOUT, dir, List.of("bash", "-c", script));
    }

    /**
     * Runs {@code bash -c script} in {@code dir} as uid and gid {@code id} with no supplementary
     * groups (setpriv), stderr folded into the output; the result whatever it is.
     */
    static KernelImages.Result asUser(int id, Path dir, String script) {
        return sh(dir, "setpriv --reuid=" + id + " --regid=" + id + " --clear-groups bash -c '" + script + "' 2>&1");
    }

    /** Runs {@code bash -ec script} in {@code dir}, failing the test with its output unless it succeeds. */
    static KernelImages.Result shOk(Path dir, String script) {
        return KernelImages.run(SHELL_TIMEOUT, dir, List.of("bash", "-ec", script)).orFail();
    }
}
