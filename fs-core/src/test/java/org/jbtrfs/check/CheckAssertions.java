package org.jbtrfs.check;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.jbtrfs.OpenOptions;
import org.jbtrfs.device.FileBlockDevice;
import org.jbtrfs.disk.FsInfo;
import org.jbtrfs.testing.KernelImages;

/**
 * "This image is consistent", as one call for any test that leaves an image behind: our
 * {@link Checker} with data checksums verified, and, where btrfs-progs is installed,
 * {@code btrfs check --readonly --check-data-csum}. Shipped in fs-core's test-jar.
 */
public final class CheckAssertions {
    /** btrfs check of a test image takes seconds; this is the limit before it counts as hung. */
    public static final Duration BTRFS_CHECK_TIMEOUT = Duration.ofSeconds(300);

    private CheckAssertions() {
    }

    /**
     * Opens {@code image} read-only, runs the checker with data csums on, and throws an
     * AssertionError listing every problem; then the same with btrfs check when it is installed,
     * failing on a non-zero exit with its output.
     */
    public static void assertClean(Path image) {
        CheckReport r = check(image, true);
        if (!r.clean()) {
            throw new AssertionError("jbtrfs check found problems in " + image + ": " + r);
        }
        assertBtrfsCheckClean(image);
    }

    /** Runs our checker on an image file (read-only); IO failures become AssertionErrors. */
    public static CheckReport check(Path image, boolean dataCsums) {
        if (!Files.isRegularFile(image)) {
            throw new AssertionError(image + " is not an image file");
        }
        try (FsInfo fs = FsInfo.open(FileBlockDevice.open(image, true), OpenOptions.readOnlyDefaults())) {
            return new Checker(fs, new CheckOptions(dataCsums, CheckOptions.DEFAULT_MAX_PROBLEMS)).run();
        } catch (IOException e) {
            throw new AssertionError("jbtrfs check could not check " + image + ": " + e, e);
        }
    }

    /** Whether {@code btrfs} (btrfs-progs) can be run here. */
    public static boolean haveBtrfsProgs() {
        return KernelImages.which("btrfs") != null;
    }

    /** btrfs check --readonly --check-data-csum, when installed; fails with its output on a non-zero exit. */
    public static void assertBtrfsCheckClean(Path image) {
        if (!haveBtrfsProgs()) {
            return;
        }
        KernelImages.Result res = btrfsCheck(image);
        if (!res.ok()) {
            throw new AssertionError("btrfs check found problems in " + image + ": " + res.describe());
        }
    }

    /** Runs btrfs check --readonly --check-data-csum on an image and returns what happened. */
    public static KernelImages.Result btrfsCheck(Path image) {
        return KernelImages.run(BTRFS_CHECK_TIMEOUT, null,
                List.of("btrfs", "check", "--readonly", "--check-data-csum", image.toString()));
    }
}
