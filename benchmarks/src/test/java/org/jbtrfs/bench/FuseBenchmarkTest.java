package org.jbtrfs.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jbtrfs.bench.FuseBenchmark.Target;
import org.jbtrfs.bench.FuseBenchmark.Workload;
import org.jbtrfs.bench.MkfsBenchmark.UsageException;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

class FuseBenchmarkTest {
    /** bin/jbtrfs of this checkout: Surefire runs in the module directory. */
    static final Path JBTRFS = Path.of("../bin/jbtrfs").toAbsolutePath().normalize();

    @TempDir
    Path tmp;

    private static String sample(String name) throws IOException {
        try (InputStream in = FuseBenchmarkTest.class.getResourceAsStream(name)) {
            assertTrue(in != null, name);
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void parsesARecordedFioReport() throws IOException {
        // fio-3.33, --rw=write --bs=1M --size=256M --end_fsync=1 --output-format=json on a kernel btrfs loop mount.
        String json = sample("fio-seqwrite.json");
        Fio.Figures f = Fio.parse(json, Fio.Job.SEQWRITE);
        assertEquals(new Fio.Figures(268435456L, 690065439.0, 658.097686, 389), f);
        assertEquals(690.065439, f.value(Fio.Job.SEQWRITE), 1e-9);
        // A warning line before the JSON is skipped.
        assertEquals(f, Fio.parse("fio: note: both iodepth >= 1 and synchronous I/O engine are selected\n" + json, Fio.Job.SEQWRITE));
        // The report's read side moved nothing: reading it as a read job is an error, not a zero.
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Fio.parse(json, Fio.Job.SEQREAD));
        assertTrue(e.getMessage().contains("moved 0 bytes"), e.getMessage());
    }

    @Test
    void randomJobsReportIopsAndErrorsAreFailures() {
        String ok = "{\"jobs\":[{\"jobname\":\"randread\",\"error\":0,\"read\":{\"io_bytes\":4096000,\"bw_bytes\":2048000,"
                + "\"iops\":500.5,\"runtime\":2000},\"write\":{\"io_bytes\":0,\"bw_bytes\":0,\"iops\":0.0,\"runtime\":0}}]}";
        assertEquals(500.5, Fio.parse(ok, Fio.Job.RANDREAD).value(Fio.Job.RANDREAD), 0);
        String failed = ok.replace("\"error\":0", "\"error\":28");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Fio.parse(failed, Fio.Job.RANDREAD)).getMessage()
                .contains("reports error 28"));
        for (String bad : List.of("", "no json here", "{\"jobs\":[]}", "{\"jobs\":[{\"error\":0}]}", "{\"jobs\":[{\"error\":0,\"read\":{\"io_bytes\":\"x\"}}]}",
                "{\"jobs\":[", "{\"a\" 1}")) {
            assertThrows(IllegalArgumentException.class, () -> Fio.parse(bad, Fio.Job.RANDREAD), bad);
        }
        assertEquals(Map.of("s", "a\"b\\c\u00e9\n", "n", List.of(-1L, 2.5e3, true, false)),
                new LinkedHashMap<>(Fio.Json.object(Fio.Json.parse("{\"s\":\"a\\\"b\\\\c\\u00e9\\n\",\"n\":[-1,2.5e3,true,false]} trailing"), "x")));
    }

    @Test
    void fioCommandLines() {
        Path f = Path.of("/m/fio.dat");
        assertEquals(List.of("fio", "--name=seqwrite", "--filename=/m/fio.dat", "--rw=write", "--bs=1M", "--size=256M", "--ioengine=psync",
                "--direct=0", "--numjobs=1", "--runtime=30", "--randrepeat=1", "--output-format=json", "--end_fsync=1"),
                Fio.argv(Fio.Job.SEQWRITE, f, 256, 30));
        List<String> rr = Fio.argv(Fio.Job.RANDREAD, f, 16, 2);
        assertTrue(rr.containsAll(List.of("--rw=randread", "--bs=4k", "--size=16M", "--runtime=2")) && !rr.contains("--end_fsync=1"), rr.toString());
    }

    @Test
    void parsesArgumentsAndRejectsBadOnes() throws Exception {
        PrintStream out = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        FuseBenchmark.parse(new String[] {"--size-mb", "16", "--runs=1", "--runtime", "2", "--keep", "/tmp/x", "--jbtrfs", "/bin/true"}, out);
        FuseBenchmark.parse(new String[0], out);
        String[][] bad = {
            {"--runs", "0"}, {"--runs", "x"}, {"--size-mb", "0"}, {"--size-mb", "70000"}, {"--runtime", "0"}, {"--runtime"},
            {"--bogus"}, {"extra"},
        };
        for (String[] args : bad) {
            UsageException e = assertThrows(UsageException.class, () -> FuseBenchmark.parse(args, out), String.join(" ", args));
            assertTrue(!e.getMessage().isEmpty(), String.join(" ", args));
        }
        assertEquals("", assertThrows(UsageException.class, () -> FuseBenchmark.parse(new String[] {"-h"}, out)).getMessage());
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = FuseBenchmark.run(new String[] {"--runtime", "0"}, out, new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(2, code);
        assertTrue(err.toString(StandardCharsets.UTF_8).startsWith("bench-fuse: --runtime must be 1..3600\nusage: bench-fuse"), err.toString());
    }

    @Test
    void targetOrderRotatesSoEachLeadsInTurn() {
        assertEquals(List.of(Target.KERNEL, Target.JBTRFS, Target.PASSTHROUGH), FuseBenchmark.order(0));
        assertEquals(List.of(Target.JBTRFS, Target.PASSTHROUGH, Target.KERNEL), FuseBenchmark.order(1));
        assertEquals(List.of(Target.PASSTHROUGH, Target.KERNEL, Target.JBTRFS), FuseBenchmark.order(2));
        assertEquals(FuseBenchmark.order(0), FuseBenchmark.order(3));
        assertEquals(1L << 30, FuseBenchmark.imageBytes(16));
        assertEquals(2048L << 20, FuseBenchmark.imageBytes(512));
    }

    @Test
    void outputLinesFollowTheContract() {
        Map<Workload, double[]> m = new LinkedHashMap<>();
        m.put(Workload.SEQWRITE, new double[] {400, 100, 200});
        m.put(Workload.RANDREAD, new double[] {30000, 3333.3333, 2500});
        m.put(Workload.UNLINK, new double[] {10000, 1000, 4000});
        assertEquals(String.join("\n",
                "RESULT seqwrite_kernel 400.0 MB/s",
                "RESULT seqwrite_jbtrfs 100.0 MB/s",
                "RESULT seqwrite_passthrough 200.0 MB/s",
                "RESULT randread_kernel 30000.0 IOPS",
                "RESULT randread_jbtrfs 3333.3 IOPS",
                "RESULT randread_passthrough 2500.0 IOPS",
                "RESULT unlink_kernel 10000.0 ops/s",
                "RESULT unlink_jbtrfs 1000.0 ops/s",
                "RESULT unlink_passthrough 4000.0 ops/s",
                "RATIO seqwrite_jbtrfs_vs_kernel 0.25",
                "RATIO seqwrite_jbtrfs_vs_passthrough 0.50",
                "RATIO randread_jbtrfs_vs_kernel 0.11",
                "RATIO randread_jbtrfs_vs_passthrough 1.33",
                "RATIO unlink_jbtrfs_vs_kernel 0.10",
                "RATIO unlink_jbtrfs_vs_passthrough 0.25", ""), FuseBenchmark.resultLines(m).replace(System.lineSeparator(), "\n"));
        double[] got = {1, 2, 3, 4, 5, 6, 7.25};
        assertEquals("jbtrfs: seqwrite 1.0 MB/s, seqread 2.0 MB/s, randwrite 3.0 IOPS, randread 4.0 IOPS, create 5.0 ops/s,"
                + " stat 6.0 ops/s, unlink 7.3 ops/s", FuseBenchmark.runLine(Target.JBTRFS, got));
    }

    @Test
    void metadataLoopLeavesNothingBehind() throws IOException {
        MetadataLoop.Rates r = MetadataLoop.run(tmp.resolve("meta"), 50);
        assertTrue(r.createPerSecond() > 0 && r.statPerSecond() > 0 && r.unlinkPerSecond() > 0, r.toString());
        assertTrue(!Files.exists(tmp.resolve("meta")));
    }

    // ---- end to end at tiny scale (needs root, fio, /dev/fuse, btrfs-progs, loop devices, a built bin/jbtrfs) ----

    @Test
    @Timeout(180)
    void endToEndAtTinyScale() throws IOException {
        String why = FuseBenchmark.skipReason();
        Assumptions.assumeTrue(why == null, "end-to-end FUSE benchmark skipped: " + why);
        Assumptions.assumeTrue(Files.isDirectory(JBTRFS.resolveSibling("../fs-tools/target/lib").normalize()),
                "end-to-end FUSE benchmark skipped: bin/jbtrfs is not built (mvn -DskipTests package)");
        Path work = tmp.resolve("work");
        ByteArrayOutputStream outBytes = new ByteArrayOutputStream();
        ByteArrayOutputStream errBytes = new ByteArrayOutputStream();
        int code = FuseBenchmark.run(new String[] {"--size-mb", "16", "--runs", "1", "--runtime", "2", "--keep", work.toString(),
            "--jbtrfs", JBTRFS.toString()}, new PrintStream(outBytes, true, StandardCharsets.UTF_8), new PrintStream(errBytes, true, StandardCharsets.UTF_8));
        String out = outBytes.toString(StandardCharsets.UTF_8).replace(System.lineSeparator(), "\n");
        String err = errBytes.toString(StandardCharsets.UTF_8);
        assertEquals(0, code, out + err);
        assertTrue(out.contains("run 1/1 (order: kernel, jbtrfs, passthrough)\n"), out);
        assertTrue(out.matches("(?s).*\n  jbtrfs: seqwrite [^\n]*; image passes btrfs check\n.*"), out);
        for (Workload w : Workload.values()) {
            for (Target t : Target.values()) {
                Matcher m = Pattern.compile("(?m)^RESULT " + w.label + "_" + t.label + " (\\d+\\.\\d) " + Pattern.quote(w.unit()) + "$").matcher(out);
                assertTrue(m.find() && Double.parseDouble(m.group(1)) > 0, w.label + "_" + t.label + " in\n" + out);
            }
            for (String base : List.of("kernel", "passthrough")) {
                assertTrue(Pattern.compile("(?m)^RATIO " + w.label + "_jbtrfs_vs_" + base + " \\d+\\.\\d{2}$").matcher(out).find(),
                        w.label + " vs " + base + " in\n" + out);
            }
        }
        // Nothing left mounted; the kept jbtrfs image checks clean once more.
        for (Target t : Target.values()) {
            assertTrue(org.jbtrfs.fuse.MountInfo.at(work.resolve("mnt-" + t.label)).isEmpty(), t + " still mounted");
        }
        Cmd.Result check = Cmd.tryRun(120, "btrfs", "check", "--readonly", "--check-data-csum", work.resolve("jbtrfs.img").toString());
        assertTrue(check.ok(), check.describe());
    }
}
