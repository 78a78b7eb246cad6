package org.jbtrfs.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.jbtrfs.bench.TreeSnapshot.Entry;

/**
 * The mkfs benchmark: {@code mkfs.btrfs --rootdir} and {@code jbtrfs mkfs --rootdir} of the same
 * generated host tree into same-sized sparse images, alternating, cold cache each time; both images
 * must pass {@code btrfs check} and the jbtrfs image must hold exactly the source tree. Prints the
 * medians as {@code RESULT} lines, their {@code RATIO} and a {@code MEMORY} line for the 512 MiB heap.
 * See the package documentation.
 *
 * <p>Usage: {@code bin/bench-mkfs [--small-files N] [--large-mb N] [--runs N] [--keep DIR] [--src DIR]
 * [--jbtrfs PATH]}. Exits 0 when done or skipped (no root, no mkfs.btrfs, ...), 1 on a failure
 * (a command failed, an image failed its check or differs from the source, jbtrfs ran out of
 * memory), 2 on a usage error.
 */
public final class MkfsBenchmark {
    static final String HEAP = "512m";
    static final long MIB = 1L << 20;
    static final long MIN_IMAGE_BYTES = 1L << 30;
    /** Image sizes are rounded up to this, so the --size argument is a round number of MiB. */
    static final long IMAGE_ROUND_BYTES = 64 * MIB;
    static final long COMMAND_TIMEOUT_S = 3600;
    static final int DEFAULT_SMALL_FILES = 20_000;
    static final int DEFAULT_LARGE_MB = 500;
    static final String[] NEEDED_COMMANDS = {"mkfs.btrfs", "btrfs", "losetup", "mount", "umount", "sync"};
    /** How bin/jbtrfs (and a JVM dying in another thread) report an OutOfMemoryError. */
    static final Pattern OUT_OF_MEMORY = Pattern.compile("(?i)out of memory|OutOfMemoryError");
    static final String DEFAULT_JBTRFS = System.getProperty("jbtrfs.bench.jbtrfs", "bin/jbtrfs");

    private final int smallFiles;
    private final int largeMb;
    private final int runs;
    private final Path keepDir;
    private final Path srcDir;
    private final Path jbtrfs;
    private final PrintStream out;

    MkfsBenchmark(int smallFiles, int largeMb, int runs, Path keepDir, Path srcDir, Path jbtrfs, PrintStream out) {
        this.smallFiles = smallFiles;
        this.largeMb = largeMb;
        this.runs = runs;
        this.keepDir = keepDir;
        this.srcDir = srcDir;
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
        return exitStatus("bench-mkfs", () -> parse(args, out).run(), usage(), out, err);
    }

    /** Something a benchmark command runs: its exit status, or a usage error or failure thrown. */
    interface Body {
        int run() throws Exception;
    }

    /**
     * The exit status of a benchmark command (shared by bench-mkfs and bench-fuse): 0 done or
     * skipped (or --help), 2 usage error with the usage text, 1 failure with one line (and the
     * stack of an unexpected one).
     */
    static int exitStatus(String name, Body body, String usage, PrintStream out, PrintStream err) {
        try {
            return body.run();
        } catch (UsageException e) {
            if (e.getMessage().isEmpty()) {
                out.println(usage);
                return 0;
            }
            err.println(name + ": " + e.getMessage());
            err.println(usage);
            return 2;
        } catch (Exception | Error e) {
            out.flush();
            err.println(name + ": FAILED: " + (e instanceof IOException || e instanceof BenchmarkFailure ? e.getMessage() : e));
            if (!(e instanceof BenchmarkFailure)) {
                e.printStackTrace(err);
            }
            return 1;
        }
    }

    static String usage() {
        return String.join("\n",
                "usage: bench-mkfs [--small-files N] [--large-mb N] [--runs N] [--keep DIR] [--src DIR] [--jbtrfs PATH]",
                "  --small-files N   small files (0-64 KiB) in the generated tree (default 20000)",
                "  --large-mb N      MiB of large files in the generated tree (default 500; 0 for none)",
                "  --runs N          timed runs of each mkfs, alternating (default 3)",
                "  --keep DIR        work in DIR and leave the tree (DIR/src) and the last images there",
                "  --src DIR         use this existing tree instead of generating one",
                "  --jbtrfs PATH     the jbtrfs command to run as 'PATH mkfs IMG --size SIZE --rootdir SRC' (default bin/jbtrfs)",
                "Needs root, btrfs-progs and loop devices; prints 'skipped: ...' and exits 0 without them.");
    }

    static MkfsBenchmark parse(String[] args, PrintStream out) throws UsageException {
        int small = DEFAULT_SMALL_FILES;
        int large = DEFAULT_LARGE_MB;
        int runs = 3;
        boolean sized = false;
        Path keep = null;
        Path src = null;
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
            if (!List.of("--small-files", "--large-mb", "--runs", "--keep", "--src", "--jbtrfs").contains(a)) {
                throw new UsageException("unknown argument: " + args[i]);
            }
            if (val == null) {
                if (i + 1 >= args.length) {
                    throw new UsageException(a + " needs a value");
                }
                val = args[++i];
            }
            switch (a) {
                case "--small-files" -> {
                    small = number(a, val, 0, 1_000_000);
                    sized = true;
                }
                case "--large-mb" -> {
                    large = number(a, val, 0, 64 * 1024);
                    sized = true;
                }
                case "--runs" -> runs = number(a, val, 1, 1000);
                case "--keep" -> keep = Path.of(val).toAbsolutePath().normalize();
                case "--src" -> src = Path.of(val).toAbsolutePath().normalize();
                default -> jb = Path.of(val).toAbsolutePath().normalize();
            }
        }
        if (src != null && sized) {
            throw new UsageException("--src uses an existing tree: --small-files and --large-mb do not apply to it");
        }
        if (src != null && !Files.isDirectory(src)) {
            throw new UsageException("--src: not a directory: " + src);
        }
        return new MkfsBenchmark(small, large, runs, keep, src, jb, out);
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
            return "needs Linux (btrfs-progs, loop devices); this is " + os;
        }
        long euid = ReadBenchmark.effectiveUid();
        if (euid != 0) {
            return "needs root (loop mount of the jbtrfs image to compare it with the source, drop_caches); running as uid " + euid;
        }
        List<String> missing = Cmd.missing(NEEDED_COMMANDS);
        if (!missing.isEmpty()) {
            return "command(s) not found: " + String.join(", ", missing) + " (btrfs-progs, util-linux, coreutils)";
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
        Path work = keepDir != null ? Files.createDirectories(keepDir) : Files.createTempDirectory("jbtrfs-bench-mkfs-");
        Path mnt = work.resolve("mnt");
        Path[] images = {work.resolve("mkfs-btrfs.img"), work.resolve("jbtrfs.img")};
        Path src = srcDir != null ? srcDir : work.resolve("src");
        if (srcDir == null && Files.exists(src)) {
            throw new BenchmarkFailure(src + " already exists: pass --src " + src + " to reuse it, or remove it");
        }
        Thread cleanup = keepDir == null ? new Thread(() -> deleteTree(work), "bench-mkfs-cleanup") : null;
        if (cleanup != null) {
            Runtime.getRuntime().addShutdownHook(cleanup); // an interrupted run leaves no tree in the temp directory
        } else {
            LoopMount.removeOnExit(mnt);
        }
        try {
            Files.createDirectories(mnt);
            return measure(work, src, images, mnt);
        } finally {
            Files.deleteIfExists(mnt);
            if (cleanup != null) {
                deleteTree(work);
                Runtime.getRuntime().removeShutdownHook(cleanup);
            } else {
                out.println("kept: " + (srcDir == null ? "tree " + src + ", " : "") + "images " + images[0] + " " + images[1]);
            }
        }
    }

    private int measure(Path work, Path src, Path[] images, Path mnt) throws IOException {
        out.println("jbtrfs mkfs benchmark: mkfs.btrfs --rootdir vs jbtrfs mkfs --rootdir of the same tree, same image size, same run");
        out.printf(Locale.ROOT, "host: Linux %s, %d CPUs, Java %s, %s%n", System.getProperty("os.version"),
                Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"),
                Cmd.tryRun(30, "mkfs.btrfs", "--version").out().lines().findFirst().orElse("mkfs.btrfs ?").strip());
        if (srcDir == null) {
            long t0 = System.nanoTime();
            SourceTree.Layout l = SourceTree.generate(src, smallFiles, largeMb);
            out.printf(Locale.ROOT, "tree: %s generated (seed %x) in %.1f s: %d small files (%s; %d empty, %d inline-sized <= %d B) in %d"
                    + " directories, %d large files (%s apparent, %s data, one sparse), %d symlinks, %d hard links%n",
                    src, SourceTree.SEED, secs(System.nanoTime() - t0), l.smallFiles(), mib(l.smallBytes()), l.emptyFiles(), l.inlineFiles(),
                    SourceTree.INLINE_MAX, l.smallDirs(), l.largeFiles(), mib(l.largeBytes()), mib(l.largeDataBytes()), l.symlinks(), l.hardLinks());
        }
        Map<String, Entry> want = TreeSnapshot.take(src);
        long treeBytes = TreeSnapshot.fileBytes(want);
        long imageBytes = imageBytes(treeBytes);
        String size = imageBytes / MIB + "M";
        String store = Files.getFileStore(work).type();
        out.printf(Locale.ROOT, "source: %s (%d entries, %s in files, on %s)%n", src, want.size(), mib(treeBytes), Files.getFileStore(src).type());
        out.printf(Locale.ROOT, "images: %s sparse each (2x the tree, at least 1 GiB), in %s (on %s), created fresh before every mkfs%n",
                size, work, store);
        out.println("baseline: mkfs.btrfs -f --rootdir SRC IMG");
        out.println("jbtrfs:   JBTRFS_HEAP=" + HEAP + " " + jbtrfs + " mkfs IMG --size " + size + " --rootdir SRC");
        String cold = coldCache();
        out.println(cold == null
                ? "cache: cold: sync; echo 3 > /proc/sys/vm/drop_caches before each mkfs, so both read the source from disk"
                : "cache: WARM, cannot drop caches (" + cold + "): the source was just read in full, so both mkfs read it from the page cache");
        if (store.equals("tmpfs") || store.equals("ramfs") || Files.getFileStore(src).type().equals("tmpfs")) {
            out.println("warning: the tree or the images live on tmpfs: dropping caches does not evict them, both sides work in RAM");
        }
        out.println("timed: wall clock of the command plus a sync right after it (data either left dirty counts); verification untimed");

        double[] base = new double[runs];
        double[] mine = new double[runs];
        for (int r = 0; r < runs; r++) {
            boolean baseFirst = r % 2 == 0;
            StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "run %d/%d (%s first):", r + 1, runs,
                    baseFirst ? "mkfs.btrfs" : "jbtrfs"));
            for (int phase = 0; phase < 2; phase++) {
                boolean isBase = (phase == 0) == baseFirst;
                Path img = images[isBase ? 0 : 1];
                String[] argv = isBase ? new String[] {"mkfs.btrfs", "-f", "--rootdir", src.toString(), img.toString()}
                        : new String[] {jbtrfs.toString(), "mkfs", img.toString(), "--size", size, "--rootdir", src.toString()};
                Timed t = timedMkfs(img, imageBytes, argv, isBase ? Map.of() : Map.of("JBTRFS_HEAP", HEAP), cold == null);
                if (!t.result().ok()) {
                    String oom = isBase ? null : outOfMemory(t.result());
                    if (oom != null) {
                        out.println(line);
                        return reportOutOfMemory(base, r, oom);
                    }
                    throw new BenchmarkFailure((isBase ? "baseline mkfs.btrfs failed: " : "jbtrfs mkfs failed: ") + t.result().describe()
                            + (!isBase && t.result().exit() == 2 ? "\n(exit 2 is a usage error: does " + jbtrfs + " have 'mkfs --rootdir' yet?)" : ""));
                }
                String oom = isBase ? null : outOfMemory(t.result());
                if (oom != null) { // exit 0 after an OutOfMemoryError in some thread is still a failure of the budget
                    out.println(line);
                    return reportOutOfMemory(base, r, oom);
                }
                check(img, isBase ? "mkfs.btrfs image" : "jbtrfs image");
                if (!isBase) {
                    compareWithSource(img, mnt, want, "run " + (r + 1));
                }
                (isBase ? base : mine)[r] = secs(t.totalNanos());
                line.append(String.format(Locale.ROOT, "  %s %.3f s (sync %.3f s);", isBase ? "mkfs.btrfs" : "jbtrfs",
                        secs(t.totalNanos()), secs(t.syncNanos())));
            }
            line.append(String.format(Locale.ROOT, "  jbtrfs/mkfs.btrfs x%.2f; both images pass btrfs check, the jbtrfs image matches"
                    + " the source (%d entries)", mine[r] / base[r], want.size()));
            out.println(line);
        }
        out.printf(Locale.ROOT, "median of %d run(s):%n", runs);
        out.print(resultLines(ReadBenchmark.median(base), ReadBenchmark.median(mine), null));
        return 0;
    }

    /** What one timed mkfs left: the command's result and the sync after it. */
    record Timed(Cmd.Result result, long syncNanos) {
        long totalNanos() {
            return result.nanos() + syncNanos;
        }
    }

    /** Creates a fresh sparse image, drops caches if asked, runs and times {@code argv} and a sync after it. */
    private static Timed timedMkfs(Path img, long imageBytes, String[] argv, Map<String, String> env, boolean dropCaches)
            throws IOException {
        Files.deleteIfExists(img);
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            f.setLength(imageBytes);
        }
        if (dropCaches) {
            ReadBenchmark.dropCaches();
        }
        Cmd.Result r = Cmd.tryRun(COMMAND_TIMEOUT_S, env, argv);
        long sync = r.ok() ? Cmd.run(600, "sync").nanos() : 0;
        return new Timed(r, sync);
    }

    /** The first line of the command's output that reports an OutOfMemoryError, or null. */
    static String outOfMemory(Cmd.Result r) {
        return Stream.concat(r.err().lines(), r.out().lines()).filter(l -> OUT_OF_MEMORY.matcher(l).find()).findFirst()
                .map(l -> "exit " + r.exit() + ": " + l.strip()).orElse(null);
    }

    private int reportOutOfMemory(double[] base, int runsDone, String oom) {
        double[] done = java.util.Arrays.stream(base, 0, runsDone + 1).filter(v -> v > 0).toArray();
        out.print(resultLines(done.length == 0 ? Double.NaN : ReadBenchmark.median(done), Double.NaN, oom));
        return 1;
    }

    /** {@code btrfs check --readonly --check-data-csum}; throws unless it exits 0. */
    private static void check(Path img, String what) throws IOException {
        Cmd.Result r = Cmd.tryRun(COMMAND_TIMEOUT_S, "btrfs", "check", "--readonly", "--check-data-csum", img.toString());
        if (!r.ok()) {
            throw new BenchmarkFailure(what + " fails btrfs check: " + r.describe());
        }
    }

    /** Mounts the image read-only through the kernel and throws unless it holds exactly the source tree. */
    private static void compareWithSource(Path img, Path mnt, Map<String, Entry> want, String when) throws IOException {
        Map<String, Entry> got;
        try (LoopMount m = LoopMount.mount(img, mnt, true, null)) {
            got = TreeSnapshot.take(m.mountPoint());
        }
        List<String> bad = TreeSnapshot.diff(want, got);
        if (!bad.isEmpty()) {
            throw new BenchmarkFailure(TreeSnapshot.describe(when + ", the jbtrfs image (seen through a read-only kernel mount)", bad));
        }
    }

    /** Null if this process can drop the page cache, else why not (after trying once). */
    private static String coldCache() {
        try {
            ReadBenchmark.dropCaches();
            return null;
        } catch (IOException e) {
            return e.getMessage();
        }
    }

    /** Twice the tree, rounded up to {@link #IMAGE_ROUND_BYTES}, at least {@link #MIN_IMAGE_BYTES}. */
    static long imageBytes(long treeBytes) {
        long twice = 2 * treeBytes;
        return Math.max(MIN_IMAGE_BYTES, (twice + IMAGE_ROUND_BYTES - 1) / IMAGE_ROUND_BYTES * IMAGE_ROUND_BYTES);
    }

    /**
     * The final lines, the contract for scripts. With {@code oom} null: both RESULT lines, the RATIO
     * (median jbtrfs / median mkfs.btrfs, two decimals) and "MEMORY ... ok". With {@code oom}: the
     * baseline RESULT (when a baseline ran) and "MEMORY ... FAILED: oom", no jbtrfs figures.
     */
    static String resultLines(double baseSeconds, double jbtrfsSeconds, String oom) {
        StringBuilder sb = new StringBuilder();
        if (!Double.isNaN(baseSeconds)) {
            sb.append(String.format(Locale.ROOT, "RESULT mkfs_btrfs_rootdir_seconds %.3f%n", baseSeconds));
        }
        if (oom == null) {
            sb.append(String.format(Locale.ROOT, "RESULT jbtrfs_mkfs_rootdir_seconds %.3f%n", jbtrfsSeconds));
            sb.append(String.format(Locale.ROOT, "RATIO mkfs_rootdir_jbtrfs_vs_mkfs_btrfs %.2f%n", jbtrfsSeconds / baseSeconds));
            sb.append("MEMORY jbtrfs_mkfs_rootdir_heap ").append(HEAP).append(" ok").append(System.lineSeparator());
        } else {
            sb.append("MEMORY jbtrfs_mkfs_rootdir_heap ").append(HEAP).append(" FAILED: ").append(oom.replace('\n', ' '))
                    .append(System.lineSeparator());
        }
        return sb.toString();
    }

    private static void deleteTree(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException | UncheckedIOException e) {
            System.err.println("bench-mkfs: could not remove " + root + ": " + e.getMessage());
        }
    }

    private static double secs(long nanos) {
        return nanos / 1e9;
    }

    private static String mib(long bytes) {
        return String.format(Locale.ROOT, "%.1f MiB", bytes / (double) MIB);
    }

    /** A bad command line; an empty message means --help. */
    static final class UsageException extends Exception {
        UsageException(String message) {
            super(message);
        }
    }

    /** An expected failure (a command failed, an image is wrong): reported as its message, no stack trace. */
    static final class BenchmarkFailure extends IOException {
        BenchmarkFailure(String message) {
            super(message);
        }
    }
}
