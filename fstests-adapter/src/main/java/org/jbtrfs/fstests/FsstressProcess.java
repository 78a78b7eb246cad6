package org.jbtrfs.fstests;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.UserDefinedFileAttributeView;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * One fsstress-like worker process on a mounted filesystem (generic/269 --mode fuse): the same mix
 * of operations as {@link StressWorker}, through the kernel's VFS and FUSE, until it is killed
 * (SIGKILL: the point of the test). Errors of the filesystem (ENOSPC, ENOENT, ...) are expected
 * and skipped; it prints nothing and never exits on its own.
 *
 * <p>Usage: {@code java -cp ... org.jbtrfs.fstests.FsstressProcess DIR SEED}.
 */
public final class FsstressProcess {
    private final Path home;
    private final SplittableRandom rnd;
    private final byte[] buf = new byte[128 * 1024];

    private FsstressProcess(Path home, long seed) {
        this.home = home;
        this.rnd = new SplittableRandom(seed);
    }

    public static void main(String[] args) throws IOException {
        Path dir = Path.of(args[0]);
        Files.createDirectories(dir);
        new FsstressProcess(dir, Long.parseLong(args[1])).run();
    }

    private void run() {
        while (true) {
            try {
                step();
            } catch (IOException | RuntimeException e) {
                // ENOSPC, ENOENT, EEXIST, ENOTEMPTY...: what a racing, filling workload meets.
            }
        }
    }

    private Path name(Path dir) {
        return dir.resolve("n" + rnd.nextInt(48));
    }

    private Path pick(Path dir) throws IOException {
        List<Path> l = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) {
                l.add(p);
                if (l.size() >= 64) {
                    break;
                }
            }
        }
        return l.isEmpty() ? null : l.get(rnd.nextInt(l.size()));
    }

    private Path where() throws IOException {
        Path p = pick(home);
        return p != null && Files.isDirectory(p, java.nio.file.LinkOption.NOFOLLOW_LINKS) && rnd.nextBoolean() ? p : home;
    }

    private void step() throws IOException {
        Path dir = where();
        int op = rnd.nextInt(100);
        if (op < 20) {
            write(name(dir), true);
        } else if (op < 25) {
            Files.createDirectory(name(dir));
        } else if (op < 29) {
            Files.createSymbolicLink(name(dir), Path.of("target-" + rnd.nextInt(100)));
        } else if (op < 33) {
            Path p = pick(dir);
            if (p != null && Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                Files.createLink(name(dir), p);
            }
        } else if (op < 43) {
            Path p = pick(dir);
            if (p != null) {
                Files.delete(p);
            }
        } else if (op < 50) {
            Path p = pick(dir);
            if (p != null) {
                Files.move(p, name(where()), StandardCopyOption.REPLACE_EXISTING);
            }
        } else if (op < 70) {
            Path p = pick(dir);
            if (p != null && Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                write(p, false);
            }
        } else if (op < 76) {
            Path p = pick(dir);
            if (p != null && Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
                    ch.truncate(rnd.nextLong(0, 1L << 19));
                }
            }
        } else if (op < 84) {
            Path p = pick(dir);
            if (p != null && Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
                    ch.read(ByteBuffer.wrap(buf), rnd.nextLong(0, 1L << 19));
                }
            }
        } else if (op < 90) {
            Path p = pick(dir);
            if (p != null && !Files.isSymbolicLink(p)) {
                UserDefinedFileAttributeView x = Files.getFileAttributeView(p, UserDefinedFileAttributeView.class);
                if (rnd.nextInt(3) == 0) {
                    x.delete("k" + rnd.nextInt(6));
                } else {
                    x.write("k" + rnd.nextInt(6), ByteBuffer.wrap(buf, 0, rnd.nextInt(1500)));
                }
            }
        } else if (op < 96) {
            Path p = pick(dir);
            if (p != null && !Files.isSymbolicLink(p)) {
                Files.setLastModifiedTime(p, FileTime.fromMillis(rnd.nextLong(0, 2_000_000_000_000L)));
            }
        } else {
            try (var s = Files.list(dir)) {
                s.count();
            }
        }
    }

    private void write(Path p, boolean create) throws IOException {
        int len = rnd.nextInt(8) == 0 ? rnd.nextInt(1, buf.length) : rnd.nextInt(1, 8192);
        rnd.nextBytes(buf);
        try (FileChannel ch = create ? FileChannel.open(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)
                : FileChannel.open(p, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(buf, 0, len), rnd.nextInt(4) == 0 ? rnd.nextLong(0, 1L << 19) : 0);
        }
    }
}
