package org.jbtrfs.fuse;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.logging.Logger;
import org.jbtrfs.Filesystem;

/**
 * One live FUSE mount of a {@link Filesystem}: libfuse's loop runs on a thread of its own
 * (multithreaded: libfuse serves requests from several worker threads).
 *
 * <h2>Lifecycle</h2>
 * <ol>
 *   <li>{@link #start} runs {@code fuse_main} (foreground, multithreaded) on the thread
 *       "jbtrfs-fuse" and returns when the kernel has sent FUSE_INIT (the mount is live), or
 *       throws when fuse_main ended first (bad mount point, no /dev/fuse, ...).</li>
 *   <li>The mount serves until someone unmounts it: {@link #unmount} (fusermount -u),
 *       {@code jbtrfs umount}, {@code umount} or {@code fusermount -u} from a shell.</li>
 *   <li>After the unmount libfuse calls destroy, where the adapter closes the filesystem (the
 *       last commit); then fuse_main returns and {@link #awaitEnd} returns.</li>
 * </ol>
 */
public final class FuseMount implements AutoCloseable {
    public static final String SUBTYPE = "jbtrfs";
    public static final String FS_TYPE = "fuse." + SUBTYPE;
    /** How long start waits for FUSE_INIT. */
    public static final Duration MOUNT_TIMEOUT = Duration.ofSeconds(30);
    /** How long an unmount waits for the last commit and close. */
    public static final Duration CLOSE_TIMEOUT = Duration.ofMinutes(5);
    private static final Logger LOG = Logger.getLogger(FuseMount.class.getName());

    private final JbtrfsFuse fuse;
    private final Path mountPoint;
    private final CompletableFuture<Void> ended;
    private final RemountWatcher remounts;

    private FuseMount(JbtrfsFuse fuse, Path mountPoint, CompletableFuture<Void> ended, RemountWatcher remounts) {
        this.fuse = fuse;
        this.mountPoint = mountPoint;
        this.ended = ended;
        this.remounts = remounts;
        // When the mount ends (unmounted, by anyone) the watcher has nothing left to follow.
        ended.whenComplete((v, e) -> remounts.stop());
    }

    /** Remounts ({@code mount -o remount,ro|rw}) the daemon has followed so far. */
    public long remountsFollowed() {
        return remounts.remounts();
    }

    /**
     * Mounts {@code fs} (which the mount then owns) at {@code mountPoint} with the options of
     * {@code options} for {@code image}; returns once the mount is live.
     */
    public static FuseMount start(Filesystem fs, Path image, Path mountPoint, MountOptions options) throws IOException {
        JbtrfsFuse fuse = new JbtrfsFuse(fs);
        Path mnt = mountPoint.toAbsolutePath().normalize();
        String[] args = options.fuseArgs(image).toArray(String[]::new);
        CompletableFuture<Void> ended = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                fuse.mount(mnt, true, false, args);
                ended.complete(null);
            } catch (Throwable e) {
                ended.completeExceptionally(e);
            }
        }, "jbtrfs-fuse");
        t.start();
        try {
            CompletableFuture.anyOf(fuse.initialized(), ended).get(MOUNT_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while mounting " + mnt, e);
        } catch (ExecutionException e) {
            fs.close();
            throw new IOException("cannot mount " + image + " at " + mnt + ": " + e.getCause().getMessage(), e.getCause());
        } catch (TimeoutException e) {
            throw new IOException("the kernel did not initialize the mount at " + mnt + " within " + MOUNT_TIMEOUT);
        }
        if (!fuse.initialized().isDone()) {
            fs.close();
            throw new IOException("cannot mount " + image + " at " + mnt + " (libfuse gave up; see its message above)");
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
        return new FuseMount(fuse, mnt, ended, watcher);
    }

    public Path mountPoint() {
        return mountPoint;
    }

    public JbtrfsFuse adapter() {
        return fuse;
    }

    /** Whether libfuse's loop has ended (unmounted). */
    public boolean isEnded() {
        return ended.isDone();
    }

    /** Waits until the mount has ended and the filesystem is closed; rethrows a failure to close. */
    public void awaitEnd(Duration timeout) throws IOException {
        try {
            ended.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            if (fuse.initialized().isDone()) {
                fuse.destroyed().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            }
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
        if (!ended.isDone()) {
            unmount(mountPoint, false);
        }
        awaitEnd(CLOSE_TIMEOUT);
    }

    /** Unmounts, lazily if a plain unmount fails (busy): tests call this in finally. */
    @Override
    public void close() throws IOException {
        if (!ended.isDone()) {
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
