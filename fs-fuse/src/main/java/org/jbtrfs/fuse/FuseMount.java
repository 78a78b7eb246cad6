package org.jbtrfs.fuse;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.logging.Logger;
import org.jbtrfs.Filesystem;
import org.jbtrfs.fuse.protocol.DevFuse;
import org.jbtrfs.fuse.protocol.FuseAbi;
import org.jbtrfs.fuse.protocol.FuseSession;

/**
 * One live FUSE mount of a {@link Filesystem}: a /dev/fuse connection ({@link DevFuse}) served by a
 * {@link FuseSession} whose workers run the {@link JbtrfsFuse} adapter.
 *
 * <h2>Lifecycle</h2>
 * <ol>
 *   <li>{@link #start} mounts (mount(2) as root, fusermount3 otherwise), starts the workers and
 *       returns when the kernel's INIT is answered (the mount is live), or throws (bad mount
 *       point, no /dev/fuse, ...) after closing the filesystem.</li>
 *   <li>The mount serves until someone unmounts it: {@link #unmount} (fusermount -u),
 *       {@code jbtrfs umount}, {@code umount} or {@code fusermount -u} from a shell.</li>
 *   <li>After the unmount every worker's read ends with ENODEV; the last one closes the filesystem
 *       (the last commit) and {@link #awaitEnd} returns.</li>
 * </ol>
 */
public final class FuseMount implements AutoCloseable {
    public static final String SUBTYPE = "jbtrfs";
    public static final String FS_TYPE = "fuse." + SUBTYPE;
    /** How long start waits for FUSE_INIT. */
    public static final Duration MOUNT_TIMEOUT = Duration.ofSeconds(30);
    /** How long an unmount waits for the last commit and close. */
    public static final Duration CLOSE_TIMEOUT = Duration.ofMinutes(5);
    /** Worker threads: enough that requests waiting (fsync, a reservation ticket) do not stall the rest. */
    public static final int WORKER_THREADS = 8;
    /** The largest read and write the kernel sends: 1 MiB (FUSE_MAX_PAGES, 256 pages). */
    public static final int MAX_WRITE = 1 << 20;
    /** What we ask of the kernel at INIT: see {@link FuseAbi} for each flag. */
    static final int INIT_FLAGS = FuseAbi.ASYNC_READ | FuseAbi.BIG_WRITES | FuseAbi.MAX_PAGES
            | FuseAbi.PARALLEL_DIROPS | FuseAbi.DO_READDIRPLUS | FuseAbi.READDIRPLUS_AUTO | FuseAbi.CACHE_SYMLINKS
            | FuseAbi.ASYNC_DIO | FuseAbi.POSIX_ACL | FuseAbi.DONT_MASK;
    private static final Logger LOG = Logger.getLogger(FuseMount.class.getName());

    private final JbtrfsFuse fuse;
    private final FuseSession session;
    private final Path mountPoint;
    private final RemountWatcher remounts;

    private FuseMount(JbtrfsFuse fuse, FuseSession session, Path mountPoint, RemountWatcher remounts) {
        this.fuse = fuse;
        this.session = session;
        this.mountPoint = mountPoint;
        this.remounts = remounts;
        // When the mount ends (unmounted, by anyone) the watcher has nothing left to follow.
        session.ended().whenComplete((v, e) -> remounts.stop());
    }

    /** Remounts ({@code mount -o remount,ro|rw}) the daemon has followed so far. */
    public long remountsFollowed() {
        return remounts.remounts();
    }

    /** The session serving the mount (for its counters). */
    public FuseSession session() {
        return session;
    }

    /**
     * Mounts {@code fs} (which the mount then owns) at {@code mountPoint} with the options of
     * {@code options} for {@code image}; returns once the mount is live.
     */
    public static FuseMount start(Filesystem fs, Path image, Path mountPoint, MountOptions options) throws IOException {
        JbtrfsFuse fuse = new JbtrfsFuse(fs, options.timeouts());
        Path mnt = mountPoint.toAbsolutePath().normalize();
        DevFuse dev;
        try {
            dev = DevFuse.mount(image.toAbsolutePath().toString(), mnt.toString(), FS_TYPE, options.mountFlags(),
                    options.kernelOptions());
        } catch (IOException | RuntimeException e) {
            fs.close();
            throw new IOException("cannot mount " + image + " at " + mnt + ": " + e.getMessage(), e);
        }
        FuseSession session = FuseSession.start(dev, fuse,
                new FuseSession.Config(WORKER_THREADS, MAX_WRITE, INIT_FLAGS), "jbtrfs-fuse");
        try {
            session.initialized().get(MOUNT_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            unmount(mnt, true);
            throw new IOException("interrupted while mounting " + mnt, e);
        } catch (ExecutionException | TimeoutException e) {
            // Nothing can use the mount: detach it; the workers end and close the filesystem.
            unmount(mnt, true);
            throw new IOException("the kernel did not initialize the mount at " + mnt + " within " + MOUNT_TIMEOUT
                    + (e.getCause() != null ? ": " + e.getCause().getMessage() : ""), e);
        }
        RemountWatcher watcher = new RemountWatcher(fs, mnt, options.readOnly());
        fuse.setFollowRemount(() -> {
            try {
                return watcher.follow();
            } catch (IOException e) {
                LOG.warning("following a remount of " + mnt + ": " + e.getMessage());
                return false;
            }
        });
        watcher.start();
        return new FuseMount(fuse, session, mnt, watcher);
    }

    public Path mountPoint() {
        return mountPoint;
    }

    public JbtrfsFuse adapter() {
        return fuse;
    }

    /** Whether the connection has ended (unmounted) and the filesystem is closed. */
    public boolean isEnded() {
        return session.ended().isDone();
    }

    /** Waits until the mount has ended and the filesystem is closed; rethrows a failure to close. */
    public void awaitEnd(Duration timeout) throws IOException {
        try {
            session.ended().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted waiting for the unmount of " + mountPoint, e);
        } catch (ExecutionException e) {
            throw new IOException("the mount at " + mountPoint + " ended with an error: " + e.getCause(), e.getCause());
        } catch (TimeoutException e) {
            throw new IOException("the mount at " + mountPoint + " did not end within " + timeout);
        }
    }

    /** Unmounts (fusermount -u) and waits for the last commit and close. */
    public void unmount() throws IOException {
        if (!isEnded()) {
            unmount(mountPoint, false);
        }
        awaitEnd(CLOSE_TIMEOUT);
    }

    /** Unmounts, lazily if a plain unmount fails (busy): tests call this in finally. */
    @Override
    public void close() throws IOException {
        if (!isEnded()) {
            try {
                unmount(mountPoint, false);
            } catch (IOException e) {
                LOG.warning(e.getMessage() + "; unmounting lazily");
                unmount(mountPoint, true);
            }
        }
        awaitEnd(CLOSE_TIMEOUT);
    }

    /**
     * Runs {@code fusermount -u [-z] MNT}, or {@code umount [-l] MNT} when fusermount is missing
     * or refuses (root may unmount anything); throws with the tool's message when both fail.
     */
    public static void unmount(Path mountPoint, boolean lazy) throws IOException {
        String mnt = mountPoint.toAbsolutePath().toString();
        List<String> fusermount = new ArrayList<>(List.of("fusermount", "-u"));
        List<String> umount = new ArrayList<>(List.of("umount"));
        if (lazy) {
            fusermount.add("-z");
            umount.add("-l");
        }
        fusermount.add(mnt);
        umount.add(mnt);
        String first = runQuietly(fusermount);
        if (first == null) {
            return;
        }
        String second = runQuietly(umount);
        if (second != null) {
            throw new IOException("cannot unmount " + mnt + ": " + first.strip() + "; " + second.strip());
        }
    }

    /** Runs a command; null when it succeeded, else what it printed. */
    private static String runQuietly(List<String> cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(
                    new java.io.File("/dev/null"))).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return String.join(" ", cmd) + " timed out";
            }
            return p.exitValue() == 0 ? null : String.join(" ", cmd) + ": " + out;
        } catch (IOException e) {
            return String.join(" ", cmd) + ": " + e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return String.join(" ", cmd) + ": interrupted";
        }
    }
}
