package org.jbtrfs.bench.jmh;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * Runs the JMH suite of the hot paths and prints, last, one line per ratio of a benchmark to its
 * floor measured in the same run: {@code RATIO <benchmark>_vs_<floor> <value>}.
 *
 * <p>Usage: {@code bin/jmh [--quick] [--json DIR] [--prof NAME]...}. Quick: one fork, short
 * iterations (the whole suite in about a minute and a half); full: more forks and iterations, and
 * JMH's JSON per thread count in DIR (default {@code benchmarks/target/jmh}). {@code --prof gc} or
 * {@code --prof stack} add JMH's profilers.
 *
 * <p>Three runs: every benchmark with one thread (but the ticket path), the reservation fast path
 * and the cache hit with two, and the ticket path ({@link TicketBench}) with
 * {@link #TICKET_THREADS} beside the fast path contended by as many. The ticket path's RATIO
 * against the one-thread fast path divides its per-thread score by the thread count (wall-clock
 * ns per reservation); against the fast path with as many threads it compares per-thread scores.
 * Every run fails on error, so a benchmark whose own checks fail stops the suite.
 */
public final class JmhSuite {
    /**
     * Benchmarks run with 1 thread, and with 2 for those in {@link #TWO_THREADS}; the ticket path
     * only with {@link #TICKET_THREADS} (it needs contenders).
     */
    static final String ALL = JmhSuite.class.getPackageName() + "\\..*Bench\\..*";
    static final String TWO_THREADS = JmhSuite.class.getPackageName() + "\\.(ReservationBench|CacheHitBench)\\..*";
    static final String TICKET = JmhSuite.class.getPackageName() + "\\.TicketBench\\..*";
    /** The ticket path, and the fast path contended by as many threads (lock contention alone). */
    static final String TICKET_RUN = JmhSuite.class.getPackageName()
            + "\\.(TicketBench\\..*|ReservationBench\\.reserveRelease$)";
    /** "Many threads" near ENOSPC: four per core of the 2-core machines this runs on. */
    static final int TICKET_THREADS = 8;

    /** benchmark → floor, by method name; each with the thread counts measured. */
    static final String[][] RATIOS = {
        {"reserveRelease", "casFloor", "1", "2"},
        {"cacheHit", "chmGet", "1", "2"},
        {"cacheHit", "chmGetMixedKeys", "1", "2"},
        {"leafBinarySearch", "arraysBinarySearch", "1"},
        {"cacheMiss", "fileRead", "1"},
        {"ticketPath", "reserveRelease", String.valueOf(TICKET_THREADS)},
    };

    private JmhSuite() {
    }

    public static void main(String[] args) throws RunnerException {
        boolean quick = false;
        String jsonDir = "benchmarks/target/jmh";
        List<String> profilers = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--quick" -> quick = true;
                case "--json" -> jsonDir = args[++i];
                case "--prof" -> profilers.add(args[++i]);
                default -> {
                    System.err.println("usage: jmh [--quick] [--json DIR] [--prof NAME]...");
                    System.exit(2);
                }
            }
        }
        Map<String, Double> nsPerOp = new LinkedHashMap<>();
        run(ALL, TICKET, 1, quick, jsonDir, profilers, nsPerOp);
        run(TWO_THREADS, null, 2, quick, jsonDir, profilers, nsPerOp);
        run(TICKET_RUN, null, TICKET_THREADS, quick, jsonDir, profilers, nsPerOp);
        System.out.println();
        for (Map.Entry<String, Double> e : nsPerOp.entrySet()) {
            System.out.printf(Locale.ROOT, "RESULT %s %.2f ns/op%n", e.getKey(), e.getValue());
        }
        for (String[] r : RATIOS) {
            for (int i = 2; i < r.length; i++) {
                String t = r[i].equals("1") ? "" : "_" + r[i] + "t";
                Double b = nsPerOp.get(r[0] + t);
                Double f = nsPerOp.get(r[1] + t);
                if (b != null && f != null) {
                    System.out.printf(Locale.ROOT, "RATIO %s%s_vs_%s%s %.2f%n", r[0], t, r[1], t, b / f);
                }
            }
        }
        // The ticket path's score is per thread; the whole system grants TICKET_THREADS times as
        // many reservations in that time, so compare wall-clock ns per reservation with the fast path.
        Double ticket = nsPerOp.get("ticketPath_" + TICKET_THREADS + "t");
        Double fast = nsPerOp.get("reserveRelease");
        if (ticket != null && fast != null) {
            System.out.printf(Locale.ROOT, "RATIO ticketPath_%dt_vs_reserveRelease %.2f%n", TICKET_THREADS,
                    ticket / TICKET_THREADS / fast);
        }
    }

    private static void run(String include, String exclude, int threads, boolean quick, String jsonDir,
            List<String> profilers, Map<String, Double> nsPerOp) throws RunnerException {
        // Fail on error: a benchmark whose setup or teardown finds it did not measure what it
        // claims (the ticket path's checks) must stop the run, not drop a line from the report.
        ChainedOptionsBuilder o = new OptionsBuilder().include(include).threads(threads)
                .jvmArgsAppend("-Xms1g", "-Xmx1g").shouldFailOnError(true);
        if (exclude != null) {
            o.exclude(exclude);
        }
        if (quick) {
            o.forks(1).warmupIterations(2).warmupTime(TimeValue.milliseconds(500))
                    .measurementIterations(3).measurementTime(TimeValue.seconds(1));
        } else {
            new java.io.File(jsonDir).mkdirs();
            o.forks(2).warmupIterations(4).warmupTime(TimeValue.seconds(1))
                    .measurementIterations(5).measurementTime(TimeValue.seconds(2))
                    .resultFormat(ResultFormatType.JSON).result(jsonDir + "/jmh-" + threads + "t.json");
        }
        for (String p : profilers) {
            o.addProfiler(p);
        }
        Collection<RunResult> results = new Runner(o.build()).run();
        for (RunResult r : results) {
            String label = r.getParams().getBenchmark();
            label = label.substring(label.lastIndexOf('.') + 1) + (threads == 1 ? "" : "_" + threads + "t");
            nsPerOp.put(label, r.getPrimaryResult().getScore());
        }
    }
}
