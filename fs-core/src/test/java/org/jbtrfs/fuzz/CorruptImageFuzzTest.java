package org.jbtrfs.fuzz;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.jbtrfs.CorruptImageException;
import org.jbtrfs.Filesystem;
import org.jbtrfs.OpenOptions;
import org.jbtrfs.ctree.TreeRoot;
import org.jbtrfs.device.BlockDevice;
import org.jbtrfs.device.MemoryBlockDevice;
import org.jbtrfs.disk.FsInfo;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.FileExtentItem;
import org.jbtrfs.format.ItemType;
import org.jbtrfs.format.Le;
import org.jbtrfs.format.ObjectIds;
import org.jbtrfs.fuzz.ImageMutator.DataExtent;
import org.jbtrfs.fuzz.ImageMutator.Mutation;
import org.jbtrfs.fuzz.ImageMutator.TreeBlock;
import org.jbtrfs.testing.KernelImages;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Damaged images fail cleanly. A small real image (mkfs.btrfs, filled through a kernel loop mount
 * with every kind of item, compressed with zstd, zlib and lzo) is damaged in thousands of seeded
 * ways ({@link ImageMutator}), and each damaged copy is opened and walked through the whole public
 * API ({@link ApiWalker}) on a worker thread with a time limit. The only acceptable outcomes are
 * success and {@link IOException}s ({@link CorruptImageException}, UnsupportedImageException,
 * FsException, EOFException). A RuntimeException, an Error (StackOverflowError,
 * OutOfMemoryError, an AssertionError from an engine assert: asserts must hold on any input), a
 * hang, a readdir that never ends, or damage to one DUP copy that shows through fails the test,
 * naming the seed, the case and the damage.
 *
 * <p>Replay: {@code -Djbtrfs.fuzz.seed=S} (printed at start) reruns a run; adding
 * {@code -Djbtrfs.fuzz.case=N} runs only case N; {@code -Djbtrfs.fuzz.cases=N} sets the number of
 * cases (default {@value #DEFAULT_CASES}), and {@code -Djbtrfs.fuzz.budgetMs=N} the time after which no
 * new case starts (default 75 s).
 */
class CorruptImageFuzzTest {
    static final int DEFAULT_CASES = 3000;
    private static final int CASES = Integer.getInteger("jbtrfs.fuzz.cases", DEFAULT_CASES);
    /** Wall-clock limit for one case; a normal case takes milliseconds. */
    private static final long CASE_TIMEOUT_MS = 10_000;
    /** No new case starts after this much time: the run stays well inside two minutes on a slow machine. */
    private static final long RUN_BUDGET_MS = Long.getLong("jbtrfs.fuzz.budgetMs", 75_000);
    /** Failures listed in the message (all are printed). */
    private static final int FAILURES_SHOWN = 12;
    /** A run stops early after this many failures, or after this many hung cases (their threads stay busy). */
    private static final int MAX_FAILURES = 50;
    private static final int MAX_HANGS = 3;
    /** Just above mkfs.btrfs' minimum (109 MiB with DUP metadata); the file is sparse. */
    private static final long IMAGE_BYTES = 112L << 20;

    @TempDir
    static Path work;

    /** The images, built once per class: mkfs defaults (16 KiB nodes), and 4 KiB nodes for more interior nodes. */
    private static List<Fixture> fixtures;
    private static final String[][] MKFS_VARIANTS = {{}, {"-n", "4096"}};
    private static ExecutorService executor;
    private static volatile Thread worker;

    /** The pristine image and what is known about it. */
    private record Fixture(String name, byte[] pristine, List<TreeBlock> blocks, Map<Long, TreeBlock> byLogical,
            List<DataExtent> data, int nodesize, org.jbtrfs.format.CsumType csum, List<String> baseline) {
    }

    /** One case's result: the walk log (or the open failure), and the IOException classes seen. */
    private record Outcome(boolean opened, List<String> log, Map<String, Integer> errors) {
    }

    @AfterAll
    static void stopWorker() {
        if (executor != null) {
            executor.shutdownNow();
        }
    }

    // ---------------------------------------------------------------- the image

    private static synchronized List<Fixture> fixtures() throws Exception {
        if (fixtures == null) {
            List<Fixture> l = new ArrayList<>();
            for (String[] mkfs : MKFS_VARIANTS) {
                l.add(fixture(mkfs));
            }
            fixtures = List.copyOf(l);
        }
        return fixtures;
    }

    private static Fixture fixture(String[] mkfsArgs) throws Exception {
        String name = mkfsArgs.length == 0 ? "mkfs defaults" : "mkfs " + String.join(" ", mkfsArgs);
        Path image = work.resolve("fuzz-" + mkfsArgs.length + ".img");
        KernelImages.build(image, IMAGE_BYTES, "compress=zstd", CorruptImageFuzzTest::populate, mkfsArgs);
        byte[] pristine = Files.readAllBytes(image);
        try (Filesystem fs = Filesystem.open(new MemoryBlockDevice(pristine, true), OpenOptions.readOnlyDefaults())) {
            FsInfo info = fs.fsInfo();
            Map<Long, TreeBlock> blocks = collectTreeBlocks(info);
            List<DataExtent> data = collectDataExtents(info);
            ApiWalker w = new ApiWalker(fs);
            List<String> baseline = List.copyOf(w.run());
            assertTrue(w.errors().isEmpty(), name + ": the pristine image reads with errors " + w.errors() + "\n"
                    + String.join("\n", baseline));
            assertTrue(baseline.stream().anyMatch(l -> l.startsWith("data /d/zstd ")), "walk reached the files");
            long nodes = blocks.values().stream().filter(b -> !b.isLeaf()).count();
            System.out.printf("CorruptImageFuzzTest: %s image with %d tree blocks (%d nodes), %d data extents, baseline "
                    + "walk of %d operations%n", name, blocks.size(), nodes, data.size(), baseline.size());
            assertTrue(nodes > 0, "the image should have at least one interior node to damage");
            return new Fixture(name, pristine, List.copyOf(blocks.values()), blocks, data, info.nodesize(),
                    info.csumType(), baseline);
        }
    }

    /** A bit of everything, small: ~150 entries in one directory (so the fs tree has a node level). */
    private static void populate(KernelImages.LoopMount m) throws Exception {
        Random rnd = new Random(42);
        Path root = m.dir();
        Files.createDirectories(root.resolve("d"));
        for (int i = 0; i < 150; i++) {
            byte[] b = new byte[i % 10 == 0 ? 9000 + rnd.nextInt(9000) : rnd.nextInt(2500)];
            fill(rnd, b, i % 2 == 0);
            Files.write(root.resolve(String.format("d/file-%03d", i)), b);
        }
        byte[] text = new byte[300_000];
        fill(rnd, text, true);
        Files.write(root.resolve("d/zstd"), text);
        byte[] rand = new byte[100_000];
        rnd.nextBytes(rand);
        Files.write(root.resolve("rand"), rand);
        m.sh("ln rand hardlink && ln -s d/file-001 symlink && ln -s nowhere dangling && mkfifo fifo"
                + " && mknod chr c 1 3 && fallocate -l 65536 falloc && truncate -s 2M sparse"
                + " && printf abc | dd of=sparse bs=1 seek=1048576 conv=notrunc status=none"
                + " && mkdir -p deep/a/b/c && echo deep > deep/a/b/c/f && touch -d '1960-01-01 00:00:00.5' deep/a/b/c/f"
                + " && chown 1000:1000 rand && chmod 4711 rand");
        var view = Files.getFileAttributeView(root.resolve("rand"),
                java.nio.file.attribute.UserDefinedFileAttributeView.class);
        view.write("small", java.nio.ByteBuffer.wrap("value".getBytes(StandardCharsets.US_ASCII)));
        byte[] big = new byte[2000];
        rnd.nextBytes(big);
        view.write("big", java.nio.ByteBuffer.wrap(big));
        m.sh("btrfs subvolume create sv && btrfs subvolume create sv/inner && echo in-subvol > sv/f"
                + " && echo inner > sv/inner/g && btrfs subvolume snapshot sv snap");
        for (String c : new String[] {"zlib", "lzo"}) {
            m.remount("compress=" + c);
            fill(rnd, text, true);
            Files.write(root.resolve("d/" + c), Arrays.copyOf(text, 200_000));
            m.sync();
        }
    }

    private static void fill(Random rnd, byte[] b, boolean text) {
        if (!text) {
            rnd.nextBytes(b);
            return;
        }
        String[] words = {"btrfs ", "extent ", "inode ", "tree ", "leaf ", "node\n", "chunk ", "csum "};
        int p = 0;
        while (p < b.length) {
            byte[] w = words[rnd.nextInt(words.length)].getBytes(StandardCharsets.US_ASCII);
            int k = Math.min(w.length, b.length - p);
            System.arraycopy(w, 0, b, p, k);
            p += k;
        }
    }

    /** Every block of every tree (root, chunk, and each tree with a ROOT_ITEM), by logical address. */
    private static Map<Long, TreeBlock> collectTreeBlocks(FsInfo info) throws IOException {
        List<TreeRoot> roots = new ArrayList<>(List.of(info.rootTree(), info.chunkTree()));
        Set<Long> ids = new TreeSet<>();
        info.btree().scan(info.rootTree(), DiskKey.MIN, DiskKey.MAX, (k, b, o, l) -> {
            if (k.type() == ItemType.ROOT_ITEM) {
                ids.add(k.objectid());
            }
            return true;
        });
        for (long id : ids) {
            roots.add(info.requireTreeRoot(id));
        }
        Map<Long, TreeBlock> out = new LinkedHashMap<>();
        for (TreeRoot r : roots) {
            Map<Long, Long> parentOf = new TreeMap<>();
            info.btree().walk(r, eb -> {
                try {
                    if (!eb.isLeaf()) {
                        for (int s = 0; s < eb.nritems(); s++) {
                            parentOf.put(eb.blockptr(s), eb.bytenr());
                        }
                    }
                    out.putIfAbsent(eb.bytenr(), new TreeBlock(eb.bytenr(), info.chunkMap().map(eb.bytenr(), eb.length()),
                            r.id(), eb.level(), eb.nritems(), parentOf.getOrDefault(eb.bytenr(), -1L)));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        }
        return out;
    }

    /** Regular on-disk data extents of every subvolume, deduplicated. */
    private static List<DataExtent> collectDataExtents(FsInfo info) throws IOException {
        Map<Long, DataExtent> out = new TreeMap<>();
        List<Long> subvols = new ArrayList<>();
        info.btree().scan(info.rootTree(), DiskKey.MIN, DiskKey.MAX, (k, b, o, l) -> {
            if (k.type() == ItemType.ROOT_ITEM && ObjectIds.isSubvolumeId(k.objectid())) {
                subvols.add(k.objectid());
            }
            return true;
        });
        for (long id : subvols) {
            info.btree().scan(info.requireTreeRoot(id), DiskKey.MIN, DiskKey.MAX, (k, b, o, l) -> {
                if (k.type() == ItemType.EXTENT_DATA) {
                    FileExtentItem fe = FileExtentItem.decode(b, o, l);
                    if (fe.type() == FileExtentItem.TYPE_REG && fe.diskBytenr() != 0) {
                        long phys = info.chunkMap().map(fe.diskBytenr(), (int) fe.diskNumBytes())[0];
                        out.putIfAbsent(fe.diskBytenr(),
                                new DataExtent(fe.diskBytenr(), phys, (int) fe.diskNumBytes(), fe.compression()));
                    }
                }
                return true;
            });
        }
        return List.copyOf(out.values());
    }

    // ---------------------------------------------------------------- the fuzz run

    /** The engine's asserts are part of what is tested: a run without -ea would miss their failures. */
    @Test
    void assertionsAreEnabled() {
        boolean enabled = false;
        assert enabled = true;
        assertTrue(enabled, "run the tests with -ea (surefire's enableAssertions)");
        assertTrue(Filesystem.class.desiredAssertionStatus(), "engine classes need -ea too");
    }

    @Test
    void damagedImagesFailOnlyWithIOExceptions() throws Exception {
        KernelImages.assumeAvailable();
        List<Fixture> fxs = fixtures();
        String fixed = System.getProperty("jbtrfs.fuzz.seed");
        long seed = fixed != null ? Long.parseLong(fixed) : System.nanoTime();
        Integer only = Integer.getInteger("jbtrfs.fuzz.case");
        System.out.println("CorruptImageFuzzTest: seed=" + seed + ", " + CASES + " cases (replay with -Djbtrfs.fuzz.seed="
                + seed + ", one case with -Djbtrfs.fuzz.case=N)");
        List<ImageMutator> mutators = new ArrayList<>();
        for (Fixture fx : fxs) {
            mutators.add(new ImageMutator(fx.pristine(), fx.blocks(), fx.byLogical(), fx.data(), fx.nodesize(), fx.csum()));
        }
        List<String> failures = new ArrayList<>();
        Map<String, Integer> kinds = new TreeMap<>();
        Map<String, Integer> errors = new TreeMap<>();
        int opened = 0;
        int hangs = 0;
        int run = 0;
        long t0 = System.nanoTime();
        for (int c = only != null ? only : 0; c < (only != null ? only + 1 : CASES); c++) {
            if ((System.nanoTime() - t0) / 1_000_000 > RUN_BUDGET_MS) {
                System.out.println("CorruptImageFuzzTest: time budget used up after " + run + " cases");
                break;
            }
            Random rnd = new Random(seed * 0x9E3779B97F4A7C15L + c);
            Fixture fx = fxs.get(c % fxs.size());
            ImageMutator mutator = mutators.get(c % fxs.size());
            Mutation m = mutator.apply(rnd);
            run++;
            kinds.merge(m.kind.replaceAll(" x\\d+", " xN"), 1, Integer::sum);
            try {
                String problem;
                try {
                    Outcome o = runCase(mutator, m);
                    opened += o.opened() ? 1 : 0;
                    o.errors().forEach((k, v) -> errors.merge(k, v, Integer::sum));
                    problem = judge(fx, m, o);
                } catch (TimeoutException e) {
                    hangs++;
                    problem = "hung for " + CASE_TIMEOUT_MS + " ms; the worker was at:\n" + abandonWorker();
                } catch (ExecutionException e) {
                    problem = "threw " + e.getCause() + "\n" + stack(e.getCause().getStackTrace());
                }
                if (problem != null) {
                    String f = "case " + c + " (seed " + seed + ", " + fx.name() + "): " + m + "\n  -> " + problem;
                    System.out.println("CorruptImageFuzzTest: FAILED " + f);
                    failures.add(f);
                }
            } finally {
                mutator.undo(m);
            }
            if (failures.size() >= MAX_FAILURES || hangs >= MAX_HANGS) {
                System.out.println("CorruptImageFuzzTest: stopping early after " + failures.size() + " failures");
                break;
            }
        }
        for (ImageMutator mutator : mutators) {
            assertTrue(mutator.isPristine(), "undo left a working image damaged");
        }
        System.out.printf("CorruptImageFuzzTest: %d cases in %d ms; kinds %s; %d opened; IOExceptions seen %s; "
                + "%d failures%n", run, (System.nanoTime() - t0) / 1_000_000, kinds, opened, errors, failures.size());
        if (!failures.isEmpty()) {
            fail(failures.size() + " of " + run + " cases failed (seed " + seed + "); first ones:\n"
                    + String.join("\n\n", failures.subList(0, Math.min(FAILURES_SHOWN, failures.size()))));
        }
    }

    private static Outcome runCase(ImageMutator mutator, Mutation m) throws Exception {
        if (executor == null) {
            executor = Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "fuzz-case");
                t.setDaemon(true);
                worker = t;
                return t;
            });
        }
        byte[] img = mutator.image();
        BlockDevice dev = m.deviceSize == img.length ? new MemoryBlockDevice(img, true)
                : new TruncatedDevice(img, m.deviceSize);
        OpenOptions opts = OpenOptions.readOnlyDefaults().withVerifyDataCsums(m.verifyDataCsums);
        Future<Outcome> f = executor.submit(() -> {
            Filesystem fs;
            try {
                fs = Filesystem.open(dev, opts);
            } catch (IOException e) {
                ApiWalker.checkIOException(e, "open");
                return new Outcome(false, List.of("open ! " + e.getClass().getSimpleName() + ": " + e.getMessage()),
                        Map.of("open: " + e.getClass().getSimpleName(), 1));
            }
            try (fs) {
                ApiWalker w = new ApiWalker(fs);
                return new Outcome(true, w.run(), w.errors());
            }
        });
        try {
            return f.get(CASE_TIMEOUT_MS, TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            f.cancel(true);
            throw e;
        }
    }

    /**
     * After a hang: records where the worker is, then stops it so that a runaway loop does not eat
     * the CPU and heap the following cases need (Thread.stop, where the JDK still has it; otherwise
     * the thread is left to run as a daemon), and starts a fresh worker for the next case.
     */
    @SuppressWarnings({"deprecation", "removal"})
    private static String abandonWorker() {
        Thread t = worker;
        String where = stack(t.getStackTrace());
        executor.shutdownNow();
        executor = null;
        try {
            t.stop();
        } catch (UnsupportedOperationException e) {
            // JDK 20+: cannot stop it; the run stops after MAX_HANGS anyway.
        }
        return where;
    }

    /** Null when the outcome is acceptable for the damage done, else what is wrong. */
    private static String judge(Fixture fx, Mutation m, Outcome o) {
        if (m.invisible && !o.log().equals(fx.baseline())) {
            return "this damage should be invisible (a good copy exists), but the walk differs from the pristine "
                    + "image's:\n" + firstDifference(fx.baseline(), o.log());
        }
        if (m.kind.equals("data") && m.verifyDataCsums) {
            // With checksums verified, a file either reads as before or reports an error.
            for (String line : o.log()) {
                if (line.startsWith("data ") && !fx.baseline().contains(line)) {
                    String path = line.substring(5, line.indexOf(" crc "));
                    boolean failed = o.log().stream().anyMatch(l -> l.startsWith("read " + path + " @") && l.contains(" ! "));
                    if (!failed) {
                        return "damaged data read back without an error although data checksums are verified: " + line;
                    }
                }
            }
        }
        return null;
    }

    private static String firstDifference(List<String> expect, List<String> got) {
        for (int i = 0; i < Math.max(expect.size(), got.size()); i++) {
            String e = i < expect.size() ? expect.get(i) : "(end)";
            String g = i < got.size() ? got.get(i) : "(end)";
            if (!e.equals(g)) {
                return "  at line " + i + ": expect " + e + "\n                got " + g;
            }
        }
        return "  (same)";
    }

    private static String stack(StackTraceElement[] st) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < Math.min(st.length, 25); i++) {
            sb.append("      at ").append(st[i]).append('\n');
        }
        return sb.toString();
    }

    // ---------------------------------------------------------------- directed damage

    /** One directed case: which items, what to do to them. */
    private record Directed(String what, java.util.function.Predicate<DiskKey> match, boolean lastOfRun,
            ImageMutator.ItemEdit edit) {
    }

    /**
     * Damage that passes every checksum and structural check and lands exactly on fields the
     * engine interprets; found by the fuzzer or by reading the code, kept as regressions. Each
     * must end in success or an IOException, like the random cases.
     */
    private static List<Directed> directed() {
        int fileExtentNumBytes = 45;
        int fileExtentOffset = 37;
        int fileExtentRamBytes = 8;
        int inodeSize = 16;
        return List.of(
            new Directed("last DIR_INDEX of a directory at index 2^64-1 (resume offset would wrap to 0)",
                k -> k.type() == ItemType.DIR_INDEX, true,
                (b, ko, o, n) -> Le.putU64(b, ko + DiskKey.OFF_OFFSET, -1L)),
            new Directed("last DIR_INDEX of a directory at index 2^63",
                k -> k.type() == ItemType.DIR_INDEX, true,
                (b, ko, o, n) -> Le.putU64(b, ko + DiskKey.OFF_OFFSET, Long.MIN_VALUE)),
            new Directed("last EXTENT_DATA of a file at file offset 2^64-4096",
                k -> k.type() == ItemType.EXTENT_DATA && k.offset() > 0, true,
                (b, ko, o, n) -> Le.putU64(b, ko + DiskKey.OFF_OFFSET, -4096L)),
            new Directed("inode size 2^64-1", k -> k.type() == ItemType.INODE_ITEM && k.objectid() > 257, false,
                (b, ko, o, n) -> Le.putU64(b, o + inodeSize, -1L)),
            new Directed("inode size 2^63", k -> k.type() == ItemType.INODE_ITEM && k.objectid() > 300, false,
                (b, ko, o, n) -> Le.putU64(b, o + inodeSize, Long.MIN_VALUE)),
            new Directed("regular extent num_bytes 2^64-1",
                k -> k.type() == ItemType.EXTENT_DATA, false,
                (b, ko, o, n) -> {
                    if (n == FileExtentItem.REG_SIZE) {
                        Le.putU64(b, o + fileExtentNumBytes, -1L);
                    }
                }),
            new Directed("regular extent offset 2^64-4096 (offset + position wraps)",
                k -> k.type() == ItemType.EXTENT_DATA, false,
                (b, ko, o, n) -> {
                    if (n == FileExtentItem.REG_SIZE) {
                        Le.putU64(b, o + fileExtentOffset, -4096L);
                    }
                }),
            new Directed("inline extent ram_bytes 2^63+5", k -> k.type() == ItemType.EXTENT_DATA, false,
                (b, ko, o, n) -> {
                    if (n != FileExtentItem.REG_SIZE) {
                        Le.putU64(b, o + fileExtentRamBytes, Long.MIN_VALUE + 5);
                    }
                }),
            new Directed("DIR_ITEM name_len past the item", k -> k.type() == ItemType.DIR_ITEM, false,
                (b, ko, o, n) -> Le.putU16(b, o + 27, 0xffff)),
            new Directed("XATTR data_len past the item", k -> k.type() == ItemType.XATTR_ITEM, false,
                (b, ko, o, n) -> Le.putU16(b, o + 25, 0xffff)),
            new Directed("DIR_INDEX pointing at its own directory", k -> k.type() == ItemType.DIR_INDEX
                && k.objectid() > 256, false,
                (b, ko, o, n) -> Le.putU64(b, o, Le.u64(b, ko))),
            new Directed("DIR_INDEX pointing at subvolume 12345 (no such root)", k -> k.type() == ItemType.DIR_INDEX,
                false, (b, ko, o, n) -> {
                    Le.putU64(b, o, 12345);
                    Le.putU8(b, o + 8, ItemType.ROOT_ITEM);
                    Le.putU64(b, o + 9, -1L);
                }),
            new Directed("INODE_REF of a directory naming itself as parent", k -> k.type() == ItemType.INODE_REF
                && k.objectid() > 256, false,
                (b, ko, o, n) -> Le.putU64(b, ko + DiskKey.OFF_OFFSET, Le.u64(b, ko))));
    }

    @Test
    void directedDamageFailsOnlyWithIOExceptions() throws Exception {
        KernelImages.assumeAvailable();
        List<String> failures = new ArrayList<>();
        int ran = 0;
        for (Fixture fx : fixtures()) {
            ImageMutator mutator = new ImageMutator(fx.pristine(), fx.blocks(), fx.byLogical(), fx.data(), fx.nodesize(),
                    fx.csum());
            for (Directed d : directed()) {
                for (boolean verify : new boolean[] {false, true}) {
                    Mutation m = mutator.editItem(d.what(), ObjectIds.FS_TREE, d.match(), d.lastOfRun(), d.edit());
                    if (m == null) {
                        failures.add(fx.name() + ": no item for \"" + d.what() + "\"");
                        continue;
                    }
                    m.verifyDataCsums = verify;
                    ran++;
                    try {
                        Outcome o = runCase(mutator, m);
                        String problem = judge(fx, m, o);
                        if (problem != null) {
                            failures.add(fx.name() + ": " + m + "\n  -> " + problem);
                        }
                    } catch (TimeoutException e) {
                        failures.add(fx.name() + ": " + m + "\n  -> hung; the worker was at:\n" + abandonWorker());
                    } catch (ExecutionException e) {
                        failures.add(fx.name() + ": " + m + "\n  -> threw " + e.getCause() + "\n"
                                + stack(e.getCause().getStackTrace()));
                    } finally {
                        mutator.undo(m);
                    }
                }
            }
        }
        System.out.println("CorruptImageFuzzTest: " + ran + " directed cases, " + failures.size() + " failures");
        failures.forEach(f -> System.out.println("CorruptImageFuzzTest: FAILED " + f));
        if (!failures.isEmpty()) {
            fail(failures.size() + " directed cases failed:\n" + String.join("\n\n", failures));
        }
    }

    // ---------------------------------------------------------------- foreign files

    /**
     * Files that are not btrfs images are refused with a CorruptImageException whose message is
     * one line naming the file. Needs no root (mkfs.ext4 works on a plain file; skipped if absent).
     */
    @Test
    void foreignFilesAreRefusedWithOneLine(@TempDir Path dir) throws IOException {
        Random rnd = new Random(7);
        Map<String, byte[]> files = new LinkedHashMap<>();
        byte[] random = new byte[1 << 20];
        rnd.nextBytes(random);
        files.put("random-1M", random);
        files.put("zeros-1M", new byte[1 << 20]);
        files.put("empty", new byte[0]);
        files.put("ten-bytes", "0123456789".getBytes(StandardCharsets.US_ASCII));
        files.put("just-under-superblock", new byte[(64 << 10) + 4095]);
        for (Map.Entry<String, byte[]> e : files.entrySet()) {
            Files.write(dir.resolve(e.getKey()), e.getValue());
        }
        List<Path> paths = new ArrayList<>(files.keySet().stream().map(dir::resolve).toList());
        if (KernelImages.which("mkfs.ext4") != null) {
            Path ext4 = dir.resolve("ext4.img");
            try (var ch = java.nio.channels.FileChannel.open(ext4, java.nio.file.StandardOpenOption.CREATE_NEW,
                    java.nio.file.StandardOpenOption.WRITE)) {
                ch.write(java.nio.ByteBuffer.wrap(new byte[1]), (16 << 20) - 1);
            }
            KernelImages.runChecked(KernelImages.COMMAND_TIMEOUT, "mkfs.ext4", "-q", "-F", ext4.toString());
            paths.add(ext4);
        } else {
            System.out.println("CorruptImageFuzzTest: no mkfs.ext4; the ext4 case is skipped");
        }
        for (Path p : paths) {
            CorruptImageException e = assertThrows(CorruptImageException.class,
                    () -> Filesystem.open(p, OpenOptions.readOnlyDefaults()).close(), p.toString());
            String msg = e.getMessage();
            System.out.println("CorruptImageFuzzTest: " + p.getFileName() + " -> " + msg);
            assertTrue(msg != null && !msg.isBlank(), p + ": no message");
            assertFalse(msg.contains("\n") || msg.contains("\r"), p + ": message is not one line: " + msg);
            assertTrue(msg.contains(p.toString()), p + ": message does not name the file: " + msg);
            // The same bytes through the in-memory device.
            byte[] bytes = Files.readAllBytes(p);
            CorruptImageException m = assertThrows(CorruptImageException.class,
                    () -> Filesystem.open(new MemoryBlockDevice(bytes, true), OpenOptions.readOnlyDefaults()).close());
            assertFalse(m.getMessage().contains("\n"), m.getMessage());
        }
    }

    /** The first {@code size} bytes of a shared image: a cut device without copying it. */
    private static final class TruncatedDevice implements BlockDevice {
        private final byte[] data;
        private final long size;

        TruncatedDevice(byte[] data, long size) {
            this.data = data;
            this.size = size;
        }

        @Override
        public long size() {
            return size;
        }

        @Override
        public void read(long physical, byte[] dst, int off, int len) throws IOException {
            if (physical < 0 || len < 0 || physical + len > size) {
                throw new EOFException("read of " + len + " bytes at " + physical + " goes past the end of the device ("
                        + size + " bytes)");
            }
            System.arraycopy(data, (int) physical, dst, off, len);
        }

        @Override
        public void write(long physical, byte[] src, int off, int len) throws IOException {
            throw new IOException("read-only");
        }

        @Override
        public void flush() {
        }

        @Override
        public boolean isReadOnly() {
            return true;
        }

        @Override
        public void close() {
        }

        @Override
        public String toString() {
            return "image cut to " + size + " bytes";
        }
    }
}
