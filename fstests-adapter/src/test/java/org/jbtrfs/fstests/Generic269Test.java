package org.jbtrfs.fstests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * generic/269 embedded, small: workers and the filler run into ENOSPC, the kill interrupts them
 * (some in a reservation wait), and each run ends with no leak and a clean image; the command line
 * prints one line per run and the tally, and refuses bad arguments.
 */
class Generic269Test {
    @TempDir
    Path tmp;

    record Out(int status, String out, String err) {
    }

    static Out run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int status = Main.run(args, new PrintWriter(out), new PrintWriter(err));
        return new Out(status, out.toString(), err.toString());
    }

    @Test
    void runsPassWithNoLeakAndACleanImage() {
        long seed = Long.getLong("jbtrfs.seed", System.nanoTime());
        System.out.println("Generic269Test: seed=" + seed);
        Out r = run("run", "generic/269", "--runs", "2", "--size", "160M", "--workers", "6", "--seed", Long.toString(seed),
                "--dir", tmp.toString());
        System.out.print(r.out());
        List<String> lines = r.out().lines().toList();
        assertEquals(3, lines.size(), r.out() + r.err());
        assertTrue(lines.get(0).contains("run 1/2") && lines.get(0).contains(": passed"), r.out() + r.err());
        assertTrue(lines.get(0).contains("ENOSPC"), "the workers ran into ENOSPC: " + lines.get(0));
        assertEquals("2 passed, 0 failed", lines.get(2));
        assertEquals(0, r.status(), r.err());
    }

    @Test
    void fuseModeKillsWorkerProcessesOnAFullMount() {
        String why = Generic269Fuse.unavailableReason();
        if (why != null) {
            System.out.println("Generic269Test: --mode fuse skipped: " + why);
            org.junit.jupiter.api.Assumptions.abort("--mode fuse: " + why);
        }
        Out r = run("run", "generic/269", "--mode", "fuse", "--runs", "1", "--size", "160M", "--workers", "3",
                "--dir", tmp.toString());
        System.out.print(r.out());
        assertTrue(r.out().contains("generic/269 fuse run 1/1") && r.out().contains(": passed"), r.out() + r.err());
        assertTrue(r.out().strip().endsWith("1 passed, 0 failed"), r.out());
        assertEquals(0, r.status(), r.err());
    }

    @Test
    void badArgumentsAreUsageErrors() {
        assertEquals(2, run("run", "generic/001").status());
        assertEquals(2, run("run", "generic/269", "--runs", "0").status());
        assertEquals(2, run("run", "generic/269", "--size", "big").status());
        assertEquals(2, run("run", "generic/269", "--mode", "nfs").status());
        assertEquals(2, run().status());
    }
}
