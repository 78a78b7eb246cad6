package org.jbtrfs.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Locale;

/**
 * The metadata workload of the FUSE benchmark, a plain Java loop (fio's filecreate/filestat/
 * filedelete engines would do the same, but each needs its own job layout and reports setup
 * differently across fio versions; a loop is the same everywhere): in a fresh directory, create
 * N empty files (open with O_CREAT|O_EXCL, close), then drop caches and lstat each, then unlink
 * each, timing each phase. Single-threaded; the same code runs on every target, so the harness's
 * own cost cancels in the ratios.
 */
final class MetadataLoop {
    /** Files per second of each phase. */
    record Rates(double createPerSecond, double statPerSecond, double unlinkPerSecond) {
    }

    private MetadataLoop() {
    }

    static Rates run(Path dir, int files) throws IOException {
        Files.createDirectory(dir);
        Path[] paths = new Path[files];
        for (int i = 0; i < files; i++) {
            paths[i] = dir.resolve(String.format(Locale.ROOT, "f%07d", i));
        }
        long t0 = System.nanoTime();
        for (Path p : paths) {
            Files.newByteChannel(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE).close();
        }
        long create = System.nanoTime() - t0;
        dropCachesIfPossible();
        long size = 0;
        t0 = System.nanoTime();
        for (Path p : paths) {
            size += Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).size();
        }
        long stat = System.nanoTime() - t0;
        if (size != 0) {
            throw new MkfsBenchmark.BenchmarkFailure("metadata loop in " + dir + ": empty files add up to " + size + " bytes");
        }
        t0 = System.nanoTime();
        for (Path p : paths) {
            Files.delete(p);
        }
        long unlink = System.nanoTime() - t0;
        Files.delete(dir);
        return new Rates(perSecond(files, create), perSecond(files, stat), perSecond(files, unlink));
    }

    private static double perSecond(int n, long nanos) {
        return n / (Math.max(1, nanos) / 1e9);
    }

    /** Null if this process can drop the page cache, else why not. */
    static String coldCache() {
        try {
            ReadBenchmark.dropCaches();
            return null;
        } catch (IOException e) {
            return e.getMessage();
        }
    }

    /** {@code sync; echo 3 > drop_caches}, or nothing when that is not allowed (the header said so). */
    static void dropCachesIfPossible() {
        coldCache();
    }
}
