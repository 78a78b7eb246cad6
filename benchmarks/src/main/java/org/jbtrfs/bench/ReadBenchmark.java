package org.jbtrfs.bench;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.CRC32C;
import org.jbtrfs.Attr;
import org.jbtrfs.DirEntry;
import org.jbtrfs.Filesystem;
import org.jbtrfs.InodeId;
import org.jbtrfs.OpenOptions;
import org.jbtrfs.bench.Workload.FileSum;
import org.jbtrfs.bench.Workload.Layout;

/**
 * The read benchmark: the same kernel-written image read by {@code cat} through the kernel's btrfs
 * on a loop mount and by the jbtrfs engine in this JVM, alternating, cold cache each time; prints
 * throughputs and {@code RATIO} lines (jbtrfs / kernel). See the package documentation.
 *
 * <p>Usage: {@code bin/bench-read [--size-mb N] [--runs N] [--keep DIR] [--no-verify-data-csums]}.
 * Exits 0 when done or skipped (no root, no loop device, ...), 1 on a failure (including a file
 * whose bytes differ between the two readers), 2 on a usage error.
 */
public final class ReadBenchmark {
    static final String CAT_SCRIPT = "find \"$1\" -type f -print0 | xargs -0 cat > /dev/null";
    static final int BUFFER = 1 << 20;
    static final long MIB = 1L << 20;
    static final long MIN_IMAGE_BYTES = 1L << 30;
    static final String[] SETS = {Workload.LARGE, Workload.SMALL};
    static final String[] NEEDED_COMMANDS = {"mkfs.btrfs", "losetup", "mount", "umount", "sync", "sh", "find", "xargs", "cat"};
    static final Path DROP_CACHES = Path.of("/proc/sys/vm/drop_caches");

    private final int sizeMb;
    private final int runs;
    private final Path keepDir;
    private final boolean verifyDataCsums;

    ReadBenchmark(int sizeMb, int runs, Path keepDir, boolean verifyDataCsums) {
        this.sizeMb = sizeMb;
        this.runs = runs;
        this.keepDir = keepDir;
        this.verifyDataCsums = verifyDataCsums;
    }

    public static void main(String[] args) {
        int code;
        try {
            code = parse(args).run();
        } catch (UsageException e) {
            if (e.getMessage().isEmpty()) {
                System.out.println(usage());
                code = 0;
            } else {
                System.err.println("bench-read: " + e.getMessage());
                System.err.println(usage());
                code = 2;
            }
        } catch (Throwable e) {
            System.out.flush();
            if (LoopMount.exiting()) {
                System.err.println("bench-read: interrupted (" + String.valueOf(e.getMessage()).lines().findFirst().orElse("") + ")");
                return; // the shutdown hook has unmounted and detached; the JVM is already exiting
            }
            System.err.println("bench-read: FAILED: " + e);
            e.printStackTrace();
            code = 1;
        }
        System.out.flush();
        System.exit(code);
    }

    static String usage() {
        return String.join("\n",
                "usage: bench-read [--size-mb N] [--runs N] [--keep DIR] [--no-verify-data-csums]",
                "  --size-mb N              workload size in MiB (default 256; min 16): 3/4 in large files, 1/4 in 1-64 KiB files",
                "  --runs N                 timed runs of each reader, alternating (default 3)",
                "  --keep DIR               build the image in DIR and leave it there (default: a temporary directory, removed)",
                "  --no-verify-data-csums   jbtrfs skips data checksum verification (the kernel always verifies)",
                "Needs root, a free loop device and the kernel's btrfs; prints 'skipped: ...' and exits 0 without them.");
    }

    static ReadBenchmark parse(String[] args) throws UsageException {
        int size = 256;
        int runs = 3;
        Path keep = null;
        boolean verify = true;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            String val = null;
            int eq = a.indexOf('=');
            if (a.startsWith("--") && eq > 0) {
                val = a.substring(eq + 1);
                a = a.substring(0, eq);
            }
            switch (a) {
                case "-h", "--help" -> throw new UsageException("");
                case "--size-mb", "--runs", "--keep" -> {
                    if (val == null) {
                        if (i + 1 >= args.length) {
                            throw new UsageException(a + " needs a value");
                        }
                        val = args[++i];
                    }
                    if (a.equals("--keep")) {
                        keep = Path.of(val).toAbsolutePath().normalize();
                    } else {
                        int v;
                        try {
                            v = Integer.parseInt(val);
                        } catch (NumberFormatException e) {
                            throw new UsageException(a + ": not a number: " + val);
                        }
                        if (a.equals("--runs")) {
                            if (v < 1 || v > 1000) {
                                throw new UsageException("--runs must be 1..1000");
                            }
                            runs = v;
                        } else {
                            if (v < 16 || v > 64 * 1024) {
                                throw new UsageException("--size-mb must be 16..65536");
                            }
                            size = v;
                        }
                    }
                }
                case "--no-verify-data-csums" -> verify = false;
                default -> throw new UsageException("unknown argument: " + args[i]);
            }
        }
        return new ReadBenchmark(size, runs, keep, verify);
    }

    /** Why this machine cannot run the benchmark, or null if it can. */
    static String skipReason() throws IOException {
        String os = System.getProperty("os.name", "");
        if (!os.toLowerCase(Locale.ROOT).contains("linux")) {
            return "needs Linux (loop devices and the kernel's btrfs); this is " + os;
        }
        long euid = effectiveUid();
        if (euid != 0) {
            return "needs root (losetup, mount, drop_caches); running as uid " + euid;
        }
        List<String> missing = Cmd.missing(NEEDED_COMMANDS);
        if (!missing.isEmpty()) {
            return "command(s) not found: " + String.join(", ", missing) + " (btrfs-progs, util-linux, findutils, coreutils)";
        }
        Cmd.Result free = Cmd.tryRun(LoopMount.TIMEOUT_S, "losetup", "-f");
        if (!free.ok() || !free.out().strip().startsWith("/dev/")) {
            return "no free loop device: " + free.describe();
        }
        if (!kernelHasBtrfs()) {
            if (Cmd.which("modprobe") != null) {
                Cmd.tryRun(LoopMount.TIMEOUT_S, "modprobe", "btrfs");
            }
            if (!kernelHasBtrfs()) {
                return "the running kernel has no btrfs (not in /proc/filesystems, modprobe btrfs did not help)";
            }
        }
        try {
            dropCaches();
        } catch (IOException e) {
            return "cannot drop the page cache (" + e.getMessage() + "); without it both readers would read warm caches";
        }
        return null;
    }

    static long effectiveUid() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"), StandardCharsets.UTF_8)) {
            if (line.startsWith("Uid:")) {
                return Long.parseLong(line.substring(4).trim().split("\\s+")[1]);
            }
        }
        throw new IOException("no Uid line in /proc/self/status");
    }

    static boolean kernelHasBtrfs() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/filesystems"), StandardCharsets.UTF_8)) {
            String[] f = line.trim().split("\\s+");
            if (f[f.length - 1].equals("btrfs")) {
                return true;
            }
        }
        return false;
    }

    /** {@code sync; echo 3 > /proc/sys/vm/drop_caches}: page cache, dentries and inodes. */
    static void dropCaches() throws IOException {
        Cmd.run(600, "sync");
        Files.writeString(DROP_CACHES, "3\n", StandardCharsets.US_ASCII);
    }

    int run() throws IOException {
        String skip = skipReason();
        if (skip != null) {
            System.out.println("skipped: " + skip);
            return 0;
        }
        Path work = keepDir != null ? Files.createDirectories(keepDir) : Files.createTempDirectory("jbtrfs-bench-read-");
        Path image = work.resolve("bench.img");
        Path mnt = work.resolve("mnt");
        if (keepDir == null) {
            LoopMount.removeOnExit(image, mnt, work);
        } else {
            LoopMount.removeOnExit(mnt);
        }
        try {
            return measure(work, image, mnt);
        } finally {
            try {
                Files.deleteIfExists(mnt);
            } catch (IOException e) {
                System.err.println("bench-read: could not remove " + mnt + ": " + e.getMessage());
            }
            if (keepDir == null) {
                Files.deleteIfExists(image);
                Files.deleteIfExists(work);
            } else {
                System.out.println("image kept: " + image);
            }
        }
    }

    private int measure(Path work, Path image, Path mnt) throws IOException {
        long total = sizeMb * MIB;
        long imageBytes = Math.max(MIN_IMAGE_BYTES, ((2 * total + 256 * MIB) + MIB - 1) / MIB * MIB);
        String store = Files.getFileStore(work).type();

        System.out.println("jbtrfs read benchmark: kernel btrfs (cat via loop mount) vs jbtrfs engine (this JVM), same image, same run");
        System.out.printf(Locale.ROOT, "host: Linux %s, %d CPUs, Java %s, %s%n", System.getProperty("os.version"),
                Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"),
                Cmd.tryRun(30, "mkfs.btrfs", "--version").out().lines().findFirst().orElse("mkfs.btrfs ?").strip());
        System.out.printf(Locale.ROOT, "image: %s (%d MiB sparse, on %s)%n", image, imageBytes / MIB, store);
        if (store.equals("tmpfs") || store.equals("ramfs")) {
            System.out.println("warning: the image lives on " + store + ": dropping caches does not evict it, both readers read RAM");
        }

        // Build: a fresh filesystem, filled by the kernel.
        long t0 = System.nanoTime();
        Files.deleteIfExists(image);
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
            f.setLength(imageBytes);
        }
        Cmd.run(300, "mkfs.btrfs", "-f", image.toString());
        Files.createDirectories(mnt);
        Layout layout;
        try (LoopMount m = LoopMount.mount(image, mnt, false, null)) {
            layout = Workload.write(mnt, total, () -> m.remount("compress=zstd"));
            Cmd.run(600, "sync");
        }
        System.out.printf(Locale.ROOT,
                "workload: %s %d files (%s: %d random + 1 text written under compress=zstd, %s each), %s %d files of 1-64 KiB (%s) in %d directories; built in %.1f s%n",
                Workload.LARGE, layout.largeFiles(), mib(layout.largeBytes()), Workload.LARGE_RANDOM_FILES, mib(layout.zstdFileBytes()),
                Workload.SMALL, layout.smallFiles(), mib(layout.smallBytes()), layout.smallDirs(), secs(System.nanoTime() - t0));

        // The kernel's view, once, untimed: what jbtrfs must read back.
        Map<String, FileSum> expected;
        try (LoopMount m = LoopMount.mount(image, mnt, true, null)) {
            dropCaches();
            expected = Workload.checksums(m.mountPoint());
        }
        int wantFiles = layout.largeFiles() + layout.smallFiles();
        if (expected.size() != wantFiles) {
            throw new IllegalStateException("the kernel shows " + expected.size() + " files, " + wantFiles + " were written");
        }
        Map<String, Map<String, FileSum>> expectedBySet = new TreeMap<>();
        long[] setBytes = new long[SETS.length];
        int[] setFiles = new int[SETS.length];
        for (int s = 0; s < SETS.length; s++) {
            Map<String, FileSum> sub = new TreeMap<>();
            for (Map.Entry<String, FileSum> e : expected.entrySet()) {
                if (e.getKey().startsWith(SETS[s] + "/")) {
                    sub.put(e.getKey(), e.getValue());
                    setBytes[s] += e.getValue().size();
                }
            }
            setFiles[s] = sub.size();
            expectedBySet.put(SETS[s], sub);
        }

        OpenOptions opts = OpenOptions.readOnlyDefaults().withVerifyDataCsums(verifyDataCsums);
        System.out.printf(Locale.ROOT, "kernel: `%s` per set on a fresh read-only loop mount (default losetup, buffered), timed as a subprocess%n",
                CAT_SCRIPT.replace("\"$1\"", "MNT/SET"));
        System.out.printf(Locale.ROOT, "jbtrfs: Filesystem.open (untimed) then walk list()/getattr()/read() with a %d KiB buffer and CRC32C every"
                + " file (in the timed loop); verifyDataCsums=%s, cacheLimit=%d MiB%n",
                BUFFER / 1024, opts.verifyDataCsums(), opts.cacheLimitBytes() / MIB);
        System.out.println("each timed pass: sync; echo 3 > /proc/sys/vm/drop_caches just before it; MB = 10^6 bytes");

        double[][] kernel = new double[SETS.length + 1][runs];
        double[][] engine = new double[SETS.length + 1][runs];
        byte[] buf = new byte[BUFFER];
        for (int r = 0; r < runs; r++) {
            boolean kernelFirst = r % 2 == 0;
            if (r == 0) {
                long w0 = System.nanoTime();
                try (Filesystem fs = Filesystem.open(image, opts)) {
                    for (String set : SETS) {
                        verify("warm-up", set, engineRead(fs, set, buf), expectedBySet.get(set));
                    }
                }
                System.out.printf(Locale.ROOT, "JIT warm-up: one untimed jbtrfs pass over all files before run 1 (%.2f s, bytes verified)%n",
                        secs(System.nanoTime() - w0));
            }
            long[] kNanos = new long[SETS.length];
            long[] eNanos = new long[SETS.length];
            for (int phase = 0; phase < 2; phase++) {
                if ((phase == 0) == kernelFirst) {
                    for (int s = 0; s < SETS.length; s++) {
                        kNanos[s] = kernelCat(image, mnt, SETS[s]);
                    }
                } else {
                    for (int s = 0; s < SETS.length; s++) {
                        try (Filesystem fs = Filesystem.open(image, opts)) {
                            System.gc();
                            dropCaches();
                            long e0 = System.nanoTime();
                            Map<String, FileSum> got = engineRead(fs, SETS[s], buf);
                            eNanos[s] = System.nanoTime() - e0;
                            verify("run " + (r + 1), SETS[s], got, expectedBySet.get(SETS[s]));
                        }
                    }
                }
            }
            StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "run %d/%d (%s first):", r + 1, runs,
                    kernelFirst ? "kernel" : "jbtrfs"));
            long kAll = 0;
            long eAll = 0;
            for (int s = 0; s < SETS.length; s++) {
                kernel[s][r] = mbps(setBytes[s], kNanos[s]);
                engine[s][r] = mbps(setBytes[s], eNanos[s]);
                kAll += kNanos[s];
                eAll += eNanos[s];
                line.append(String.format(Locale.ROOT, "  %s kernel %.1f MB/s (%.3f s) jbtrfs %.1f MB/s (%.3f s) x%.2f;", SETS[s],
                        kernel[s][r], secs(kNanos[s]), engine[s][r], secs(eNanos[s]), engine[s][r] / kernel[s][r]));
            }
            long allBytes = Arrays.stream(setBytes).sum();
            kernel[SETS.length][r] = mbps(allBytes, kAll);
            engine[SETS.length][r] = mbps(allBytes, eAll);
            line.append(String.format(Locale.ROOT, "  all kernel %.1f MB/s jbtrfs %.1f MB/s x%.2f; verified %d files",
                    kernel[SETS.length][r], engine[SETS.length][r], engine[SETS.length][r] / kernel[SETS.length][r], expected.size()));
            System.out.println(line);
        }

        System.out.printf(Locale.ROOT, "median of %d run(s):%n", runs);
        double[] ratio = new double[SETS.length + 1];
        for (int s = 0; s <= SETS.length; s++) {
            String name = s < SETS.length ? SETS[s] : "all";
            long bytes = s < SETS.length ? setBytes[s] : Arrays.stream(setBytes).sum();
            int files = s < SETS.length ? setFiles[s] : expected.size();
            double k = median(kernel[s]);
            double e = median(engine[s]);
            ratio[s] = e / k;
            System.out.printf(Locale.ROOT, "  %-5s (%5d files, %s): kernel cat %8.1f MB/s   jbtrfs %8.1f MB/s   jbtrfs/kernel %.2f%n",
                    name, files, mib(bytes), k, e, ratio[s]);
        }
        for (int s = 0; s < SETS.length; s++) {
            System.out.printf(Locale.ROOT, "RATIO read_%s_jbtrfs_vs_kernel_cat %.2f%n", SETS[s], ratio[s]);
        }
        System.out.printf(Locale.ROOT, "RATIO read_jbtrfs_vs_kernel_cat %.2f%n", ratio[SETS.length]);
        return 0;
    }

    /** One timed kernel pass over a set: mount read-only, drop caches, time the cat subprocess, unmount. */
    private static long kernelCat(Path image, Path mnt, String set) throws IOException {
        try (LoopMount m = LoopMount.mount(image, mnt, true, null)) {
            dropCaches();
            return Cmd.run(3600, "sh", "-c", CAT_SCRIPT, "sh", m.mountPoint().resolve(set).toString()).nanos();
        }
    }

    /** Reads every regular file under /{@code set} through the engine: relative path -> size and CRC32C. */
    static Map<String, FileSum> engineRead(Filesystem fs, String set, byte[] buf) throws IOException {
        Map<String, FileSum> out = new TreeMap<>();
        walk(fs, fs.resolve("/" + set), set, buf, out);
        return out;
    }

    private static void walk(Filesystem fs, InodeId dir, String prefix, byte[] buf, Map<String, FileSum> out) throws IOException {
        for (DirEntry e : fs.list(dir)) {
            String path = prefix + "/" + e.name();
            Attr a = fs.getattr(e.target());
            if (a.isDirectory()) {
                walk(fs, e.target(), path, buf, out);
            } else if (a.isRegular()) {
                CRC32C crc = new CRC32C();
                long pos = 0;
                long size = a.size();
                while (pos < size) {
                    int n = fs.read(e.target(), pos, buf, 0, buf.length);
                    if (n <= 0) {
                        break;
                    }
                    crc.update(buf, 0, n);
                    pos += n;
                }
                out.put(path, new FileSum(pos, (int) crc.getValue()));
            }
        }
    }

    /** Throws unless jbtrfs read exactly the files, sizes and bytes the kernel showed. */
    static void verify(String when, String set, Map<String, FileSum> got, Map<String, FileSum> want) {
        List<String> bad = new ArrayList<>();
        for (Map.Entry<String, FileSum> e : want.entrySet()) {
            FileSum g = got.get(e.getKey());
            if (g == null) {
                bad.add(e.getKey() + ": not found by jbtrfs");
            } else if (!g.equals(e.getValue())) {
                bad.add(String.format(Locale.ROOT, "%s: jbtrfs read %d bytes crc32c %08x, kernel %d bytes crc32c %08x", e.getKey(),
                        g.size(), g.crc(), e.getValue().size(), e.getValue().crc()));
            }
        }
        for (String k : got.keySet()) {
            if (!want.containsKey(k)) {
                bad.add(k + ": found by jbtrfs only");
            }
        }
        if (!bad.isEmpty()) {
            throw new IllegalStateException(when + ", set " + set + ": " + bad.size() + " file(s) differ between jbtrfs and the kernel:\n  "
                    + String.join("\n  ", bad.subList(0, Math.min(20, bad.size()))));
        }
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }

    private static double mbps(long bytes, long nanos) {
        return bytes / 1e6 / (nanos / 1e9);
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
}
