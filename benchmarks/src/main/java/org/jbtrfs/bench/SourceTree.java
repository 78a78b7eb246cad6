package org.jbtrfs.bench;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.SplittableRandom;

/**
 * The host tree that the mkfs benchmark copies into an image with {@code --rootdir}, generated
 * from a fixed seed so every run on every machine builds the same bytes:
 * <pre>
 * small/gGGG/dDDDDD/fFFFFFF.bin   the small files, 100 per directory, 10 directories per group
 * large/random-I.bin              three files of random (incompressible) data
 * large/sparse.bin                holes at the start, between data chunks and at the end
 * links/                          symlinks (relative, to a directory, dangling, long), hard links
 *                                 to small files (one pair, one triple), an empty directory and a
 *                                 file whose name has spaces
 * </pre>
 * Small file sizes: 5% empty, 25% from 1 byte to {@link #INLINE_MAX} (what btrfs stores inline
 * with the default max_inline), the rest up to {@link #SMALL_MAX}; modes vary among 0644, 0600,
 * 0640 and 0755. The large files' apparent sizes add up to exactly {@code largeMb} MiB: the
 * sparse file takes a quarter and holds data in half of it.
 */
final class SourceTree {
    static final String SMALL = "small";
    static final String LARGE = "large";
    static final String LINKS = "links";
    static final int SMALL_MAX = 64 * 1024;
    /** Files up to this size are stored inline by mkfs.btrfs and the kernel (max_inline=2048). */
    static final int INLINE_MAX = 2048;
    static final int FILES_PER_DIR = 100;
    static final int DIRS_PER_GROUP = 10;
    static final int LARGE_RANDOM_FILES = 3;
    static final int EMPTY_PERCENT = 5;
    static final int INLINE_PERCENT = 25;
    static final long SEED = 0x6a627472_66736d6bL;
    static final long MIB = 1L << 20;
    private static final int CHUNK = 1 << 20;
    private static final String[] MODES = {"rw-r--r--", "rw-r--r--", "rw-r--r--", "rw-------", "rw-r-----", "rwxr-xr-x"};

    /** What {@link #generate} wrote. largeBytes is apparent size; largeDataBytes excludes the holes. */
    record Layout(int smallFiles, long smallBytes, int emptyFiles, int inlineFiles, int smallDirs, int largeFiles,
            long largeBytes, long largeDataBytes, int symlinks, int hardLinks) {
    }

    private SourceTree() {
    }

    /** Writes the tree under {@code root}, which must not exist yet (its parent must). */
    static Layout generate(Path root, int smallFiles, int largeMb) throws IOException {
        assert smallFiles >= 0 && largeMb >= 0 : smallFiles + " " + largeMb;
        SplittableRandom rnd = new SplittableRandom(SEED);
        Files.createDirectory(root);
        byte[] buf = new byte[CHUNK];

        Path small = Files.createDirectory(root.resolve(SMALL));
        long smallBytes = 0;
        int empty = 0;
        int inline = 0;
        int dirs = 0;
        Path dir = null;
        for (int i = 0; i < smallFiles; i++) {
            if (i % FILES_PER_DIR == 0) {
                Path group = small.resolve(String.format("g%03d", dirs / DIRS_PER_GROUP));
                if (dirs % DIRS_PER_GROUP == 0) {
                    Files.createDirectory(group);
                }
                dir = Files.createDirectory(group.resolve(String.format("d%05d", dirs++)));
            }
            int pick = rnd.nextInt(100);
            int size = pick < EMPTY_PERCENT ? 0
                    : pick < EMPTY_PERCENT + INLINE_PERCENT ? rnd.nextInt(1, INLINE_MAX + 1)
                    : rnd.nextInt(INLINE_MAX + 1, SMALL_MAX + 1);
            empty += size == 0 ? 1 : 0;
            inline += size > 0 && size <= INLINE_MAX ? 1 : 0;
            Path f = smallFile(root, i);
            fillRandom(buf, size, rnd);
            Files.write(f, java.util.Arrays.copyOf(buf, size));
            Files.setPosixFilePermissions(f, PosixFilePermissions.fromString(MODES[rnd.nextInt(MODES.length)]));
            smallBytes += size;
        }

        int largeFiles = 0;
        long largeBytes = 0;
        long largeData = 0;
        if (largeMb > 0) {
            Path large = Files.createDirectory(root.resolve(LARGE));
            long total = largeMb * MIB;
            long per = total / (LARGE_RANDOM_FILES + 1) / 4096 * 4096;
            for (int i = 0; i < LARGE_RANDOM_FILES; i++) {
                largeData += writeRandom(large.resolve("random-" + i + ".bin"), per, 0, per, rnd, buf);
                largeFiles++;
            }
            long sparseSize = total - LARGE_RANDOM_FILES * per;
            long chunk = Math.max(4096, Math.min(CHUNK, sparseSize / 8 / 4096 * 4096));
            Path sparse = large.resolve("sparse.bin");
            // Data at [c, 2c), [3c, 4c), ...: a hole first, holes between, and (when 8c <= size) one at the end.
            for (long off = chunk; off < sparseSize; off += 2 * chunk) {
                largeData += writeRandom(sparse, Math.min(chunk, sparseSize - off), off, sparseSize, rnd, buf);
            }
            if (!Files.exists(sparse)) {
                writeRandom(sparse, 0, 0, sparseSize, rnd, buf);
            }
            largeFiles++;
            largeBytes = total;
        }

        Path links = Files.createDirectory(root.resolve(LINKS));
        Files.createDirectory(links.resolve("empty-dir"));
        Files.write(links.resolve("name with spaces.txt"), "spaces\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        int symlinks = 0;
        if (smallFiles > 0) {
            Files.createSymbolicLink(links.resolve("to-file"), Path.of("..").resolve(root.relativize(smallFile(root, 0))));
            Files.createSymbolicLink(links.resolve("to-dir"), Path.of("..", SMALL, "g000"));
            symlinks += 2;
        }
        Files.createSymbolicLink(links.resolve("dangling"), Path.of("/nonexistent/jbtrfs-bench/target"));
        Files.createSymbolicLink(links.resolve("long"), Path.of("x".repeat(100), "y".repeat(100), "z".repeat(50)));
        symlinks += 2;
        int hard = 0;
        if (smallFiles >= 3) {
            Files.createLink(links.resolve("hard-1a"), smallFile(root, 1));
            Files.createLink(links.resolve("hard-2a"), smallFile(root, 2));
            Files.createLink(links.resolve("hard-2b"), smallFile(root, 2));
            hard = 3;
        }
        return new Layout(smallFiles, smallBytes, empty, inline, dirs, largeFiles, largeBytes, largeData, symlinks, hard);
    }

    /** The path of small file {@code i}: 100 files per directory, 10 directories per group. */
    static Path smallFile(Path root, int i) {
        int d = i / FILES_PER_DIR;
        return root.resolve(SMALL).resolve(String.format("g%03d", d / DIRS_PER_GROUP)).resolve(String.format("d%05d", d))
                .resolve(String.format("f%06d.bin", i));
    }

    /** Writes {@code len} random bytes at {@code offset} and sets the length to {@code fileSize}; returns len. */
    private static long writeRandom(Path file, long len, long offset, long fileSize, SplittableRandom rnd, byte[] buf)
            throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.seek(offset);
            long left = len;
            while (left > 0) {
                int n = (int) Math.min(left, buf.length);
                fillRandom(buf, n, rnd);
                f.write(buf, 0, n);
                left -= n;
            }
            f.setLength(fileSize);
        }
        return len;
    }

    private static void fillRandom(byte[] buf, int n, SplittableRandom rnd) {
        int i = 0;
        for (; i + 8 <= n; i += 8) {
            long v = rnd.nextLong();
            for (int k = 0; k < 8; k++) {
                buf[i + k] = (byte) (v >>> (8 * k));
            }
        }
        for (; i < n; i++) {
            buf[i] = (byte) rnd.nextInt(256);
        }
    }
}
