package org.jbtrfs.fuse;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Logger;
import org.jbtrfs.Filesystem;
import org.jbtrfs.OpenOptions;

/**
 * A mount in the foreground: what {@code jbtrfs mount -f} runs, and what the background daemon
 * started by {@code jbtrfs mount} runs.
 *
 * <h2>Lifecycle</h2>
 * <ol>
 *   <li>Lock the image file: exclusive for a writable mount, shared for {@code ro}
 *       ({@link #lockImage}; "image is in use" when another mount or tool holds it).</li>
 *   <li>Open the {@link Filesystem} (orphans of a crash are cleaned here) and mount it.</li>
 *   <li>Serve until unmounted. SIGTERM or SIGINT unmount first (shutdown hook), so the close
 *       below still happens.</li>
 *   <li>After the unmount: the last commit and close (when the session ends), then the lock is
 *       released. {@code jbtrfs umount} waits for this lock, so a remount never sees a torn image.</li>
 * </ol>
 */
public final class FuseDaemon {
    private static final Logger LOG = Logger.getLogger(FuseDaemon.class.getName());

    private FuseDaemon() {
    }

    /** How a daemon opens its filesystem; tests pass their own to reach the filesystem they serve. */
    @FunctionalInterface
    public interface Opener {
        Filesystem open(Path image, OpenOptions options) throws IOException;
    }

    /** Mounts and serves until unmounted; returns the exit status (0: unmounted and closed cleanly). */
    public static int run(Path image, Path mountPoint, MountOptions options, PrintWriter err) throws IOException {
        return run(image, mountPoint, options, err, Filesystem::open, () -> { });
    }

    /**
     * As {@link #run(Path, Path, MountOptions, PrintWriter)}, opening the filesystem with
     * {@code opener}, calling {@code onLive} once the mount is live. A leak found by the close after
     * the unmount prints its {@code LEAK} lines and gives exit status 1 (the image is committed and
     * closed all the same).
     */
    public static int run(Path image, Path mountPoint, MountOptions options, PrintWriter err, Opener opener,
            Runnable onLive) throws IOException {
        for (String o : options.ignored()) {
            err.println("jbtrfs: mount option '" + o + "' is accepted but has no effect yet");
        }
        err.flush();
        try (FileChannel lockChannel = openForLock(image, options.readOnly());
                FileLock lock = lockImage(lockChannel, image, options.readOnly())) {
            Filesystem fs = opener.open(image, new OpenOptions(options.readOnly(), options.cacheBytes(), false,
                    options.commitSeconds()));
            FuseMount mount = FuseMount.start(fs, image, mountPoint, options);
            onLive.run();
            Thread hook = new Thread(() -> {
                try {
                    mount.close();
                } catch (IOException e) {
                    LOG.severe("unmount at shutdown: " + e.getMessage());
                }
            }, "jbtrfs-unmount-at-exit");
            Runtime.getRuntime().addShutdownHook(hook);
            int status = 0;
            try {
                // The session closes the filesystem after the unmount; a LEAK found there fails the wait.
                mount.awaitEnd(java.time.Duration.ofDays(365 * 100));
            } catch (IOException e) {
                List<String> leaks = leakLines(e);
                if (leaks.isEmpty()) {
                    throw e;
                }
                leaks.forEach(err::println);
                status = 1;
            }
            // One line for logs and the generic/269 port: how many killed callers reached a waiting request.
            err.println("jbtrfs: unmounted " + mountPoint + ": interrupts=" + mount.session().interruptsDelivered().get()
                    + " eintr=" + mount.adapter().interruptedReplies().get());
            err.flush();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // the JVM is already shutting down; the hook has done the unmount
            }
            return status;
        }
    }

    /** The {@code LEAK ...} lines of a close failure (Filesystem.close's IllegalStateException), if any. */
    static List<String> leakLines(Throwable e) {
        List<String> out = new ArrayList<>();
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof IllegalStateException && t.getMessage() != null) {
                for (String line : t.getMessage().split("\n")) {
                    if (line.startsWith("LEAK")) {
                        out.add(line);
                    }
                }
                break;
            }
        }
        return out;
    }

    static FileChannel openForLock(Path image, boolean readOnly) throws IOException {
        if (!Files.isRegularFile(image) && !Files.exists(image)) {
            throw new java.nio.file.NoSuchFileException(image.toString(), null, "no such image file");
        }
        return readOnly ? FileChannel.open(image, StandardOpenOption.READ)
                : FileChannel.open(image, StandardOpenOption.READ, StandardOpenOption.WRITE);
    }

    /**
     * Takes the image lock (fcntl, so other processes see it), or fails with "image is in use".
     * The lock ends when the process closes its last descriptor of the image, which is after the
     * last write: the filesystem closes its device at the very end.
     */
    public static FileLock lockImage(FileChannel ch, Path image, boolean shared) throws IOException {
        FileLock lock;
        try {
            lock = ch.tryLock(0, Long.MAX_VALUE, shared);
        } catch (OverlappingFileLockException e) {
            lock = null;
        }
        if (lock == null) {
            throw new IOException("image is in use: " + image + " is locked by another jbtrfs mount or tool");
        }
        return lock;
    }

    /** Whether some process holds a lock on {@code image} (a mount still running or closing). */
    public static boolean isLocked(Path image) throws IOException {
        try (FileChannel ch = FileChannel.open(image, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            FileLock l = ch.tryLock(0, Long.MAX_VALUE, false);
            if (l == null) {
                return true;
            }
            l.release();
            return false;
        } catch (OverlappingFileLockException e) {
            return true;
        }
    }
}
