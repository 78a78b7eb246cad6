package org.jbtrfs.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.jbtrfs.bench.MkfsBenchmark.BenchmarkFailure;
import org.jbtrfs.bench.MkfsBenchmark.UsageException;

/**
 * The FUSE benchmark (issue 5): fio sequential and random reads and writes and a
 * create/stat/unlink loop on three targets in the same run, alternating their order: the kernel's
 * btrfs on a loop image, a jbtrfs FUSE mount ({@code bin/jbtrfs mount}) and a minimal jnr-fuse
 * passthrough of a plain directory ({@link PassthroughFuse}, the ceiling for any jnr-fuse
 * filesystem). Prints per-run lines, the medians as {@code RESULT} lines and jbtrfs's ratio against
 * each baseline as {@code RATIO} lines. See the package documentation.
 *
 * <p>Usage: {@code bin/bench-fuse [--size-mb N] [--runs N] [--runtime S] [--keep DIR] [--jbtrfs PATH]}.
 * Exits 0 when done or skipped (no root, fio, /dev/fuse, mkfs.btrfs or loop device), 1 on a
 * failure (a command failed, the jbtrfs image fails {@code btrfs check} after a run), 2 on a usage
 * error.
 */
public final class FuseBenchmark {
    /** Heap of the jbtrfs daemon and of the passthrough JVM: fixed (-Xms = -Xmx), the same for both. */
    static final String HEAP = "1g";
    static final long MIB = 1L << 20;
    static final long MIN_IMAGE_BYTES = 1L << 30;
    static final int DEFAULT_SIZE_MB = 256;
    static final int DEFAULT_RUNTIME_S = 30;
    /** Files of the metadata workload per MiB of --size-mb: 4096 files at the default 256. */
    static final int FILES_PER_MB = 16;
    static final int MIN_FILES = 100;
    static final long COMMAND_TIMEOUT_S = 600;
    static final String[] NEEDED_COMMANDS = {"fio", "mkfs.btrfs", "btrfs", "losetup", "mount", "umount", "sync"};
    static final String DEFAULT_JBTRFS = System.getProperty("jbtrfs.bench.jbtrfs", "bin/jbtrfs");

    /** The three targets, in the order of the first run (later runs rotate it). */
    enum Target {
        KERNEL("kernel"), JBTRFS("jbtrfs"), PASSTHROUGH("passthrough");

        final String label;

        Target(String label) {
            this.label = label;
        }
    }

    /** The workloads, in the order one target runs them and the output lists them. */
    enum Workload {
        SEQWRITE("seqwrite", Fio.Job.SEQWRITE), SEQREAD("seqread", Fio.Job.SEQREAD), RANDWRITE("randwrite", Fio.Job.RANDWRITE),
        RANDREAD("randread", Fio.Job.RANDREAD), CREATE("create", null), STAT("stat", null), UNLINK("unlink", null);

        final String label;
        /** The fio job, or null for a phase of the metadata loop ({@link MetadataLoop}). */
        final Fio.Job job;

        Workload(String label, Fio.Job job) {
            this.label = label;
            this.job = job;
        }

        String unit() {
            return job == null ? "ops/s" : job.unit();
        }
    }

    private final int sizeMb;
    private final int runs;
    private final int runtimeS;
    private final Path keepDir;
    private final Path jbtrfs;
    private final PrintStream out;

    FuseBenchmark(int sizeMb, int runs, int runtimeS, Path keepDir, Path jbtrfs, PrintStream out) {
        this.sizeMb = sizeMb;
        this.runs = runs;
        this.runtimeS = runtimeS;
        this.keepDir = keepDir;
        this.jbtrfs = jbtrfs;
        this.out = out;
    }

    public static void main(String[] args) {
        int code = run(args, System.out, System.err);
        System.out.flush();
        System.exit(code);
    }

    /** Parses and runs; returns the exit status (0 done or skipped, 1 failed, 2 usage). */
    static int run(String[] args, PrintStream out, PrintStream err) {
        return MkfsBenchmark.exitStatus("bench-fuse", () -> parse(args, out).run(), usage(), out, err);
    }

    static String usage() {
        return String.join("\n",
                "usage: bench-fuse [--size-mb N] [--runs N] [--runtime S] [--keep DIR] [--jbtrfs PATH]",
                "  --size-mb N    MiB of the fio file; the metadata loop makes 16 files per MiB (default 256)",
                "  --runs N       runs over the three targets, order rotating (default 3)",
                "  --runtime S    longest any one fio job runs, in seconds (default 30)",
                "  --keep DIR     work in DIR and leave the last images and the passthrough directory there",
                "  --jbtrfs PATH  the jbtrfs command (mkfs, mount, umount; default bin/jbtrfs)",
                "Needs root, fio, /dev/fuse, btrfs-progs and loop devices; prints 'skipped: ...' and exits 0 without them.");
    }

    static FuseBenchmark parse(String[] args, PrintStream out) throws UsageException {
        int size = DEFAULT_SIZE_MB;
        int runs = 3;
        int runtime = DEFAULT_RUNTIME_S;
        Path keep = null;
        Path jb = Path.of(DEFAULT_JBTRFS);
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            String val = null;
            int eq = a.indexOf('=');
            if (a.startsWith("--") && eq > 0) {
                val = a.substring(eq + 1);
                a = a.substring(0, eq);
            }
            if (a.equals("-h") || a.equals("--help")) {
                throw new UsageException("");
            }
            if (!List.of("--size-mb", "--runs", "--runtime", "--keep", "--jbtrfs").contains(a)) {
                throw new UsageException("unknown argument: " + args[i]);
            }
            if (val == null) {
                if (i + 1 >= args.length) {
                    throw new UsageException(a + " needs a value");
                }
                val = args[++i];
            }
            switch (a) {
                case "--size-mb" -> size = number(a, val, 1, 64 * 1024);
                case "--runs" -> runs = number(a, val, 1, 1000);
                case "--runtime" -> runtime = number(a, val, 1, 3600);
                case "--keep" -> keep = Path.of(val).toAbsolutePath().normalize();
                default -> jb = Path.of(val).toAbsolutePath().normalize();
            }
        }
        return new FuseBenchmark(size, runs, runtime, keep, jb, out);
    }

    private static int number(String name, String val, int min, int max) throws UsageException {
        int v;
        try {
            v = Integer.parseInt(val);
        } catch (NumberFormatException e) {
            throw new UsageException(name + ": not a number: " + val);
        }
        if (v < min || v > max) {
            throw new UsageException(name + " must be " + min + ".." + max);
        }
        return v;
    }

    /** Why this machine cannot run the benchmark, or null if it can. */
    static String skipReason() throws IOException {
        String os = System.getProperty("os.name", "");
        if (!os.toLowerCase(Locale.ROOT).contains("linux")) {
            return "needs Linux (FUSE, btrfs, loop devices); this is " + os;
        }
        long euid = ReadBenchmark.effectiveUid();
        if (euid != 0) {
            return "needs root (loop mounts, FUSE mounts, drop_caches); running as uid " + euid;
        }
        List<String> missing = Cmd.missing(NEEDED_COMMANDS);
        if (!missing.isEmpty()) {
            return "command(s) not found: " + String.join(", ", missing) + " (fio, btrfs-progs, util-linux, coreutils)";
        }
        if (!Files.exists(Path.of("/dev/fuse"))) {
            return "no /dev/fuse (modprobe fuse, or a container without the FUSE device)";
        }
        Cmd.Result free = Cmd.tryRun(LoopMount.TIMEOUT_S, "losetup", "-f");
        if (!free.ok() || !free.out().strip().startsWith("/dev/")) {
            return "no free loop device: " + free.describe();
        }
        if (!ReadBenchmark.kernelHasBtrfs()) {
            if (Cmd.which("modprobe") != null) {
                Cmd.tryRun(LoopMount.TIMEOUT_S, "modprobe", "btrfs");
            }
            if (!ReadBenchmark.kernelHasBtrfs()) {
                return "the running kernel has no btrfs (not in /proc/filesystems, modprobe btrfs did not help)";
            }
        }
        return null;
    }

    int run() throws IOException {
        String skip = skipReason();
        if (skip != null) {
            out.println("skipped: " + skip);
            return 0;
        }
        if (!Files.isExecutable(jbtrfs)) {
            throw new BenchmarkFailure("the jbtrfs command " + jbtrfs + " is not an executable file (build with 'mvn -DskipTests package'"
                    + " or name another with --jbtrfs)");
        }
        Path work = keepDir != null ? Files.createDirectories(keepDir) : Files.createTempDirectory("jbtrfs-bench-fuse-");
        FuseTargets targets = new FuseTargets(work, imageBytes(sizeMb), jbtrfs, HEAP);
        try {
            return measure(work, targets);
        } finally {
            targets.close(keepDir == null);
            if (keepDir != null) {
                out.println("kept: " + targets.kept());
            }
        }
    }

    private int measure(Path work, FuseTargets targets) throws IOException {
        int files = Math.max(MIN_FILES, sizeMb * FILES_PER_MB);
        printHeader(work, files);
        double[][][] v = new double[Workload.values().length][Target.values().length][runs];
        for (int r = 0; r < runs; r++) {
            List<Target> order = order(r);
            out.printf(Locale.ROOT, "run %d/%d (order: %s)%n", r + 1, runs,
                    String.join(", ", order.stream().map(t -> t.label).toList()));
            for (Target t : order) {
                Path dir = targets.mount(t);
                double[] got;
                try {
                    got = runWorkloads(dir, files);
                } finally {
                    targets.unmount(t);
                }
                String check = t == Target.JBTRFS ? targets.checkJbtrfsImage("run " + (r + 1)) : "";
                for (Workload w : Workload.values()) {
                    v[w.ordinal()][t.ordinal()][r] = got[w.ordinal()];
                }
                out.println("  " + runLine(t, got) + check);
            }
        }
        Map<Workload, double[]> medians = new LinkedHashMap<>();
        for (Workload w : Workload.values()) {
            double[] m = new double[Target.values().length];
            for (Target t : Target.values()) {
                m[t.ordinal()] = ReadBenchmark.median(v[w.ordinal()][t.ordinal()]);
            }
            medians.put(w, m);
        }
        out.printf(Locale.ROOT, "median of %d run(s):%n", runs);
        out.print(resultLines(medians));
        return 0;
    }

    private void printHeader(Path work, int files) throws IOException {
        out.println("jbtrfs FUSE benchmark: fio and a create/stat/unlink loop on the kernel's btrfs (loop image), a jbtrfs mount"
                + " and a jnr-fuse passthrough of a plain directory, same run");
        out.printf(Locale.ROOT, "host: Linux %s, %d CPUs, Java %s, %s, %s%n", System.getProperty("os.version"),
                Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"),
                Cmd.tryRun(30, "fio", "--version").out().strip(),
                Cmd.tryRun(30, "mkfs.btrfs", "--version").out().lines().findFirst().orElse("mkfs.btrfs ?").strip());
        out.printf(Locale.ROOT, "targets: kernel = mkfs.btrfs -f + mount -o loop; jbtrfs = %s mkfs + %s mount --heap %s;"
                + " passthrough = PassthroughFuse of a directory, JVM heap %s; images %d MiB sparse, all in %s (on %s),"
                + " made fresh for every run%n", jbtrfs, jbtrfs, HEAP, HEAP, imageBytes(sizeMb) / MIB, work, Files.getFileStore(work).type());
        out.printf(Locale.ROOT, "fio: one job at a time, psync, --direct=0, file %d MiB, --runtime=%d (whichever ends first);"
                + " writes --end_fsync=1 (counted); seqwrite/seqread bs=1M (MB/s), randwrite/randread bs=4k (IOPS)%n", sizeMb, runtimeS);
        out.printf(Locale.ROOT, "metadata: a Java loop in this JVM, after one unmeasured round, %d empty files in one directory: create (open O_CREAT|O_EXCL,"
                + " close), stat (lstat), unlink (ops/s)%n", files);
        String cold = MetadataLoop.coldCache();
        out.println(cold == null ? "cache: sync; echo 3 > /proc/sys/vm/drop_caches before seqread, randread and stat"
                : "cache: WARM, cannot drop caches (" + cold + ")");
        if (Files.getFileStore(work).type().equals("tmpfs")) {
            out.println("warning: the images and the passthrough directory live on tmpfs: dropping caches does not evict them");
        }
    }

    /** Target order of run {@code r} (0-based): the first order rotated left r times, so each target leads in turn. */
    static List<Target> order(int r) {
        List<Target> all = Arrays.asList(Target.values());
        List<Target> o = new ArrayList<>();
        for (int i = 0; i < all.size(); i++) {
            o.add(all.get((i + r) % all.size()));
        }
        return o;
    }

    /** Runs every workload in {@link Workload} order on the mounted {@code dir}; returns the figures in that order. */
    private double[] runWorkloads(Path dir, int files) throws IOException {
        double[] got = new double[Workload.values().length];
        Path file = dir.resolve("fio.dat");
        for (Workload w : Workload.values()) {
            if (w.job == null) {
                continue;
            }
            if (!w.job.write) {
                MetadataLoop.dropCachesIfPossible();
            }
            got[w.ordinal()] = Fio.run(w.job, file, sizeMb, runtimeS).value(w.job);
        }
        Files.delete(file);
        // One unmeasured round first, on every target alike: a fresh daemon JVM has not compiled its
        // create/unlink paths yet (JMH's warmup, for a loop that is not a JMH benchmark).
        MetadataLoop.run(dir.resolve("warmup"), files);
        MetadataLoop.Rates m = MetadataLoop.run(dir.resolve("meta"), files);
        got[Workload.CREATE.ordinal()] = m.createPerSecond();
        got[Workload.STAT.ordinal()] = m.statPerSecond();
        got[Workload.UNLINK.ordinal()] = m.unlinkPerSecond();
        return got;
    }

    /** One target's figures of one run: "kernel: seqwrite 690.1 MB/s, ...". */
    static String runLine(Target t, double[] got) {
        StringBuilder sb = new StringBuilder(t.label).append(':');
        for (Workload w : Workload.values()) {
            sb.append(w.ordinal() == 0 ? " " : ", ").append(w.label).append(' ').append(format(got[w.ordinal()])).append(' ').append(w.unit());
        }
        return sb.toString();
    }

    /**
     * The final lines, the contract for scripts: for each workload {@code RESULT <workload>_<target>
     * <value> <unit>} for the three targets, then for each workload {@code RATIO
     * <workload>_jbtrfs_vs_kernel <x>} and {@code RATIO <workload>_jbtrfs_vs_passthrough <x>}: median
     * jbtrfs throughput over the baseline's, two decimals, above 1 faster.
     */
    static String resultLines(Map<Workload, double[]> medians) {
        StringBuilder sb = new StringBuilder();
        String nl = System.lineSeparator();
        for (Map.Entry<Workload, double[]> e : medians.entrySet()) {
            for (Target t : Target.values()) {
                sb.append("RESULT ").append(e.getKey().label).append('_').append(t.label).append(' ')
                        .append(format(e.getValue()[t.ordinal()])).append(' ').append(e.getKey().unit()).append(nl);
            }
        }
        for (Map.Entry<Workload, double[]> e : medians.entrySet()) {
            double mine = e.getValue()[Target.JBTRFS.ordinal()];
            for (Target base : List.of(Target.KERNEL, Target.PASSTHROUGH)) {
                sb.append(String.format(Locale.ROOT, "RATIO %s_jbtrfs_vs_%s %.2f%s", e.getKey().label, base.label,
                        mine / e.getValue()[base.ordinal()], nl));
            }
        }
        return sb.toString();
    }

    /** Throughput with one decimal. */
    static String format(double v) {
        return String.format(Locale.ROOT, "%.1f", v);
    }

    /** Four times the fio file, at least 1 GiB: room for copy-on-write of random writes and the metadata. */
    static long imageBytes(int sizeMb) {
        return Math.max(MIN_IMAGE_BYTES, 4L * sizeMb * MIB);
    }
}
