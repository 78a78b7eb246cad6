package org.jbtrfs.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jbtrfs.bench.MkfsBenchmark.UsageException;
import org.jbtrfs.bench.TreeSnapshot.Entry;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MkfsBenchmarkTest {
    /** A stand-in for 'jbtrfs mkfs IMG --size SIZE --rootdir DIR' that runs mkfs.btrfs itself; BODY is the tail. */
    static final String STAND_IN = String.join("\n",
            "#!/bin/sh",
            "set -e",
            "[ \"$1\" = mkfs ] || { echo \"stand-in: want mkfs, got $1\" >&2; exit 2; }",
            "img=$2; shift 2; size=; root=",
            "while [ $# -gt 0 ]; do case $1 in --size) size=$2; shift 2;; --rootdir) root=$2; shift 2;;",
            "  *) echo \"stand-in: unknown $1\" >&2; exit 2;; esac; done",
            "[ \"$JBTRFS_HEAP\" = 512m ] || { echo \"stand-in: JBTRFS_HEAP is '$JBTRFS_HEAP'\" >&2; exit 3; }",
            "truncate -s \"$size\" \"$img\"",
            "BODY",
            "");
    static final String MKFS = "mkfs.btrfs -f -q --rootdir \"$root\" \"$img\"";

    @TempDir
    Path tmp;

    @Test
    void treeIsDeterministicWithThePromisedShape() throws IOException {
        SourceTree.Layout a = SourceTree.generate(tmp.resolve("a"), 250, 3);
        SourceTree.Layout b = SourceTree.generate(tmp.resolve("b"), 250, 3);
        assertEquals(a, b);
        Map<String, Entry> snap = TreeSnapshot.take(tmp.resolve("a"));
        assertEquals(snap, TreeSnapshot.take(tmp.resolve("b")));

        List<Map.Entry<String, Entry>> small = snap.entrySet().stream()
                .filter(e -> e.getKey().startsWith("small/") && e.getValue().type() == 'f').toList();
        assertEquals(250, small.size());
        assertEquals(250, a.smallFiles());
        assertEquals(3, a.smallDirs());
        assertTrue(small.stream().allMatch(e -> e.getKey().matches("small/g000/d0000[0-2]/f\\d{6}\\.bin")), "nested small/gGGG/dDDDDD/f");
        long empty = small.stream().filter(e -> e.getValue().size() == 0).count();
        long inline = small.stream().filter(e -> e.getValue().size() > 0 && e.getValue().size() <= SourceTree.INLINE_MAX).count();
        long bigger = small.stream().filter(e -> e.getValue().size() > SourceTree.INLINE_MAX).count();
        assertEquals(a.emptyFiles(), empty);
        assertEquals(a.inlineFiles(), inline);
        assertTrue(empty > 0 && inline > 0 && bigger > inline, empty + " empty, " + inline + " inline, " + bigger + " bigger");
        assertTrue(small.stream().allMatch(e -> e.getValue().size() <= SourceTree.SMALL_MAX));
        assertEquals(a.smallBytes(), small.stream().mapToLong(e -> e.getValue().size()).sum());
        assertTrue(small.stream().map(e -> e.getValue().mode()).distinct().count() >= 3, "modes vary");
        for (int d = 0; d < 3; d++) {
            String prefix = "small/g000/d0000" + d + "/";
            long n = small.stream().filter(e -> e.getKey().startsWith(prefix)).count();
            assertEquals(d < 2 ? 100 : 50, n, prefix);
        }

        long large = snap.entrySet().stream().filter(e -> e.getKey().startsWith("large/")).mapToLong(e -> e.getValue().size()).sum();
        assertEquals(3 * SourceTree.MIB, large);
        assertEquals(4, a.largeFiles());
        assertTrue(a.largeDataBytes() < a.largeBytes(), "the sparse file has holes");
        Path sparse = tmp.resolve("a/large/sparse.bin");
        long blocks = Long.parseLong(Cmd.run(30, "stat", "-c", "%b", sparse.toString()).out().strip());
        assertTrue(blocks * 512 < Files.size(sparse), "allocated " + blocks * 512 + " of " + Files.size(sparse));
        byte[] head = new byte[4096];
        try (var in = Files.newInputStream(sparse)) {
            assertEquals(4096, in.readNBytes(head, 0, 4096));
        }
        assertTrue(java.util.Arrays.equals(new byte[4096], head), "starts with a hole");

        assertEquals(4, snap.values().stream().filter(e -> e.type() == 'l').count());
        assertEquals("../small/g000/d00000/f000000.bin", snap.get("links/to-file").target());
        // Every name of a hard-linked inode points at its first name in sorted order.
        assertEquals("links/hard-2a", snap.get("links/hard-2b").hardLinkOf());
        assertEquals("links/hard-2a", snap.get("small/g000/d00000/f000002.bin").hardLinkOf());
        assertEquals("links/hard-1a", snap.get("small/g000/d00000/f000001.bin").hardLinkOf());
        assertNull(snap.get("small/g000/d00000/f000000.bin").hardLinkOf());
        assertEquals('d', snap.get("links/empty-dir").type());
        // Hard links count once toward the tree's size.
        assertEquals(a.smallBytes() + a.largeBytes() + "spaces\n".length(), TreeSnapshot.fileBytes(snap));
    }

    @Test
    void parsesArgumentsAndRejectsBadOnes() throws Exception {
        PrintStream out = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        MkfsBenchmark.parse(new String[] {"--small-files", "10", "--large-mb=0", "--runs", "2", "--keep", "/tmp/x", "--jbtrfs", "/bin/true"}, out);
        MkfsBenchmark.parse(new String[] {"--src", tmp.toString(), "--runs=1"}, out);
        String[][] bad = {
            {"--runs", "0"}, {"--runs", "x"}, {"--small-files", "-1"}, {"--large-mb", "70000"}, {"--large-mb"}, {"--bogus"}, {"extra"},
            {"--src", tmp.resolve("none").toString()}, {"--src", tmp.toString(), "--small-files", "5"},
        };
        for (String[] args : bad) {
            UsageException e = assertThrows(UsageException.class, () -> MkfsBenchmark.parse(args, out), String.join(" ", args));
            assertTrue(!e.getMessage().isEmpty(), String.join(" ", args));
        }
        assertEquals("", assertThrows(UsageException.class, () -> MkfsBenchmark.parse(new String[] {"--help"}, out)).getMessage());

        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = MkfsBenchmark.run(new String[] {"--runs", "0"}, out, new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(2, code);
        assertTrue(err.toString(StandardCharsets.UTF_8).startsWith("bench-mkfs: --runs must be 1..1000\nusage: bench-mkfs"), err.toString());
    }

    @Test
    void resultLinesFollowTheContract() {
        assertEquals(String.join("\n",
                "RESULT mkfs_btrfs_rootdir_seconds 2.000",
                "RESULT jbtrfs_mkfs_rootdir_seconds 3.257",
                "RATIO mkfs_rootdir_jbtrfs_vs_mkfs_btrfs 1.63",
                "MEMORY jbtrfs_mkfs_rootdir_heap 512m ok", ""), MkfsBenchmark.resultLines(2.0, 3.2571, null).replace(System.lineSeparator(), "\n"));
        assertEquals(String.join("\n",
                "RESULT mkfs_btrfs_rootdir_seconds 1.500",
                "MEMORY jbtrfs_mkfs_rootdir_heap 512m FAILED: exit 1: jbtrfs: out of memory", ""),
                MkfsBenchmark.resultLines(1.5, Double.NaN, "exit 1: jbtrfs: out of memory").replace(System.lineSeparator(), "\n"));
    }

    @Test
    void recognisesOutOfMemoryReports() {
        Cmd.Result launcher = new Cmd.Result(List.of("jbtrfs"), 1, "",
                "jbtrfs: out of memory; raise the heap with JBTRFS_HEAP (e.g. JBTRFS_HEAP=4g)\n", 0);
        assertEquals("exit 1: jbtrfs: out of memory; raise the heap with JBTRFS_HEAP (e.g. JBTRFS_HEAP=4g)", MkfsBenchmark.outOfMemory(launcher));
        Cmd.Result thread = new Cmd.Result(List.of("jbtrfs"), 0, "",
                "Exception in thread \"flusher\" java.lang.OutOfMemoryError: Java heap space\n", 0);
        assertTrue(MkfsBenchmark.outOfMemory(thread).contains("OutOfMemoryError"));
        assertNull(MkfsBenchmark.outOfMemory(new Cmd.Result(List.of("jbtrfs"), 1, "", "jbtrfs: no space left\n", 0)));
    }

    @Test
    void imageIsTwiceTheTreeRoundedUpAndAtLeastOneGib() {
        assertEquals(1L << 30, MkfsBenchmark.imageBytes(0));
        assertEquals(1L << 30, MkfsBenchmark.imageBytes(512 * SourceTree.MIB));
        assertEquals(1216 * SourceTree.MIB, MkfsBenchmark.imageBytes(600 * SourceTree.MIB));
        assertEquals(1088 * SourceTree.MIB, MkfsBenchmark.imageBytes(513 * SourceTree.MIB + 1));
    }

    @Test
    void diffNamesEveryDifference() {
        Map<String, Entry> want = Map.of("a", new Entry('f', 0644, 3, 7, null, null), "b", new Entry('l', 0777, 1, 0, "x", null),
                "c", new Entry('d', 0755, 0, 0, null, null));
        assertTrue(TreeSnapshot.diff(want, want).isEmpty());
        Map<String, Entry> got = Map.of("a", new Entry('f', 0600, 3, 7, null, null), "b", new Entry('l', 0777, 1, 0, "y", null),
                "d", new Entry('d', 0755, 0, 0, null, null));
        List<String> bad = TreeSnapshot.diff(want, got);
        assertEquals(List.of(
                "a: image has file mode 0600 3 bytes crc32c 00000007, source has file mode 0644 3 bytes crc32c 00000007",
                "b: image has symlink mode 0777 -> y, source has symlink mode 0777 -> x",
                "c: missing from the image (source: directory mode 0755)",
                "d: only in the image (directory mode 0755)"), bad.stream().sorted().toList());
    }

    // ---- end to end, with stand-ins for the jbtrfs command (needs root, btrfs-progs, loop devices) ----

    private Path standIn(String name, String body) throws IOException {
        Path p = tmp.resolve(name);
        Files.writeString(p, STAND_IN.replace("BODY", body));
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
        return p;
    }

    private record Run(int code, String out, String err) {
    }

    private static Run bench(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = MkfsBenchmark.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static void assumeMachineCanRun() throws IOException {
        String why = MkfsBenchmark.skipReason();
        Assumptions.assumeTrue(why == null, "end-to-end mkfs benchmark skipped: " + why);
    }

    @Test
    void endToEndWithAStandInThatRunsMkfsBtrfs() throws IOException {
        assumeMachineCanRun();
        Path work = tmp.resolve("work");
        Run r = bench("--small-files", "150", "--large-mb", "2", "--runs", "2", "--keep", work.toString(),
                "--jbtrfs", standIn("jbtrfs-ok", "exec " + MKFS).toString());
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("run 1/2 (mkfs.btrfs first):") && r.out().contains("run 2/2 (jbtrfs first):"), r.out());
        assertTrue(r.out().contains("the jbtrfs image matches the source"), r.out());
        Matcher m = Pattern.compile("(?m)^RESULT mkfs_btrfs_rootdir_seconds (\\d+\\.\\d{3})\n"
                + "RESULT jbtrfs_mkfs_rootdir_seconds (\\d+\\.\\d{3})\n"
                + "RATIO mkfs_rootdir_jbtrfs_vs_mkfs_btrfs (\\d+\\.\\d{2})\n"
                + "MEMORY jbtrfs_mkfs_rootdir_heap 512m ok\n").matcher(r.out().replace(System.lineSeparator(), "\n"));
        assertTrue(m.find(), r.out());
        double ratio = Double.parseDouble(m.group(2)) / Double.parseDouble(m.group(1));
        assertEquals(ratio, Double.parseDouble(m.group(3)), 0.01 + 0.02 * ratio, "RATIO is jbtrfs / mkfs.btrfs");
        assertTrue(Files.isDirectory(work.resolve("src/small/g000")), "--keep leaves the tree");
        assertTrue(Files.exists(work.resolve("jbtrfs.img")) && Files.exists(work.resolve("mkfs-btrfs.img")), "--keep leaves the images");

        // The kept tree can be reused with --src.
        Run again = bench("--src", work.resolve("src").toString(), "--runs", "1", "--keep", tmp.resolve("work2").toString(),
                "--jbtrfs", tmp.resolve("jbtrfs-ok").toString());
        assertEquals(0, again.code(), again.out() + again.err());
        assertTrue(!again.out().contains("generated") && again.out().contains("MEMORY jbtrfs_mkfs_rootdir_heap 512m ok"), again.out());
    }

    @Test
    void endToEndFailsOnAnImageThatDiffersFromTheSource() throws IOException {
        assumeMachineCanRun();
        Path src = tmp.resolve("src");
        SourceTree.generate(src, 120, 1);
        // Copies the tree, changes a mode, a byte and a symlink, drops a file, and makes the image of the copy.
        String body = String.join("\n", "copy=\"$img.copy\"", "cp -a \"$root\" \"$copy\"",
                "chmod 0604 \"$copy/small/g000/d00000/f000003.bin\"", "printf x >> \"$copy/small/g000/d00001/f000104.bin\"",
                "rm \"$copy/large/random-0.bin\"", "ln -sfn elsewhere \"$copy/links/to-dir\"",
                "mkfs.btrfs -f -q --rootdir \"$copy\" \"$img\"", "rm -rf \"$copy\"");
        Run r = bench("--src", src.toString(), "--runs", "1", "--jbtrfs", standIn("jbtrfs-wrong", body).toString());
        assertEquals(1, r.code(), r.out() + r.err());
        assertTrue(r.err().contains("bench-mkfs: FAILED: run 1, the jbtrfs image (seen through a read-only kernel mount): 4 difference(s)"), r.err());
        assertTrue(r.err().contains("small/g000/d00000/f000003.bin: image has file mode 0604"), r.err());
        assertTrue(r.err().contains("large/random-0.bin: missing from the image"), r.err());
        assertTrue(r.err().contains("links/to-dir: image has symlink mode 0777 -> elsewhere, source has symlink mode 0777 -> ../small/g000"), r.err());
        assertTrue(r.err().matches("(?s).*small/g000/d00001/f000104\\.bin: image has file mode \\d+ \\d+ bytes.*"), r.err());
        assertTrue(!r.out().contains("RESULT"), r.out());
    }

    @Test
    void endToEndFailsOnAnImageThatFailsBtrfsCheck() throws IOException {
        assumeMachineCanRun();
        Path src = tmp.resolve("src");
        SourceTree.generate(src, 20, 0);
        Run r = bench("--src", src.toString(), "--runs", "1", "--jbtrfs",
                standIn("jbtrfs-garbage", "printf 'not a filesystem' | dd of=\"$img\" bs=1 seek=65536 conv=notrunc 2>/dev/null").toString());
        assertEquals(1, r.code(), r.out() + r.err());
        assertTrue(r.err().contains("bench-mkfs: FAILED: jbtrfs image fails btrfs check: 'btrfs check --readonly --check-data-csum"), r.err());
    }

    @Test
    void endToEndReportsOutOfMemory() throws IOException {
        assumeMachineCanRun();
        Path src = tmp.resolve("src");
        SourceTree.generate(src, 20, 0);
        Run r = bench("--src", src.toString(), "--runs", "1", "--jbtrfs", standIn("jbtrfs-oom",
                "echo 'jbtrfs: out of memory; raise the heap with JBTRFS_HEAP (e.g. JBTRFS_HEAP=4g)' >&2; exit 1").toString());
        assertEquals(1, r.code(), r.out() + r.err());
        String out = r.out().replace(System.lineSeparator(), "\n");
        assertTrue(out.matches("(?s).*\nRESULT mkfs_btrfs_rootdir_seconds \\d+\\.\\d{3}\nMEMORY jbtrfs_mkfs_rootdir_heap 512m FAILED: exit 1: "
                + "jbtrfs: out of memory; raise the heap with JBTRFS_HEAP \\(e\\.g\\. JBTRFS_HEAP=4g\\)\n"), out);
        assertTrue(!out.contains("RESULT jbtrfs") && !out.contains("RATIO"), out);
    }

    @Test
    void failsClearlyWhenTheJbtrfsCommandIsMissing() throws IOException {
        assumeMachineCanRun();
        Run r = bench("--small-files", "1", "--large-mb", "0", "--jbtrfs", tmp.resolve("no-such-jbtrfs").toString());
        assertEquals(1, r.code(), r.out() + r.err());
        assertTrue(r.err().contains("is not an executable file"), r.err());
    }
}
