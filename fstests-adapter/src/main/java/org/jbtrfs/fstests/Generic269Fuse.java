package org.jbtrfs.fstests;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.jbtrfs.mkfs.Mkfs;
import org.jbtrfs.mkfs.MkfsOptions;

/**
 * generic/269 through a real mount ({@code --mode fuse}): the image is mounted by a
 * {@code jbtrfs mount -f} daemon process; the workers are separate processes
 * ({@link FsstressProcess}) working through the kernel's VFS and FUSE; the filler writes through
 * the mount until ENOSPC ten times over; the workers get SIGKILL while the filesystem is full;
 * then {@code jbtrfs umount}. The run passes when the daemon exits 0 (its close found no LEAK),
 * and our checker and btrfs check find the image clean.
 *
 * <p>A killed process's requests in flight finish in the daemon (libfuse2's path API does not pass
 * FUSE_INTERRUPT on); what this port checks is that nothing leaks or breaks when clients die
 * mid-stream on a full filesystem.
 */
final class Generic269Fuse {
    static final long LIVE_SECONDS = 60;

    private Generic269Fuse() {
    }

    /** Where bin/jbtrfs is: -Djbtrfs.home (the launcher sets it), else the repository above the working directory. */
    static Path jbtrfs() {
        String home = System.getProperty("jbtrfs.home");
        Path base = home != null ? Path.of(home) : Path.of("").toAbsolutePath();
        for (Path p = base; p != null; p = p.getParent()) {
            Path bin = p.resolve("bin/jbtrfs");
            if (Files.isExecutable(bin)) {
                return bin;
            }
        }
        throw new IllegalStateException("bin/jbtrfs not found above " + base + " (set -Djbtrfs.home)");
    }

    /** Why the fuse mode cannot run here, or null. */
    static String unavailableReason() {
        if (!"root".equals(System.getProperty("user.name"))) {
            return "needs root";
        }
        if (!Files.exists(Path.of("/dev/fuse"))) {
            return "no /dev/fuse";
        }
        try {
            jbtrfs();
        } catch (IllegalStateException e) {
            return e.getMessage();
        }
        return null;
    }

    static boolean mounted(Path mnt) throws IOException {
        String target = " " + mnt.toAbsolutePath() + " ";
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            if (line.contains(target) && line.contains(" - fuse.jbtrfs ")) {
                return true;
            }
        }
        return false;
    }

    static Generic269.Result run(Generic269.Options o, int runNo, int runs, PrintWriter log) {
        long t0 = System.nanoTime();
        String prefix = "generic/269 fuse run " + runNo + "/" + runs + " (seed " + o.seed() + ")";
        Path img = o.dir().resolve("generic269-fuse-" + runNo + ".img");
        Path mnt = o.dir().resolve("generic269-mnt-" + runNo);
        Path daemonLog = o.dir().resolve("generic269-daemon-" + runNo + ".log");
        Process daemon = null;
        List<Process> workers = new ArrayList<>();
        try {
            Files.deleteIfExists(img);
            Files.createDirectories(mnt);
            Mkfs.format(img, MkfsOptions.defaults(o.sizeBytes()));
            daemon = new ProcessBuilder(jbtrfs().toString(), "mount", "-f", img.toString(), mnt.toString())
                    .redirectErrorStream(true).redirectOutput(daemonLog.toFile()).start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(LIVE_SECONDS);
            while (!mounted(mnt)) {
                if (!daemon.isAlive() || System.nanoTime() > deadline) {
                    throw new IOException("the mount did not come up: " + Files.readString(daemonLog).strip());
                }
                java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
            }
            String javaCmd = ProcessHandle.current().info().command().orElse("java");
            for (int i = 0; i < o.workers(); i++) {
                workers.add(new ProcessBuilder(javaCmd, "-Xmx64m", "-cp", System.getProperty("java.class.path"),
                        FsstressProcess.class.getName(), mnt.resolve("p" + i).toString(), Long.toString(o.seed() * 31 + i))
                        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start());
            }
            long filled = fill(mnt.resolve("filler"));
            for (Process w : workers) {
                w.destroyForcibly(); // SIGKILL, while the filesystem is full
            }
            for (Process w : workers) {
                if (!w.waitFor(60, TimeUnit.SECONDS)) {
                    throw new IOException("a worker did not die of SIGKILL within 60 s");
                }
            }
            Files.deleteIfExists(mnt.resolve("filler"));
            Process umount = new ProcessBuilder(jbtrfs().toString(), "umount", mnt.toString()).redirectErrorStream(true).start();
            String uout = new String(umount.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!umount.waitFor(300, TimeUnit.SECONDS) || umount.exitValue() != 0) {
                throw new IOException("jbtrfs umount failed: " + uout.strip());
            }
            if (!daemon.waitFor(300, TimeUnit.SECONDS)) {
                throw new IOException("the daemon did not exit after the unmount");
            }
            String dlog = Files.readString(daemonLog);
            if (daemon.exitValue() != 0 || dlog.contains("LEAK")) {
                return new Generic269.Result(false, prefix + ": FAILED: the daemon exited " + daemon.exitValue() + ": "
                        + dlog.strip().replace('\n', ' '));
            }
            String check = Generic269.check(img);
            if (check != null) {
                return new Generic269.Result(false, prefix + ": FAILED: " + check);
            }
            java.util.regex.Matcher im = java.util.regex.Pattern.compile("interrupts=(\\d+) eintr=(\\d+)").matcher(dlog);
            String interrupts = im.find() ? ", FUSE interrupts " + im.group(1) + " (EINTR " + im.group(2) + ")" : "";
            return new Generic269.Result(true, String.format(java.util.Locale.ROOT,
                    "%s: passed in %.1f s: %d worker processes killed with SIGKILL on a full filesystem, filler %d MiB%s",
                    prefix, (System.nanoTime() - t0) / 1e9, o.workers(), filled >> 20, interrupts));
        } catch (Throwable t) {
            return new Generic269.Result(false, prefix + ": FAILED: " + Generic269.oneLine(t));
        } finally {
            for (Process w : workers) {
                w.destroyForcibly();
            }
            try {
                if (mounted(mnt)) {
                    new ProcessBuilder("umount", "-l", mnt.toString()).start().waitFor(60, TimeUnit.SECONDS);
                }
                if (daemon != null && !daemon.waitFor(60, TimeUnit.SECONDS)) {
                    daemon.destroyForcibly();
                }
                Files.deleteIfExists(img);
                Files.deleteIfExists(daemonLog);
                Files.deleteIfExists(mnt);
            } catch (IOException | InterruptedException e) {
                log.println("generic/269: cleanup: " + Generic269.oneLine(e));
            }
        }
    }

    /** dd until ENOSPC, ten times, halving the writes to 4 KiB; the workers run meanwhile; the last fill stays. */
    private static long fill(Path file) throws IOException {
        byte[] chunk = new byte[Generic269.WRITE_CHUNK];
        long total = 0;
        for (int round = 0; round < Generic269.FILLS; round++) {
            long pos = 0;
            int len = chunk.length;
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                while (true) {
                    try {
                        ByteBuffer bb = ByteBuffer.wrap(chunk, 0, len);
                        while (bb.hasRemaining()) {
                            pos += ch.write(bb, pos);
                        }
                    } catch (IOException e) {
                        if (len == Generic269.MIN_WRITE) {
                            break;
                        }
                        len /= 2;
                    }
                }
            } catch (IOException e) {
                // closing a file on a full filesystem may report ENOSPC too
            }
            total += pos;
            // Let the workers meet the full filesystem for a moment (wall clock: they are other processes).
            java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(300));
            if (round < Generic269.FILLS - 1) {
                Files.deleteIfExists(file);
            }
        }
        return total;
    }
}
