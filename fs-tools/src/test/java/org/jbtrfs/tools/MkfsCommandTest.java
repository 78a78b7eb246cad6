package org.jbtrfs.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jbtrfs.check.CheckAssertions;
import org.jbtrfs.testing.KernelImages;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code jbtrfs mkfs} end to end: the summary on success, one-line errors with a non-zero exit for
 * bad arguments, file creation, the --force rule, and — against mkfs.btrfs 6.2 with the same
 * options — the same trees and items in {@code inspect dump-tree}, ignoring addresses, uuids,
 * times and generations.
 */
class MkfsCommandTest {
    @TempDir
    Path tmp;

    static Run run(String... args) {
        return Run.of(args);
    }

    @Test
    void makesAFilesystemAndPrintsTheSummary() {
        Path img = tmp.resolve("new.img");
        Run r = run("mkfs", img.toString(), "--size", "256M", "--label", "docs", "--nodesize", "4K", "--csum", "xxhash");
        assertEquals(0, r.status(), r.err());
        assertEquals("", r.err());
        for (String line : List.of("Label:              docs", "Node size:          4096", "Sector size:        4096",
                "Filesystem size:    256.00MiB", "  Data:             single            8.00MiB",
                "  Metadata:         DUP              32.00MiB", "  System:           DUP               8.00MiB",
                "Checksum:           xxhash64", "    1   256.00MiB  " + img)) {
            assertTrue(r.out().lines().anyMatch(line::equals), "missing line '" + line + "' in:\n" + r.out());
        }
        assertTrue(r.out().matches("(?s).*UUID:\\s+[0-9a-f]{8}-[0-9a-f]{4}-.*"), r.out());
        assertEquals(256L << 20, img.toFile().length(), "the missing file is created with the size asked for");
        CheckAssertions.assertClean(img);

        Run again = run("mkfs", img.toString(), "--size", "128M");
        assertEquals(Main.EXIT_FAILURE, again.status());
        assertOneLineError(again, "already holds a btrfs filesystem; use --force");
        Run forced = run("mkfs", "-f", "-q", "-m", "single", "--csum", "blake2", img.toString());
        assertEquals(0, forced.status(), forced.err());
        assertEquals("", forced.out(), "--quiet prints nothing");
        assertEquals(256L << 20, img.toFile().length(), "without --size the whole file is used, never shrunk");
        CheckAssertions.assertClean(img);
    }

    @Test
    void badArgumentsAreOneLineErrors() {
        Path img = tmp.resolve("bad.img");
        String[][] cases = {
            {"--size", "12Q"}, {"--size", "0"}, {"--size", "-5M"}, {"--size", "64M"},
            {"--size", "128M", "--nodesize", "3000"}, {"--size", "128M", "--nodesize", "128K"},
            {"--size", "128M", "--nodesize", "2K"}, {"--size", "128M", "--csum", "md5"},
            {"--size", "128M", "--metadata", "raid1"}, {"--size", "128M", "--label", "x".repeat(256)}, {},
        };
        String[] expect = {"invalid size '12Q'", "invalid size '0'", "invalid size '-5M'", "needs at least 93323264 bytes",
            "node size 3000", "node size 131072", "node size 2048", "unknown checksum 'md5'",
            "unknown metadata profile 'raid1'", "label is 256 bytes", "does not exist; give its size with --size"};
        for (int i = 0; i < cases.length; i++) {
            List<String> args = new ArrayList<>(List.of("mkfs", img.toString()));
            args.addAll(List.of(cases[i]));
            Run r = run(args.toArray(String[]::new));
            assertEquals(Main.EXIT_USAGE, r.status(), String.join(" ", args) + ": " + r.err());
            assertOneLineError(r, expect[i]);
            assertFalse(Files.exists(img), "a refused mkfs leaves no file: " + String.join(" ", args));
        }
        Run dir = run("mkfs", tmp.toString(), "--size", "128M");
        assertEquals(Main.EXIT_FAILURE, dir.status());
        assertOneLineError(dir, "is a directory");
    }

    private static void assertOneLineError(Run r, String fragment) {
        assertTrue(r.err().startsWith("jbtrfs: ") && r.err().contains(fragment), "expected '" + fragment + "' in: " + r.err());
        assertEquals(1, r.err().lines().count(), "one line, no stack trace: " + r.err());
    }

    @Test
    void growsASmallerFileToTheSize() throws IOException {
        Path img = tmp.resolve("grow.img");
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            f.setLength(4096);
        }
        Run r = run("mkfs", "-q", img.toString(), "-b", "100MiB");
        assertEquals(0, r.status(), r.err());
        assertEquals(100L << 20, Files.size(img));
        CheckAssertions.assertClean(img);
    }

    /**
     * mkfs.btrfs and jbtrfs mkfs with the same options make the same trees with the same items. Keys
     * that hold addresses (extent, chunk, device and free space trees) or uuids (uuid tree) are
     * compared without their numbers, and the free space tree as a set, since progs leaves entries of
     * its temporary chunks behind. Tree block backrefs are compared per owner tree.
     */
    @ParameterizedTest
    @ValueSource(strings = {"256M", "1G -n 65536 --csum sha256 -L lbl", "128M -m single -n 4096 --csum blake2"})
    void sameTreesAndItemsAsProgs(String spec) throws IOException {
        Assumptions.assumeTrue(KernelImages.which("mkfs.btrfs") != null, "skipped: mkfs.btrfs is not installed");
        String[] parts = spec.split(" ");
        long size = MkfsCommand.parseSize(parts[0], "size");
        List<String> opts = List.of(parts).subList(1, parts.length);
        Path progs = tmp.resolve("progs.img");
        try (RandomAccessFile f = new RandomAccessFile(progs.toFile(), "rw")) {
            f.setLength(size);
        }
        List<String> cmd = new ArrayList<>(List.of("mkfs.btrfs", "-q", "-f"));
        cmd.addAll(opts);
        cmd.add(progs.toString());
        KernelImages.run(KernelImages.COMMAND_TIMEOUT, null, cmd).orFail();
        Path ours = tmp.resolve("ours.img");
        List<String> args = new ArrayList<>(List.of("mkfs", "-q", ours.toString(), "--size", parts[0]));
        args.addAll(opts);
        Run made = run(args.toArray(String[]::new));
        assertEquals(0, made.status(), made.err());
        CheckAssertions.assertClean(ours);

        Run ourDump = run("inspect", "dump-tree", ours.toString());
        assertEquals(0, ourDump.status(), ourDump.err());
        String progsDump = KernelImages.run(KernelImages.COMMAND_TIMEOUT, null,
                List.of("btrfs", "inspect-internal", "dump-tree", progs.toString())).orFail().output();
        Map<String, List<String>> a = structure(progsDump);
        Map<String, List<String>> b = structure(ourDump.out());
        assertEquals(a.keySet(), b.keySet(), "the same trees");
        for (String tree : a.keySet()) {
            if (tree.startsWith("free space tree")) {
                assertEquals(Set.copyOf(a.get(tree)), Set.copyOf(b.get(tree)), tree);
            } else {
                assertEquals(a.get(tree), b.get(tree), tree + " (progs first, then ours)");
            }
        }
    }

    private static final Pattern ITEM = Pattern.compile("^\\s+item \\d+ key \\((\\S+) (\\S+) (\\S+)\\)");
    private static final Pattern BACKREF = Pattern.compile("tree block backref root (\\S+)");
    private static final Set<String> ADDRESS_KEYED = Set.of("extent tree", "chunk tree", "device tree", "free space tree",
            "uuid tree");

    /** Tree name → its item keys (normalised) in order, plus "backref OWNER" for each tree block. */
    static Map<String, List<String>> structure(String dump) {
        Map<String, List<String>> trees = new TreeMap<>();
        List<String> current = null;
        boolean anonymise = false;
        for (String line : dump.lines().toList()) {
            if (!line.isEmpty() && !Character.isWhitespace(line.charAt(0)) && line.contains("tree")
                    && !line.startsWith("leaf") && !line.startsWith("node")) {
                String name = line.contains(" key (") ? line.substring(0, line.indexOf(" key (")) : line.strip();
                current = trees.computeIfAbsent(name, k -> new ArrayList<>());
                anonymise = ADDRESS_KEYED.contains(name);
                continue;
            }
            Matcher m = ITEM.matcher(line);
            if (current != null && m.find()) {
                String obj = anonymise && m.group(1).matches("\\d+|0x\\p{XDigit}+") ? "#" : m.group(1);
                String off = anonymise && m.group(3).matches("\\d+|0x\\p{XDigit}+") ? "#" : m.group(3);
                current.add(obj + " " + m.group(2) + " " + off);
                continue;
            }
            Matcher br = BACKREF.matcher(line);
            if (current != null && br.find()) {
                current.add("backref " + br.group(1));
            }
        }
        // Extent items sort by address, which differs between layouts: compare them as a multiset.
        trees.computeIfPresent("extent tree", (k, v) -> v.stream().sorted().toList());
        return trees;
    }
}
