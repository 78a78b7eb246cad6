package org.jbtrfs.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Real btrfs images made by the real tools: {@code mkfs.btrfs} formats an image file, the Linux
 * kernel fills it through a loop mount, {@code btrfs check --readonly} vouches for the result. The
 * oracle for "jbtrfs reads what the kernel wrote" (design.md, Oracles).
 *
 * <h2>Lifecycle of an image</h2>
 * <ol>
 *   <li>{@link #assumeAvailable()} skips the calling test (JUnit "skipped", with the reason) unless
 *       we are root on Linux with loop devices, btrfs in /proc/filesystems and btrfs-progs.</li>
 *   <li>{@link #mkfs} formats a sparse image file of the requested size.</li>
 *   <li>{@link #mount} attaches it to a loop device of its own ({@code losetup -f --show}) and
 *       mounts that device; the returned {@link LoopMount} unmounts and detaches on
 *       {@link LoopMount#close()}, which callers put in try-with-resources so that nothing is
 *       left behind even when a test fails. A JVM shutdown hook cleans up whatever a killed test
 *       left attached.</li>
 *   <li>{@link #check} runs {@code btrfs check --readonly} on the unmounted image and fails with
 *       its output when it finds anything.</li>
 * </ol>
 * {@link #build} does all of it in one call. Every external command runs with a timeout and its
 * output (stdout and stderr merged) captured; a failing command throws an {@link AssertionError}
 * that quotes the command, its exit status and its output.
 *
 * <p>Shared with later tests and other modules through fs-core's test-jar.
 */
public final class KernelImages {
    /** Ordinary commands (mount, losetup, stat, cp of a small tree). */
    public static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(120);
    /** Installing a missing package, tried at most once per JVM. */
    private static final Duration INSTALL_TIMEOUT = Duration.ofSeconds(300);
    /** How often an unmount or detach that fails with EBUSY is retried, and the pause between. */
    private static final int BUSY_RETRIES = 10;
    private static final long BUSY_RETRY_PAUSE_MS = 200;
    /**
     * Captured output kept per command; the rest is dropped (and the result says so). Large enough
     * for a find|stat listing of tens of thousands of files.
     */
    private static final int OUTPUT_LIMIT_BYTES = 64 << 20;
    /** Output quoted in a failure message. */
    private static final int MESSAGE_OUTPUT_CHARS = 16 * 1024;

    private static final String SEARCH_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    /** Mounts made through this class and not yet closed; the shutdown hook closes them. */
    private static final Set<LoopMount> ACTIVE = ConcurrentHashMap.newKeySet();
    /** Why kernel images cannot be made here, or "" when they can; computed once. */
    private static volatile String unavailable;
    private static final Map<String, Boolean> INSTALL_TRIED = new ConcurrentHashMap<>();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(KernelImages::closeAllActive, "KernelImages-cleanup"));
    }

    private KernelImages() {
    }

    /** The outcome of one external command. */
    public record Result(List<String> command, int exitCode, String output, boolean timedOut) {
        public boolean ok() {
            return exitCode == 0 && !timedOut;
        }

        /** Returns this result when it succeeded, else fails quoting command, status and output. */
        public Result orFail() {
            if (!ok()) {
                throw new AssertionError(describe());
            }
            return this;
        }

        /** Command, exit status and output (its start and end when long), for failure messages. */
        public String describe() {
            String shown = output.length() <= MESSAGE_OUTPUT_CHARS ? output
                    : output.substring(0, MESSAGE_OUTPUT_CHARS / 4) + "\n[...]\n"
                            + output.substring(output.length() - MESSAGE_OUTPUT_CHARS * 3 / 4);
            return "command " + String.join(" ", command) + (timedOut ? " timed out" : " exited with " + exitCode)
                    + "; output:\n" + shown;
        }
    }

    /** Fills a mounted image; called between mount and unmount by {@link #build}. */
    @FunctionalInterface
    public interface Populator {
        void populate(LoopMount mount) throws Exception;
    }

    // ---------------------------------------------------------------- availability

    /**
     * Skips the calling test, with a message saying what is missing, unless kernel images can be
     * made here. Call it first in a {@code @BeforeAll} or test method.
     */
    public static void assumeAvailable() {
        String why = unavailableReason();
        Assumptions.assumeTrue(why.isEmpty(), () -> "skipped: " + why);
    }

    /** Why kernel images cannot be made on this machine, or "" when they can. */
    public static synchronized String unavailableReason() {
        if (unavailable == null) {
            unavailable = probe();
        }
        return unavailable;
    }

    private static String probe() {
        if (!System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT).contains("linux")) {
            return "not Linux (needs the kernel's btrfs and loop devices)";
        }
        if (!isRoot()) {
            return "not root (loop mounts need CAP_SYS_ADMIN)";
        }
        if (!Files.exists(Path.of("/dev/loop-control"))) {
            return "no /dev/loop-control (no loop device support)";
        }
        if (!btrfsInKernel()) {
            run(Duration.ofSeconds(30), "modprobe", "btrfs");
            if (!btrfsInKernel()) {
                return "btrfs is not in /proc/filesystems and modprobe btrfs did not load it";
            }
        }
        if (which("mkfs.btrfs") == null || which("btrfs") == null) {
            installOnce("btrfs-progs");
            if (which("mkfs.btrfs") == null || which("btrfs") == null) {
                return "no mkfs.btrfs/btrfs (btrfs-progs not installed, and apt-get install failed)";
            }
        }
        if (which("losetup") == null || which("mount") == null || which("umount") == null) {
            return "losetup/mount/umount not found";
        }
        Result free = run(Duration.ofSeconds(30), "losetup", "-f");
        if (!free.ok()) {
            return "no free loop device: " + free.output().strip();
        }
        return "";
    }

    private static boolean isRoot() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Uid:")) {
                    String[] f = line.split("\\s+");
                    return f.length > 2 && f[2].equals("0"); // effective uid
                }
            }
        } catch (IOException e) {
            return false;
        }
        return false;
    }

    private static boolean btrfsInKernel() {
        try {
            return Files.readAllLines(Path.of("/proc/filesystems")).stream()
                    .anyMatch(l -> l.strip().equals("btrfs") || l.endsWith("\tbtrfs"));
        } catch (IOException e) {
            return false;
        }
    }

    /** The absolute path of {@code tool} in PATH or the sbin directories, or null. */
    public static Path which(String tool) {
        String path = System.getenv().getOrDefault("PATH", "") + ":" + SEARCH_PATH;
        for (String dir : path.split(":")) {
            if (dir.isEmpty()) {
                continue;
            }
            Path p = Path.of(dir, tool);
            if (Files.isRegularFile(p) && Files.isExecutable(p)) {
                return p;
            }
        }
        return null;
    }

    /**
     * Installs a Debian package with apt-get, at most once per JVM and package; returns whether
     * the command succeeded. For optional tools (attr's setfattr, e2fsprogs' mkfs.ext4).
     */
    public static boolean installOnce(String pkg) {
        if (INSTALL_TRIED.putIfAbsent(pkg, Boolean.TRUE) != null || which("apt-get") == null || !isRoot()) {
            return false;
        }
        Result r = run(INSTALL_TIMEOUT, "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-q", pkg);
        if (!r.ok()) {
            System.err.println("KernelImages: could not install " + pkg + ": " + r.describe());
        }
        return r.ok();
    }

    // ---------------------------------------------------------------- commands

    /** Runs a command with a timeout, capturing stdout and stderr together; never throws. */
    public static Result run(Duration timeout, String... command) {
        return run(timeout, null, Arrays.asList(command));
    }

    /** Runs a command and fails (quoting its output) unless it exits 0 in time. */
    public static Result runChecked(Duration timeout, String... command) {
        return run(timeout, command).orFail();
    }

    /** Runs {@code command} in {@code dir} (null: the current directory). */
    public static Result run(Duration timeout, Path dir, List<String> command) {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().put("PATH", SEARCH_PATH + ":" + System.getenv().getOrDefault("PATH", ""));
        pb.environment().put("LC_ALL", "C");
        pb.environment().put("TZ", "UTC");
        if (dir != null) {
            pb.directory(dir.toFile());
        }
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            return new Result(List.copyOf(command), -1, "could not start: " + e, false);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Thread pump = new Thread(() -> drain(p.getInputStream(), out), "pump " + command.get(0));
        pump.setDaemon(true);
        pump.start();
        boolean done;
        try {
            done = p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
            if (!done) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
            }
            pump.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            return new Result(List.copyOf(command), -1, "interrupted", true);
        }
        String text;
        synchronized (out) {
            text = out.toString(StandardCharsets.UTF_8);
            if (out.size() >= OUTPUT_LIMIT_BYTES) {
                text += "\n[output cut at " + OUTPUT_LIMIT_BYTES + " bytes]";
            }
        }
        return new Result(List.copyOf(command), done ? p.exitValue() : -1, text, !done);
    }

    private static void drain(InputStream in, ByteArrayOutputStream out) {
        byte[] buf = new byte[8192];
        try (in) {
            int n;
            while ((n = in.read(buf)) > 0) {
                synchronized (out) {
                    if (out.size() < OUTPUT_LIMIT_BYTES) {
                        out.write(buf, 0, Math.min(n, OUTPUT_LIMIT_BYTES - out.size()));
                    }
                }
            }
        } catch (IOException e) {
            // The process ended; what was read is what there is.
        }
    }

    // ---------------------------------------------------------------- images

    /** Creates (or replaces) a sparse image file of {@code sizeBytes} and formats it with mkfs.btrfs -f. */
    public static void mkfs(Path image, long sizeBytes, String... extraArgs) throws IOException {
        Files.deleteIfExists(image);
        try (var ch = java.nio.channels.FileChannel.open(image, java.nio.file.StandardOpenOption.CREATE_NEW,
                java.nio.file.StandardOpenOption.WRITE)) {
            ch.truncate(0);
            ch.write(java.nio.ByteBuffer.wrap(new byte[1]), sizeBytes - 1);
        }
        List<String> cmd = new ArrayList<>(List.of("mkfs.btrfs", "-f"));
        cmd.addAll(Arrays.asList(extraArgs));
        cmd.add(image.toString());
        run(COMMAND_TIMEOUT, null, cmd).orFail();
    }

    /**
     * Attaches {@code image} to a free loop device and mounts it on {@code dir} (created if
     * needed) with {@code options} (null or "" for none). On failure nothing stays attached.
     */
    public static LoopMount mount(Path image, Path dir, String options) throws IOException {
        Files.createDirectories(dir);
        String dev = runChecked(COMMAND_TIMEOUT, "losetup", "-f", "--show", image.toString()).output().strip();
        if (!dev.startsWith("/dev/loop")) {
            throw new AssertionError("losetup -f --show printed " + dev);
        }
        List<String> cmd = new ArrayList<>(List.of("mount", "-t", "btrfs"));
        if (options != null && !options.isEmpty()) {
            cmd.add("-o");
            cmd.add(options);
        }
        cmd.add(dev);
        cmd.add(dir.toString());
        Result r = run(COMMAND_TIMEOUT, null, cmd);
        if (!r.ok()) {
            detach(dev);
            throw new AssertionError(r.describe() + dmesgTail());
        }
        LoopMount m = new LoopMount(image, dir, dev);
        ACTIVE.add(m);
        return m;
    }

    /**
     * Runs {@code btrfs check --readonly} (plus {@code extraArgs}, e.g. --check-data-csum) on an
     * unmounted image; fails with the full output unless it reports no error. Returns the output.
     */
    public static String check(Path image, String... extraArgs) {
        List<String> cmd = new ArrayList<>(List.of("btrfs", "check", "--readonly"));
        cmd.addAll(Arrays.asList(extraArgs));
        cmd.add(image.toString());
        Result r = run(COMMAND_TIMEOUT, null, cmd);
        if (!r.ok() || !r.output().contains("no error found")) {
            throw new AssertionError("btrfs check found problems in " + image + ": " + r.describe());
        }
        return r.output();
    }

    /**
     * The whole cycle: mkfs an image of {@code sizeBytes}, mount it with {@code mountOptions}, let
     * {@code populator} fill it, unmount (always), detach, and btrfs check it. Returns the image.
     */
    public static Path build(Path image, long sizeBytes, String mountOptions, Populator populator) throws Exception {
        return build(image, sizeBytes, mountOptions, populator, new String[0]);
    }

    /** {@link #build(Path, long, String, Populator)} with extra mkfs.btrfs arguments (e.g. "-n", "4096"). */
    public static Path build(Path image, long sizeBytes, String mountOptions, Populator populator, String... mkfsArgs)
            throws Exception {
        mkfs(image, sizeBytes, mkfsArgs);
        Path dir = image.resolveSibling(image.getFileName() + ".mnt");
        try (LoopMount m = mount(image, dir, mountOptions)) {
            populator.populate(m);
        }
        check(image);
        return image;
    }

    /** The last lines of the kernel log, to explain a failed mount. */
    private static String dmesgTail() {
        Result r = run(Duration.ofSeconds(10), "dmesg");
        if (!r.ok()) {
            return "";
        }
        String[] lines = r.output().split("\n");
        return "\nkernel log (last lines):\n"
                + String.join("\n", Arrays.copyOfRange(lines, Math.max(0, lines.length - 15), lines.length));
    }

    private static void detach(String dev) {
        for (int i = 0; i < BUSY_RETRIES; i++) {
            Result r = run(COMMAND_TIMEOUT, "losetup", "-d", dev);
            if (r.ok() || !isAttached(dev)) {
                return;
            }
            pause();
        }
        System.err.println("KernelImages: could not detach " + dev);
    }

    private static boolean isAttached(String dev) {
        Path backing = Path.of("/sys/block", Path.of(dev).getFileName().toString(), "loop", "backing_file");
        return Files.exists(backing);
    }

    private static void pause() {
        try {
            Thread.sleep(BUSY_RETRY_PAUSE_MS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void closeAllActive() {
        for (LoopMount m : ACTIVE) {
            try {
                m.close();
            } catch (RuntimeException | AssertionError e) {
                System.err.println("KernelImages: cleanup of " + m + " failed: " + e);
            }
        }
    }

    /**
     * An image mounted through a loop device of its own. {@link #close()} unmounts (retrying while
     * busy, lazily as a last resort) and detaches the loop device; closing twice is harmless.
     */
    public static final class LoopMount implements AutoCloseable {
        private final Path image;
        private final Path dir;
        private final String device;
        private boolean closed;

        private LoopMount(Path image, Path dir, String device) {
            this.image = image;
            this.dir = dir;
            this.device = device;
        }

        /** The mount point. */
        public Path dir() {
            return dir;
        }

        /** A path inside the mounted filesystem. */
        public Path path(String relative) {
            return relative.isEmpty() ? dir : dir.resolve(relative);
        }

        public Path image() {
            return image;
        }

        public String device() {
            return device;
        }

        /** {@code mount -o remount,OPTIONS}: e.g. "compress=zstd" or "ro". Syncs first. */
        public void remount(String options) {
            sync();
            runChecked(COMMAND_TIMEOUT, "mount", "-o", "remount," + options, dir.toString());
        }

        /** Writes back everything dirty in this filesystem (sync -f), so later options apply to new writes only. */
        public void sync() {
            runChecked(COMMAND_TIMEOUT, "sync", "-f", dir.toString());
        }

        /** Runs a command in the mount point, failing with its output unless it succeeds. */
        public Result sh(String script) {
            return run(COMMAND_TIMEOUT, dir, List.of("sh", "-ec", script)).orFail();
        }

        @Override
        public synchronized void close() {
            if (closed) {
                return;
            }
            closed = true;
            ACTIVE.remove(this);
            Result last = null;
            for (int i = 0; i < BUSY_RETRIES; i++) {
                last = run(COMMAND_TIMEOUT, "umount", dir.toString());
                if (last.ok()) {
                    break;
                }
                pause();
            }
            if (last != null && !last.ok()) {
                run(COMMAND_TIMEOUT, "umount", "-l", dir.toString());
            }
            detach(device);
            if (last != null && !last.ok()) {
                throw new AssertionError("unmount of " + dir + " failed (detached lazily): " + last.describe());
            }
        }

        @Override
        public String toString() {
            return image + " on " + device + " at " + dir;
        }
    }
}
