package org.jbtrfs.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * An image attached to a loop device ({@code losetup -f --show}) and mounted as btrfs. Closing it
 * unmounts and detaches; a JVM shutdown hook does the same for every mount still open, so an
 * interrupted run (Ctrl-C, SIGTERM) leaves nothing mounted and no loop device attached.
 */
final class LoopMount implements AutoCloseable {
    static final long TIMEOUT_S = 120;

    private static final Set<LoopMount> LIVE = new LinkedHashSet<>();
    private static final List<Path> REMOVE_ON_EXIT = new ArrayList<>();
    /** Set (under LIVE) once the shutdown hook runs: no new mounts from then on. */
    private static boolean exiting;

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(LoopMount::closeAllOnExit, "loop-mount-cleanup"));
    }

    private final Path mountPoint;
    private final String device;
    private boolean mounted;
    private boolean attached;

    private LoopMount(Path mountPoint, String device) {
        this.mountPoint = mountPoint;
        this.device = device;
        this.attached = true;
    }

    /**
     * Attaches {@code image} to a free loop device and mounts it at {@code mountPoint} with the
     * given mount options ("ro", "compress=zstd", ... or null for none).
     */
    static LoopMount mount(Path image, Path mountPoint, boolean readOnly, String options) throws IOException {
        checkNotExiting();
        List<String> losetup = new ArrayList<>(List.of("losetup", "-f", "--show"));
        if (readOnly) {
            losetup.add("-r");
        }
        losetup.add(image.toString());
        String dev = Cmd.run(TIMEOUT_S, losetup.toArray(String[]::new)).out().strip();
        if (!dev.startsWith("/dev/")) {
            throw new IOException("losetup printed no device: '" + dev + "'");
        }
        LoopMount m = new LoopMount(mountPoint, dev);
        synchronized (LIVE) {
            LIVE.add(m);
        }
        try {
            checkNotExiting();
            String opts = readOnly ? (options == null ? "ro" : "ro," + options) : options;
            List<String> mount = new ArrayList<>(List.of("mount", "-t", "btrfs"));
            if (opts != null) {
                mount.add("-o");
                mount.add(opts);
            }
            mount.add(dev);
            mount.add(mountPoint.toString());
            synchronized (m) { // the exit hook's close() waits for this, then sees the mount
                Cmd.run(TIMEOUT_S, mount.toArray(String[]::new));
                m.mounted = true;
            }
            return m;
        } catch (IOException | RuntimeException e) {
            try {
                m.close();
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    /** True once the JVM is shutting down (Ctrl-C, SIGTERM): what failed after that was interrupted, not broken. */
    static boolean exiting() {
        synchronized (LIVE) {
            return exiting;
        }
    }

    private static void checkNotExiting() throws IOException {
        if (exiting()) {
            throw new IOException("not mounting: the JVM is shutting down");
        }
    }

    /** Whether /proc/self/mounts lists our mount point (the truth, whatever a killed mount command left). */
    private boolean mountedNow() {
        String want = mountPoint.toString().replace("\\", "\\134").replace(" ", "\\040").replace("\t", "\\011")
                .replace("\n", "\\012");
        try {
            for (String line : java.nio.file.Files.readAllLines(Path.of("/proc/self/mounts"))) {
                String[] f = line.split(" ");
                if (f.length > 1 && f[1].equals(want)) {
                    return true;
                }
            }
            return false;
        } catch (IOException e) {
            return mounted;
        }
    }

    String device() {
        return device;
    }

    Path mountPoint() {
        return mountPoint;
    }

    /** {@code mount -o remount,OPTIONS}: to change, say, the compression of later writes. */
    void remount(String options) throws IOException {
        Cmd.run(TIMEOUT_S, "mount", "-o", "remount," + options, mountPoint.toString());
    }

    /** Unmounts (if mounted) and detaches the loop device; safe to call more than once. */
    @Override
    public synchronized void close() throws IOException {
        IOException failure = null;
        mounted = mountedNow();
        if (mounted) {
            Cmd.Result r = Cmd.tryRun(TIMEOUT_S, "umount", mountPoint.toString());
            if (r.ok()) {
                mounted = false;
            } else {
                failure = new IOException(r.describe());
            }
        }
        if (!mounted && attached) {
            Cmd.Result r = Cmd.tryRun(TIMEOUT_S, "losetup", "-d", device);
            if (r.ok()) {
                attached = false;
            } else if (failure == null) {
                failure = new IOException(r.describe());
            }
        }
        if (!mounted && !attached) {
            synchronized (LIVE) {
                LIVE.remove(this);
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    /**
     * Files and empty directories (in order) to delete on JVM exit once every mount is gone: the
     * scratch image of an interrupted run.
     */
    static void removeOnExit(Path... paths) {
        synchronized (LIVE) {
            REMOVE_ON_EXIT.addAll(List.of(paths));
        }
    }

    /** Last resort on JVM exit: stop our children, unmount (lazily if busy), detach, remove scratch files. */
    private static void closeAllOnExit() {
        List<LoopMount> left;
        synchronized (LIVE) {
            exiting = true;
            left = new ArrayList<>(LIVE);
        }
        if (!left.isEmpty()) {
            ProcessHandle.current().descendants().forEach(ProcessHandle::destroyForcibly);
        }
        for (LoopMount m : left) {
            try {
                m.close();
            } catch (IOException e) {
                try {
                    synchronized (m) {
                        if (m.mountedNow()) {
                            Cmd.Result r = Cmd.tryRun(TIMEOUT_S, "umount", "-l", m.mountPoint.toString());
                            m.mounted = !r.ok();
                        }
                    }
                    m.close();
                } catch (IOException e2) {
                    System.err.println("bench-read: could not clean up " + m.device + " on " + m.mountPoint + ": " + e2.getMessage());
                }
            }
            System.err.println("bench-read: cleaned up " + m.device + " (" + m.mountPoint + ") on exit");
        }
        List<Path> remove;
        synchronized (LIVE) {
            if (!LIVE.isEmpty()) {
                return; // something is still mounted: leave its files alone
            }
            remove = new ArrayList<>(REMOVE_ON_EXIT);
        }
        for (Path p : remove) {
            try {
                java.nio.file.Files.deleteIfExists(p);
            } catch (IOException e) {
                System.err.println("bench-read: could not remove " + p + ": " + e.getMessage());
            }
        }
    }
}
