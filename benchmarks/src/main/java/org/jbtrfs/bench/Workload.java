package org.jbtrfs.bench;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

/**
 * The files the benchmark reads, written by the kernel through a loop mount: a "large" set of big
 * sequential files (random data, plus one compressible text file written under
 * {@code compress=zstd}) and a "small" set of 1-64 KiB random files spread over directories. A
 * quarter of the bytes go to the small set. Content comes from a fixed seed, so every run of the
 * benchmark builds the same tree.
 */
final class Workload {
    static final String LARGE = "large";
    static final String SMALL = "small";
    static final int LARGE_RANDOM_FILES = 3;
    static final int SMALL_MIN = 1024;
    static final int SMALL_MAX = 64 * 1024;
    static final int FILES_PER_DIR = 100;
    private static final int CHUNK = 1 << 20;
    private static final long SEED = 0x6a627472_66735f31L;

    /** What the kernel holds for one file: its size and CRC32C. */
    record FileSum(long size, int crc) {
    }

    /** A summary of what {@link #write} put on the filesystem. */
    record Layout(int largeFiles, long largeBytes, int smallFiles, long smallBytes, int smallDirs, long zstdFileBytes) {
    }

    private Workload() {
    }

    /**
     * Writes the workload of about {@code totalBytes} under {@code root} (the mount point of a
     * fresh filesystem); {@code compressOn} switches the mount to zstd compression for the text file.
     */
    static Layout write(Path root, long totalBytes, IORunnable compressOn) throws IOException {
        SplittableRandom rnd = new SplittableRandom(SEED);
        long smallBudget = totalBytes / 4;
        long largeBudget = totalBytes - smallBudget;
        long perLarge = (largeBudget / (LARGE_RANDOM_FILES + 1)) & ~4095L;

        Path large = Files.createDirectory(root.resolve(LARGE));
        long largeBytes = 0;
        for (int i = 0; i < LARGE_RANDOM_FILES; i++) {
            writeRandom(large.resolve("random-" + i + ".bin"), perLarge, rnd);
            largeBytes += perLarge;
        }

        Path small = Files.createDirectory(root.resolve(SMALL));
        int smallFiles = 0;
        long smallBytes = 0;
        Path dir = null;
        int dirs = 0;
        while (smallBytes < smallBudget) {
            if (smallFiles % FILES_PER_DIR == 0) {
                dir = Files.createDirectory(small.resolve(String.format("d%03d", dirs++)));
            }
            int size = (int) Math.min(smallBudget - smallBytes, rnd.nextInt(SMALL_MIN, SMALL_MAX + 1));
            size = Math.max(size, SMALL_MIN);
            writeRandom(dir.resolve(String.format("f%05d.bin", smallFiles)), size, rnd);
            smallFiles++;
            smallBytes += size;
        }

        compressOn.run();
        writeText(large.resolve("text-zstd.txt"), perLarge, rnd);
        largeBytes += perLarge;
        return new Layout(LARGE_RANDOM_FILES + 1, largeBytes, smallFiles, smallBytes, dirs, perLarge);
    }

    /** Reads every regular file under {@code root} through the mounted filesystem: path relative to root -> sum. */
    static Map<String, FileSum> checksums(Path root) throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.walk(root)) {
            files = s.filter(Files::isRegularFile).sorted().toList();
        }
        Map<String, FileSum> out = new TreeMap<>();
        ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK);
        for (Path f : files) {
            CRC32C crc = new CRC32C();
            long size = 0;
            try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
                while (true) {
                    buf.clear();
                    int n = ch.read(buf);
                    if (n < 0) {
                        break;
                    }
                    buf.flip();
                    crc.update(buf);
                    size += n;
                }
            }
            out.put(root.relativize(f).toString(), new FileSum(size, (int) crc.getValue()));
        }
        return out;
    }

    private static void writeRandom(Path file, long size, SplittableRandom rnd) throws IOException {
        byte[] buf = new byte[CHUNK];
        try (OutputStream out = Files.newOutputStream(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            long left = size;
            while (left > 0) {
                int n = (int) Math.min(left, buf.length);
                fillRandom(buf, n, rnd);
                out.write(buf, 0, n);
                left -= n;
            }
        }
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

    /** Log-like text from a small vocabulary: compresses a few times over, like real text does. */
    private static void writeText(Path file, long size, SplittableRandom rnd) throws IOException {
        String[] words = new String[512];
        for (int i = 0; i < words.length; i++) {
            int len = rnd.nextInt(2, 11);
            StringBuilder w = new StringBuilder(len);
            for (int k = 0; k < len; k++) {
                w.append((char) ('a' + rnd.nextInt(26)));
            }
            words[i] = w.toString();
        }
        byte[] buf = new byte[CHUNK];
        long line = 0;
        try (OutputStream out = Files.newOutputStream(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            long left = size;
            StringBuilder sb = new StringBuilder(CHUNK + 256);
            while (left > 0) {
                sb.setLength(0);
                while (sb.length() < CHUNK) {
                    sb.append(String.format("%010d ", line++)).append(rnd.nextInt(100_000)).append(' ');
                    int n = rnd.nextInt(4, 16);
                    for (int k = 0; k < n; k++) {
                        sb.append(words[Math.min(words.length - 1, (int) Math.abs(rnd.nextGaussian() * 60))]).append(' ');
                    }
                    sb.append('\n');
                }
                byte[] b = sb.toString().getBytes(StandardCharsets.US_ASCII);
                int n = (int) Math.min(left, Math.min(b.length, buf.length));
                out.write(b, 0, n);
                left -= n;
            }
        }
    }

    /** A step that may throw IOException. */
    @FunctionalInterface
    interface IORunnable {
        void run() throws IOException;
    }
}
