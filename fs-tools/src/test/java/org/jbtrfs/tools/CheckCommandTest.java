package org.jbtrfs.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.jbtrfs.format.Superblock;
import org.jbtrfs.testing.KernelImages;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code jbtrfs check} end to end: a clean image exits 0 with a summary line, a damaged one exits 1
 * listing its problems, and input that is not an image is one line on stderr.
 */
class CheckCommandTest {
    @TempDir
    static Path tmp;
    static Path image;

    static Run run(String... args) {
        return Run.of(args);
    }

    @BeforeAll
    static void buildImage() throws Exception {
        Assumptions.assumeTrue(KernelImages.which("mkfs.btrfs") != null, "skipped: mkfs.btrfs is not installed");
        Path src = Files.createDirectories(tmp.resolve("src/dir"));
        byte[] data = new byte[300_000];
        new Random(1).nextBytes(data);
        Files.write(src.resolve("data.bin"), data);
        Files.writeString(src.resolve("note.txt"), "check me\n");
        image = tmp.resolve("img");
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
            f.setLength(200L << 20);
        }
        KernelImages.run(KernelImages.COMMAND_TIMEOUT, null, List.of("mkfs.btrfs", "-q", "-f", "--rootdir",
                tmp.resolve("src").toString(), image.toString())).orFail();
    }

    @Test
    void cleanImageExitsZeroWithASummary() {
        Run r = run("check", "--check-data-csum", image.toString());
        assertEquals(0, r.status(), r.out() + r.err());
        List<String> lines = r.out().lines().toList();
        String last = lines.get(lines.size() - 1);
        assertTrue(last.startsWith(image + ": checked ") && last.contains(" ms: no problems found"), r.out());
        assertTrue(last.contains("data bytes verified"), last);
        assertEquals(1, lines.size(), "only the summary without -v: " + r.out());
        assertEquals("", r.err());
        Run verbose = run("check", "-v", image.toString());
        assertEquals(0, verbose.status());
        assertTrue(verbose.out().lines().limit(verbose.out().lines().count() - 1).allMatch(l -> l.startsWith("warning: ")),
                verbose.out());
        Run quiet = run("check", "-q", image.toString());
        assertEquals(0, quiet.status());
        assertEquals("", quiet.out(), "quiet prints nothing for a clean image");
    }

    @Test
    void damagedImageExitsOneListingProblems() throws IOException {
        Path bad = tmp.resolve("bad.img");
        Files.copy(image, bad);
        try (RandomAccessFile f = new RandomAccessFile(bad.toFile(), "rw")) {
            for (long off : Superblock.MIRROR_OFFSETS) {
                if (off + Superblock.SIZE > f.length()) {
                    continue;
                }
                byte[] b = new byte[Superblock.SIZE];
                f.seek(off);
                f.readFully(b);
                Superblock sb = new Superblock(b);
                sb.setBytesUsed(sb.bytesUsed() + 4096);
                sb.updateCsum();
                f.seek(off);
                f.write(b);
            }
        }
        Run r = run("check", bad.toString());
        assertEquals(Main.EXIT_FAILURE, r.status(), r.out());
        assertTrue(r.out().lines().anyMatch(l -> l.startsWith("superblock: bytes_used ")), r.out());
        assertTrue(r.out().contains("1 problem found"), r.out());
        Run quiet = run("check", "--quiet", bad.toString());
        assertEquals(Main.EXIT_FAILURE, quiet.status());
        assertEquals(1, quiet.out().lines().count(), quiet.out());
    }

    @Test
    void badInputIsOneLine() throws IOException {
        Path junk = tmp.resolve("junk.bin");
        byte[] b = new byte[1 << 20];
        new Random(3).nextBytes(b);
        Files.write(junk, b);
        Path empty = Files.createFile(tmp.resolve("empty.img"));
        String[][] cases = {
            {"check", tmp.resolve("missing.img").toString()},
            {"check", junk.toString()},
            {"check", empty.toString()},
            {"check", tmp.toString()},
            {"check"},
            {"check", "--max-problems", "0", image == null ? "x" : image.toString()},
            {"check", "--no-such-option", "x"},
        };
        for (String[] c : cases) {
            Run r = run(c);
            String what = String.join(" ", c);
            assertNotEquals(0, r.status(), what);
            assertEquals(1, r.err().lines().count(), what + " -> " + r.err());
            assertTrue(r.err().startsWith("jbtrfs: "), what + " -> " + r.err());
            assertFalse(r.err().contains("Exception"), what + " -> " + r.err());
            assertEquals("", r.out(), what);
        }
    }
}
