package org.jbtrfs.bench;

import java.io.File;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.jbtrfs.bench.FuseBenchmark.Target;
import org.jbtrfs.bench.MkfsBenchmark.BenchmarkFailure;
import org.jbtrfs.fuse.FuseMount;
import org.jbtrfs.fuse.MountInfo;

/**
 * Mounts and unmounts the FUSE benchmark's three targets, each fresh for every run, in one work
 * directory on the host filesystem:
 * <ul>
 *   <li>kernel: {@code kernel.img} (sparse), {@code mkfs.btrfs -f -q}, {@link LoopMount} at
 *       {@code mnt-kernel};</li>
 *   <li>jbtrfs: {@code jbtrfs.img}, {@code JBTRFS_HEAP=H jbtrfs mkfs -q IMG --size S}, then
 *       {@code jbtrfs mount --heap H IMG mnt-jbtrfs} (a background daemon) and {@code jbtrfs umount}
 *       (which returns after the last commit); after each run {@link #checkJbtrfsImage};</li>
 *   <li>passthrough: a fresh directory {@code passthrough}, served at {@code mnt-passthrough} by
 *       {@link PassthroughFuse} in a JVM of its own with the daemon's heap flags.</li>
 * </ul>
 * Whatever is still mounted when the JVM exits (Ctrl-C, a failure) is unmounted lazily by a
 * shutdown hook, and a passthrough JVM still running is killed; {@link #close} does the same in
 * the normal way.
 */
final class FuseTargets {
    /** Live FUSE mount points, for the exit hook. Guarded by itself. */
    private static final Set<Path> LIVE_FUSE = new LinkedHashSet<>();
    /** Passthrough JVMs still running, for the exit hook. Guarded by LIVE_FUSE. */
    private static final Set<Process> LIVE_PROCESSES = new LinkedHashSet<>();
    private static final long COMMAND_TIMEOUT_S = FuseBenchmark.COMMAND_TIMEOUT_S;
    /** How long the passthrough JVM may take to start and mount (JVM start, heap pre-touch, FUSE_INIT). */
    private static final Duration PASSTHROUGH_MOUNT_TIMEOUT = FuseMount.MOUNT_TIMEOUT.plusSeconds(30);

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(FuseTargets::closeAllOnExit, "bench-fuse-cleanup"));
    }

    private final Path work;
    private final long imageBytes;
    private final Path jbtrfs;
    private final String heap;
    private final Path kernelImage;
    private final Path jbtrfsImage;
    private final Path passthroughDir;
    private LoopMount kernelMount;
    private Process passthrough;

    FuseTargets(Path work, long imageBytes, Path jbtrfs, String heap) {
        this.work = work;
        this.imageBytes = imageBytes;
        this.jbtrfs = jbtrfs;
        this.heap = heap;
        this.kernelImage = work.resolve("kernel.img");
        this.jbtrfsImage = work.resolve("jbtrfs.img");
        this.passthroughDir = work.resolve("passthrough");
    }

    Path mountPoint(Target t) {
        return work.resolve("mnt-" + t.label);
    }

    /** Makes the target fresh and mounts it; returns the directory to work in. */
    Path mount(Target t) throws IOException {
        Path mnt = Files.createDirectories(mountPoint(t));
        switch (t) {
            case KERNEL -> {
                freshImage(kernelImage);
                Cmd.run(COMMAND_TIMEOUT_S, "mkfs.btrfs", "-f", "-q", kernelImage.toString());
                kernelMount = LoopMount.mount(kernelImage, mnt, false, null);
            }
            case JBTRFS -> {
                Files.deleteIfExists(jbtrfsImage);
                jbtrfs("mkfs", "-q", jbtrfsImage.toString(), "--size", imageBytes / FuseBenchmark.MIB + "M");
                register(mnt);
                jbtrfs("mount", "--heap", heap, jbtrfsImage.toString(), mnt.toString());
                expectMount(mnt, FuseMount.FS_TYPE);
            }
            default -> startPassthrough(mnt);
        }
        return mnt;
    }

    private void jbtrfs(String... args) throws IOException {
        List<String> argv = new ArrayList<>(List.of(jbtrfs.toString()));
        argv.addAll(List.of(args));
        Cmd.Result r = Cmd.tryRun(COMMAND_TIMEOUT_S, Map.of("JBTRFS_HEAP", heap), argv.toArray(String[]::new));
        if (!r.ok()) {
            throw new BenchmarkFailure("jbtrfs " + args[0] + " failed: " + r.describe());
        }
    }

    private void freshImage(Path img) throws IOException {
        Files.deleteIfExists(img);
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            f.setLength(imageBytes);
        }
    }

    private void startPassthrough(Path mnt) throws IOException {
        deleteTree(passthroughDir);
        Files.createDirectories(passthroughDir);
        String java = ProcessHandle.current().info().command().orElse(System.getProperty("java.home") + "/bin/java");
        Path log = work.resolve("passthrough.log");
        register(mnt);
        Process p = new ProcessBuilder(java, "-Xms" + heap, "-Xmx" + heap, "-XX:+AlwaysPreTouch", "-cp",
                System.getProperty("java.class.path"), PassthroughFuse.class.getName(), passthroughDir.toString(), mnt.toString())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(ProcessBuilder.Redirect.to(log.toFile())).redirectErrorStream(true).start();
        synchronized (LIVE_FUSE) {
            LIVE_PROCESSES.add(p);
        }
        passthrough = p;
        String type = "fuse." + PassthroughFuse.SUBTYPE;
        MountInfo.await(PASSTHROUGH_MOUNT_TIMEOUT, () -> !p.isAlive() || isMounted(mnt, type));
        if (!isMounted(mnt, type)) {
            p.destroyForcibly();
            throw new BenchmarkFailure("the passthrough did not mount at " + mnt + (p.isAlive() ? " in time" : ", it exited")
                    + "; its log:\n" + Files.readString(log, StandardCharsets.UTF_8).strip());
        }
    }

    private static boolean isMounted(Path mnt, String type) {
        return MountInfo.at(mnt).map(m -> m.fsType().equals(type)).orElse(false);
    }

    private static void expectMount(Path mnt, String type) throws IOException {
        if (!isMounted(mnt, type)) {
            throw new BenchmarkFailure("no " + type + " mount at " + mnt + " after the mount command returned");
        }
    }

    /** Unmounts the target; for jbtrfs returns once the daemon has committed and released the image. */
    void unmount(Target t) throws IOException {
        Path mnt = mountPoint(t);
        switch (t) {
            case KERNEL -> {
                if (kernelMount != null) {
                    kernelMount.close();
                    kernelMount = null;
                }
            }
            case JBTRFS -> {
                if (isMounted(mnt, FuseMount.FS_TYPE)) {
                    jbtrfs("umount", mnt.toString());
                }
                unregister(mnt);
            }
            default -> stopPassthrough(mnt);
        }
    }

    private void stopPassthrough(Path mnt) throws IOException {
        Process p = passthrough;
        passthrough = null;
        if (isMounted(mnt, "fuse." + PassthroughFuse.SUBTYPE)) {
            FuseMount.unmount(mnt, false);
        }
        unregister(mnt);
        if (p == null) {
            return;
        }
        try {
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new BenchmarkFailure("the passthrough JVM did not exit within 60 s of its unmount");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted waiting for the passthrough JVM", e);
        } finally {
            synchronized (LIVE_FUSE) {
                LIVE_PROCESSES.remove(p);
            }
        }
    }

    /**
     * {@code btrfs check --readonly --check-data-csum} of the jbtrfs image after its unmount;
     * throws a failure (exit 1) naming {@code when} unless it exits 0. Returns the note for the run line.
     */
    String checkJbtrfsImage(String when) throws IOException {
        Cmd.Result r = Cmd.tryRun(COMMAND_TIMEOUT_S, "btrfs", "check", "--readonly", "--check-data-csum", jbtrfsImage.toString());
        if (!r.ok()) {
            throw new BenchmarkFailure(when + ": the jbtrfs image fails btrfs check after the workloads: " + r.describe());
        }
        return "; image passes btrfs check";
    }

    /** Unmounts whatever is still mounted; removes the work directory when {@code delete}. */
    void close(boolean delete) throws IOException {
        IOException failure = null;
        for (Target t : Target.values()) {
            try {
                unmount(t);
            } catch (IOException e) {
                if (failure == null) {
                    failure = e;
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        boolean anyLeft;
        synchronized (LIVE_FUSE) {
            anyLeft = !LIVE_FUSE.isEmpty();
        }
        if (delete && failure == null && !anyLeft) {
            deleteTree(work);
        }
        if (failure != null) {
            throw failure;
        }
    }

    String kept() {
        return "images " + kernelImage + " " + jbtrfsImage + ", directory " + passthroughDir;
    }

    private static void register(Path mnt) {
        synchronized (LIVE_FUSE) {
            LIVE_FUSE.add(mnt);
        }
    }

    private static void unregister(Path mnt) {
        synchronized (LIVE_FUSE) {
            LIVE_FUSE.remove(mnt);
        }
    }

    /** Last resort on JVM exit: lazy unmount of every FUSE mount we made, kill passthrough JVMs. */
    private static void closeAllOnExit() {
        List<Path> mounts;
        List<Process> procs;
        synchronized (LIVE_FUSE) {
            mounts = new ArrayList<>(LIVE_FUSE);
            procs = new ArrayList<>(LIVE_PROCESSES);
        }
        for (Path mnt : mounts) {
            if (MountInfo.at(mnt).isPresent()) {
                try {
                    FuseMount.unmount(mnt, true);
                    System.err.println("bench-fuse: unmounted " + mnt + " on exit");
                } catch (IOException e) {
                    System.err.println("bench-fuse: could not unmount " + mnt + ": " + e.getMessage());
                }
            }
        }
        for (Process p : procs) {
            p.destroyForcibly();
        }
    }

    static void deleteTree(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException | java.io.UncheckedIOException e) {
            System.err.println("bench-fuse: could not remove " + root + ": " + e.getMessage());
        }
    }
}
