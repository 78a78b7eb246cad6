package org.jbtrfs.fuse;

import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.jbtrfs.Filesystem;

/**
 * Makes {@code mount -o remount,ro|rw MNT} reach the daemon. The kernel handles a FUSE remount in
 * the VFS alone (libfuse2 is not told), so this thread watches the mount's flags in
 * /proc/self/mountinfo and follows them with {@link Filesystem#remount}: read-only — delayed iputs
 * run, everything is committed, no transaction starts (seed 003's order); read-write again — the
 * commit thread restarts and orphans are cleaned. A mount opened {@code ro} stays read-only.
 * Polls twice a second: the VFS already refuses writes from the moment of the remount, so the
 * delay only defers the commit.
 */
final class RemountWatcher {
    private static final Logger LOG = Logger.getLogger(RemountWatcher.class.getName());
    static final long POLL_MILLIS = 500;

    private final Filesystem fs;
    private final Path mountPoint;
    private final boolean openedReadOnly;
    private final CountDownLatch stop = new CountDownLatch(1);
    private final Thread thread;
    private volatile long remounts;

    RemountWatcher(Filesystem fs, Path mountPoint, boolean openedReadOnly) {
        this.fs = fs;
        this.mountPoint = mountPoint;
        this.openedReadOnly = openedReadOnly;
        this.thread = new Thread(this::loop, "jbtrfs-remount-watch");
        thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    /** Remounts applied so far: tests wait on it. */
    long remounts() {
        return remounts;
    }

    void stop() {
        stop.countDown();
        try {
            thread.join(TimeUnit.SECONDS.toMillis(30));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The read-only flag of the mount's per-mount options (mountinfo field 6: "ro,..." or "rw,..."). */
    static boolean readOnlyFlag(String options) {
        for (String o : options.split(",")) {
            if (o.equals("ro")) {
                return true;
            }
        }
        return false;
    }

    private void loop() {
        while (true) {
            try {
                if (stop.await(POLL_MILLIS, TimeUnit.MILLISECONDS)) {
                    return;
                }
                follow();
            } catch (InterruptedException e) {
                return;
            } catch (Exception e) {
                LOG.log(Level.WARNING, "following a remount of " + mountPoint + " failed: " + e, e);
            }
        }
    }

    /**
     * Applies the mount's current flag now; returns whether the filesystem is writable afterwards.
     * Called by the poll and by the adapter when a change meets EROFS right after a remount,rw.
     */
    synchronized boolean follow() throws java.io.IOException {
        Optional<MountInfo.Mount> m = MountInfo.at(mountPoint);
        if (m.isEmpty() || !m.get().fsType().equals(FuseMount.FS_TYPE)) {
            return !fs.isReadOnly(); // unmounted (or not yet): the close follows in destroy
        }
        boolean ro = readOnlyFlag(m.get().options());
        if (ro && !fs.isReadOnly()) {
            fs.remount(true);
            remounts++;
            LOG.info("remounted " + mountPoint + " read-only: committed, no transaction starts");
        } else if (!ro && fs.isReadOnly() && !openedReadOnly) {
            fs.remount(false);
            remounts++;
            LOG.info("remounted " + mountPoint + " read-write");
        }
        return !fs.isReadOnly();
    }
}
