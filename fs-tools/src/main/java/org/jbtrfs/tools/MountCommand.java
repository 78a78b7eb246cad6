package org.jbtrfs.tools;

import java.io.File;
import java.io.IOException;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.jbtrfs.fuse.FuseDaemon;
import org.jbtrfs.fuse.MountInfo;
import org.jbtrfs.fuse.MountOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code jbtrfs mount IMG MNT [-o OPTIONS] [-f]}: mounts a btrfs image through FUSE.
 *
 * <p>Without {@code -f} it starts the daemon, a child JVM (same java and class path, fixed heap
 * {@code -Xms = -Xmx}, pre-touched, so its memory is taken once and stays bounded) running
 * {@code jbtrfs mount -f}, in a session of its own; then it waits until mountinfo shows MNT as
 * {@code fuse.jbtrfs} (exit 0) or the daemon has failed (its message, exit 1). The daemon's log
 * goes to a file named in the message of a failure and kept for later ones.
 */
@Command(name = "mount", mixinStandardHelpOptions = true,
        description = {"Mount a btrfs image through FUSE; returns when the mount is live.",
            "Options (-o, comma separated): ro, rw, the mount flags (nosuid, nodev, noexec, sync, dirsync,"
                + " noatime and the atime family), allow_other, default_permissions (always on),"
                + " commit=SECONDS (default 30), cache_size=SIZE (tree block cache, default 64m),"
                + " attr_timeout=, entry_timeout=, negative_timeout= (seconds the kernel may cache, default 10);"
                + " compress= and other btrfs options are accepted without effect yet."})
final class MountCommand implements Callable<Integer> {
    /** How long the launcher waits for the daemon's mount to appear (JVM start, open, orphan cleanup). */
    static final Duration LIVE_TIMEOUT = Duration.ofSeconds(120);

    @Parameters(index = "0", paramLabel = "IMG", description = "The btrfs image file.")
    Path image;

    @Parameters(index = "1", paramLabel = "MNT", description = "The mount point (an existing directory).")
    Path mountPoint;

    @Option(names = "-o", paramLabel = "OPTIONS", description = "Mount options, comma separated (repeatable; see above).")
    List<String> options = new ArrayList<>();

    @Option(names = "-f", description = "Stay in the foreground (no daemon); unmount with jbtrfs umount or Ctrl-C.")
    boolean foreground;

    @Option(names = "--heap", paramLabel = "SIZE", description = "Heap of the daemon (default: JBTRFS_HEAP or 1g).")
    String heap;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        MountOptions o = MountOptions.parse(options);
        Path img = image.toAbsolutePath().normalize();
        Path mnt = mountPoint.toAbsolutePath().normalize();
        if (!Files.isRegularFile(img) && !Files.exists(img)) {
            throw new IOException(img + ": no such image file");
        }
        if (!Files.isDirectory(mnt)) {
            throw new IOException(mnt + ": the mount point is not a directory");
        }
        if (MountInfo.at(mnt).isPresent() && MountInfo.isJbtrfsMount(mnt)) {
            throw new IOException(mnt + " is already a jbtrfs mount");
        }
        PrintWriter err = spec.commandLine().getErr();
        if (foreground) {
            return FuseDaemon.run(img, mnt, o, err);
        }
        return launchDaemon(img, mnt, err);
    }

    private int launchDaemon(Path img, Path mnt, PrintWriter err) throws IOException {
        Path log = Files.createTempFile("jbtrfs-mount-", ".log");
        List<String> cmd = new ArrayList<>();
        if (Files.isExecutable(Path.of("/usr/bin/setsid"))) {
            cmd.add("/usr/bin/setsid"); // a session of its own: the terminal's hangup does not reach it
        }
        cmd.add(ProcessHandle.current().info().command().orElse(System.getProperty("java.home") + "/bin/java"));
        String h = heap != null ? heap : System.getenv().getOrDefault("JBTRFS_HEAP", "1g");
        cmd.addAll(List.of("-Xms" + h, "-Xmx" + h, "-XX:+AlwaysPreTouch", "-Dfile.encoding=UTF-8"));
        if (ManagementFactory.getRuntimeMXBean().getInputArguments().contains("-ea")
                || MountCommand.class.desiredAssertionStatus()) {
            cmd.add("-ea");
        }
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName(), "mount", "-f",
                img.toString(), mnt.toString()));
        for (String opt : options) {
            cmd.addAll(List.of("-o", opt));
        }
        Process p = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .redirectErrorStream(true).start();
        boolean live = MountInfo.await(LIVE_TIMEOUT, () -> !p.isAlive() || MountInfo.isJbtrfsMount(mnt));
        if (live && MountInfo.isJbtrfsMount(mnt)) {
            return 0;
        }
        if (p.isAlive()) {
            p.destroy();
            err.println("jbtrfs: the mount at " + mnt + " did not come up within " + LIVE_TIMEOUT.toSeconds() + " s; log: " + log);
            return Main.EXIT_FAILURE;
        }
        String out = Files.readString(log, StandardCharsets.UTF_8).strip();
        err.println(out.isEmpty() ? "jbtrfs: the mount daemon exited with status " + p.exitValue() : out);
        Files.deleteIfExists(log);
        return Main.EXIT_FAILURE;
    }
}
