package org.jbtrfs.disk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Images made by mkfs.btrfs from a host directory (--rootdir), which needs no root and no loop
 * device: enough for tests of the open path, mirrors and refusals.
 */
final class MkfsImages {
    private MkfsImages() {
    }

    static void assumeMkfs() {
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/sbin/mkfs.btrfs")) || Files.isExecutable(Path.of("/sbin/mkfs.btrfs")),
                "skipped: mkfs.btrfs (btrfs-progs) is not installed");
    }

    /** mkfs.btrfs -f [extra...] --rootdir root image; returns the image. */
    static Path make(Path image, Path root, long bytes, String... extra) throws IOException, InterruptedException {
        assumeMkfs();
        List<String> cmd = new ArrayList<>(List.of("mkfs.btrfs", "-q", "-f", "-b", Long.toString(bytes)));
        cmd.addAll(List.of(extra));
        if (root != null) {
            cmd.addAll(List.of("--rootdir", root.toString()));
        }
        cmd.add(image.toString());
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(image.toFile(), "rw")) {
            f.setLength(bytes);
        }
        run(cmd);
        return image;
    }

    static String run(List<String> cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), cmd + " timed out");
        assertEquals(0, p.exitValue(), cmd + " failed: " + log);
        return log;
    }
}
