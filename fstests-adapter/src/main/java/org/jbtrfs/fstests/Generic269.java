package org.jbtrfs.fstests;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.jbtrfs.Errno;
import org.jbtrfs.Filesystem;
import org.jbtrfs.FsException;
import org.jbtrfs.InodeId;
import org.jbtrfs.OpenOptions;
import org.jbtrfs.check.CheckOptions;
import org.jbtrfs.check.CheckReport;
import org.jbtrfs.check.Checker;
import org.jbtrfs.device.FileBlockDevice;
import org.jbtrfs.disk.FsInfo;
import org.jbtrfs.mkfs.Mkfs;
import org.jbtrfs.mkfs.MkfsOptions;

/**
 * generic/269, embedded: "fsstress while filling the filesystem with dd, then kill fsstress and
 * unmount". One run:
 * <ol>
 *   <li>a fresh image of the given size ({@link Mkfs}), opened for writing;</li>
 *   <li>{@code workers} {@link StressWorker} threads, and a filler that writes one file until ENOSPC,
 *       deletes it, and does that ten times over;</li>
 *   <li>the kill: every worker thread is interrupted (a worker waiting for a reservation ticket gets
 *       EINTR and its ticket must leave the queue — seed 000), and must end within a minute;</li>
 *   <li>unmount: {@link Filesystem#close()} commits and fails on any reservation left over (LEAK
 *       lines);</li>
 *   <li>our checker and, when installed, {@code btrfs check --readonly --check-data-csum} on the
 *       image: both clean.</li>
 * </ol>
 * Any worker failure other than an expected refusal (EROFS after an abort, EIO, an exception) fails
 * the run.
 */
final class Generic269 {
    /** The filler's file, written until ENOSPC this many times (generic/269 loops dd). */
    static final int FILLS = 10;
    static final int WRITE_CHUNK = 1 << 20;
    static final int MIN_WRITE = 4096;
    static final long KILL_WAIT_SECONDS = 60;

    record Options(long sizeBytes, int workers, long seed, Path dir) {
    }

    record Result(boolean passed, String line) {
    }

    private Generic269() {
    }

    static Result run(Options o, int runNo, int runs, PrintWriter log) {
        long t0 = System.nanoTime();
        String prefix = "generic/269 embedded run " + runNo + "/" + runs + " (seed " + o.seed() + ")";
        Path img = o.dir().resolve("generic269-" + runNo + ".img");
        try {
            Files.deleteIfExists(img);
            Mkfs.format(img, MkfsOptions.defaults(o.sizeBytes()));
            Stats s = stress(img, o, log);
            String check = check(img);
            double secs = (System.nanoTime() - t0) / 1e9;
            if (check != null) {
                return new Result(false, prefix + ": FAILED: " + check);
            }
            return new Result(true, String.format(java.util.Locale.ROOT,
                    "%s: passed in %.1f s: %d workers, %d ops, filler %d fills (%d MiB), refusals: %s", prefix, secs,
                    o.workers(), s.ops, s.fills, s.filledBytes >> 20, StressWorker.describe(s.refusals)));
        } catch (Throwable t) {
            return new Result(false, prefix + ": FAILED: " + oneLine(t));
        } finally {
            try {
                Files.deleteIfExists(img);
            } catch (IOException e) {
                log.println("generic/269: could not remove " + img + ": " + e.getMessage());
            }
        }
    }

    static String oneLine(Throwable t) {
        String m = t.getMessage();
        return t.getClass().getSimpleName() + (m == null ? "" : ": " + m.replace('\n', ' '));
    }

    private static final class Stats {
        long ops;
        int fills;
        long filledBytes;
        final Map<Errno, Long> refusals = new EnumMap<>(Errno.class);
    }

    private static Stats stress(Path img, Options o, PrintWriter log) throws Exception {
        Stats s = new Stats();
        Filesystem fs = Filesystem.open(img, new OpenOptions(false, OpenOptions.DEFAULT_CACHE_LIMIT_BYTES, false));
        boolean closed = false;
        try {
            InodeId shared = fs.mkdir(fs.root(), "shared", 0777, 0, 0);
            List<StressWorker> workers = new ArrayList<>();
            List<Thread> threads = new ArrayList<>();
            for (int i = 0; i < o.workers(); i++) {
                StressWorker w = new StressWorker(fs, i, o.seed() * 31 + i, shared);
                Thread t = new Thread(w, "generic269-worker-" + i);
                t.setDaemon(true);
                workers.add(w);
                threads.add(t);
                t.start();
            }
            fill(fs, s, workers);
            // The kill, while the filesystem is full: interrupt every worker, as SIGKILL ends fsstress.
            for (Thread t : threads) {
                t.interrupt();
            }
            for (int i = 0; i < threads.size(); i++) {
                Thread t = threads.get(i);
                t.join(TimeUnit.SECONDS.toMillis(KILL_WAIT_SECONDS));
                if (t.isAlive()) {
                    workers.get(i).requestStop();
                    throw new IllegalStateException("worker " + i + " did not stop within " + KILL_WAIT_SECONDS
                            + " s of its interrupt: " + stack(t));
                }
                StressWorker w = workers.get(i);
                if (w.failure() != null) {
                    throw new IllegalStateException("worker " + i + " failed: " + oneLine(w.failure()), w.failure());
                }
                s.ops += w.ops();
                w.refusals().forEach((k, v) -> s.refusals.merge(k, v, Long::sum));
            }
            fs.unlink(fs.root(), "filler".getBytes(StandardCharsets.UTF_8));
            closed = true;
            fs.close(); // commits; throws on a reservation leak (LEAK lines)
        } finally {
            if (!closed) {
                try {
                    fs.close();
                } catch (IOException | RuntimeException e) {
                    log.println("generic/269: close after a failure: " + oneLine(e));
                }
            }
        }
        return s;
    }

    /**
     * dd until ENOSPC, ten times over; at each full point the workers get to run into ENOSPC (and
     * wait for space) for a while before the file goes, and after the last one it stays: the kill
     * comes while the filesystem is full, as in generic/269.
     */
    private static void fill(Filesystem fs, Stats s, List<StressWorker> workers) throws IOException {
        byte[] chunk = new byte[WRITE_CHUNK];
        java.util.Arrays.fill(chunk, (byte) 0x5a);
        for (int round = 0; round < FILLS; round++) {
            InodeId f = fs.create(fs.root(), "filler", 0644, 0, 0);
            long pos = 0;
            int len = chunk.length;
            while (true) {
                try {
                    fs.write(f, pos, chunk, 0, len);
                } catch (FsException e) {
                    if (e.errno() != Errno.ENOSPC) {
                        throw e;
                    }
                    if (len == MIN_WRITE) {
                        break;
                    }
                    len /= 2; // down to the last sectors: the filesystem is really full
                    continue;
                }
                pos += len;
            }
            s.filledBytes += pos;
            s.fills++;
            letWorkersRun(workers, 20L * workers.size());
            if (round < FILLS - 1) {
                fs.unlink(fs.root(), "filler".getBytes(StandardCharsets.UTF_8));
                fs.sync();
            }
        }
    }

    /** Waits until the workers made {@code ops} more operations in all, or a few seconds passed. */
    private static void letWorkersRun(List<StressWorker> workers, long ops) {
        long start = totalOps(workers);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
        while (totalOps(workers) - start < ops && System.nanoTime() < deadline) {
            java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
        }
    }

    private static long totalOps(List<StressWorker> workers) {
        long n = 0;
        for (StressWorker w : workers) {
            n += w.ops();
        }
        return n;
    }

    private static String stack(Thread t) {
        StringBuilder sb = new StringBuilder(t.getName());
        for (StackTraceElement e : t.getStackTrace()) {
            sb.append(" at ").append(e);
        }
        return sb.toString();
    }

    /** Our checker, then btrfs check when installed; null when both find the image clean. */
    static String check(Path img) throws IOException, InterruptedException {
        try (FsInfo fs = FsInfo.open(FileBlockDevice.open(img, true), OpenOptions.readOnlyDefaults())) {
            CheckReport r = new Checker(fs, new CheckOptions(true, CheckOptions.DEFAULT_MAX_PROBLEMS)).run();
            if (!r.clean()) {
                return "jbtrfs check: " + r.summary() + " " + r.problems();
            }
        }
        if (!onPath("btrfs")) {
            return null;
        }
        Process p = new ProcessBuilder("btrfs", "check", "--readonly", "--check-data-csum", img.toString())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(300, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return "btrfs check did not finish in 300 s";
        }
        return p.exitValue() == 0 ? null : "btrfs check exit " + p.exitValue() + ": " + out.replace('\n', ' ');
    }

    static boolean onPath(String cmd) {
        for (String d : System.getenv().getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin").split(":")) {
            if (Files.isExecutable(Path.of(d, cmd))) {
                return true;
            }
        }
        return Files.isExecutable(Path.of("/usr/sbin", cmd)) || Files.isExecutable(Path.of("/sbin", cmd));
    }
}
