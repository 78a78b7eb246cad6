package org.jbtrfs.fuse;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.function.BooleanSupplier;

/**
 * Reads {@code /proc/self/mountinfo} (proc(5)): which filesystem is mounted where. The launcher
 * and the tests use it to know that a FUSE mount is live, or gone, without sleeping on a guess.
 */
public final class MountInfo {
    private static final Path MOUNTINFO = Path.of("/proc/self/mountinfo");
    /** How often {@link #await} looks again. */
    private static final long POLL_INTERVAL_MS = 20;

    private MountInfo() {
    }

    /** One line of mountinfo: mount point, filesystem type (e.g. fuse.jbtrfs) and source (the image). */
    public record Mount(Path mountPoint, String fsType, String source, String options) {
    }

    /** Every mount, in mount order. */
    public static List<Mount> all() {
        try {
            return Files.readAllLines(MOUNTINFO).stream().map(MountInfo::parse).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The mount at {@code mountPoint} (the last one mounted there, which is the one visible). */
    public static Optional<Mount> at(Path mountPoint) {
        Path want = mountPoint.toAbsolutePath().normalize();
        Mount found = null;
        for (Mount m : all()) {
            if (m.mountPoint().equals(want)) {
                found = m;
            }
        }
        return Optional.ofNullable(found);
    }

    /** Whether a jbtrfs FUSE mount is live at {@code mountPoint}. */
    public static boolean isJbtrfsMount(Path mountPoint) {
        return at(mountPoint).filter(m -> m.fsType().equals(FuseMount.FS_TYPE)).isPresent();
    }

    /**
     * Polls {@code condition} until it holds (true) or {@code timeout} passes (false). The bounded
     * wait for an outside event (a mount going live in another process) that has no callback.
     */
    public static boolean await(Duration timeout, BooleanSupplier condition) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            if (condition.getAsBoolean()) {
                return true;
            }
            if (System.nanoTime() - deadline > 0) {
                return false;
            }
            try {
                Thread.sleep(POLL_INTERVAL_MS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
    }

    /** {@code 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue}. */
    static Mount parse(String line) {
        String[] f = line.split(" ");
        int dash = 6;
        while (dash < f.length && !f[dash].equals("-")) {
            dash++;
        }
        if (dash + 2 >= f.length) {
            throw new IllegalArgumentException("unexpected mountinfo line: " + line);
        }
        return new Mount(Path.of(unescape(f[4])), unescape(f[dash + 1]), unescape(f[dash + 2]), f[5]);
    }

    /** mountinfo escapes space, tab, newline and backslash as \ooo. */
    static String unescape(String s) {
        if (s.indexOf('\\') < 0) {
            return s;
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 3 < s.length()) {
                sb.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }
}
