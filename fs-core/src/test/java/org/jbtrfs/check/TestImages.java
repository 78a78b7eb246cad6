package org.jbtrfs.check;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.jbtrfs.testing.KernelImages;
import org.junit.jupiter.api.Assumptions;

/**
 * Images for the checker's tests that need no root: mkfs.btrfs --rootdir from a host tree with a
 * bit of everything mkfs can carry over (inline and regular files, a hard link, a symlink, a
 * sparse file, a fifo, a directory with enough entries for a multi-leaf fs tree).
 */
final class TestImages {
    static final long ROOTDIR_IMAGE_BYTES = 128L << 20;

    private TestImages() {
    }

    static void assumeMkfs() {
        Assumptions.assumeTrue(KernelImages.which("mkfs.btrfs") != null,
                "skipped: mkfs.btrfs (btrfs-progs) is not installed");
    }

    /** Fills {@code dir} with the host tree (deterministic). */
    static Path hostTree(Path dir) throws IOException {
        Random rnd = new Random(20240601);
        Files.createDirectories(dir.resolve("many/sub"));
        for (int i = 0; i < 300; i++) {
            byte[] b = new byte[i % 7 == 0 ? 20_000 + rnd.nextInt(40_000) : rnd.nextInt(3000)];
            rnd.nextBytes(b);
            Files.write(dir.resolve(String.format("many/file-%03d", i)), b);
        }
        byte[] big = new byte[3 << 20];
        rnd.nextBytes(big);
        Files.write(dir.resolve("big"), big);
        Files.writeString(dir.resolve("small"), "hello, checker\n");
        Files.createLink(dir.resolve("many/sub/hardlink"), dir.resolve("small"));
        Files.createSymbolicLink(dir.resolve("link"), Path.of("many/file-001"));
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve("sparse").toFile(), "rw")) {
            f.setLength(2 << 20);
            f.seek(1 << 20);
            f.write(new byte[] {1, 2, 3});
        }
        KernelImages.run(Duration.ofSeconds(30), "mkfifo", dir.resolve("fifo").toString());
        return dir;
    }

    /** mkfs.btrfs -q -f [extra] --rootdir root image, on a sparse file of {@code bytes}. */
    static Path rootdirImage(Path image, Path root, long bytes, String... extra) throws IOException {
        assumeMkfs();
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
            f.setLength(0);
            f.setLength(bytes);
        }
        List<String> cmd = new ArrayList<>(List.of("mkfs.btrfs", "-q", "-f"));
        cmd.addAll(List.of(extra));
        cmd.addAll(List.of("--rootdir", root.toString(), image.toString()));
        KernelImages.run(KernelImages.COMMAND_TIMEOUT, null, cmd).orFail();
        return image;
    }
}
