package org.jbtrfs.fstests;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code bin/fstests run generic/269 [--mode embedded|fuse] [--runs N] [--size 512M] [--workers N]
 * [--seed S] [--dir DIR]}: one line per run, then {@code N passed, M failed}; exit 0 only when none
 * failed, 2 on a usage error.
 */
@Command(name = "fstests", mixinStandardHelpOptions = true, subcommands = Main.Run.class,
        description = "jbtrfs's ports of fstests cases.")
public final class Main implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing command (run)");
    }

    public static void main(String[] args) {
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs a command line with the given streams; returns the exit status (for tests). */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cl = new CommandLine(new Main());
        cl.setOut(out);
        cl.setErr(err);
        cl.setParameterExceptionHandler((ex, a) -> {
            err.println("fstests: " + ex.getMessage().replace('\n', ' '));
            return 2;
        });
        cl.setExecutionExceptionHandler((ex, c, p) -> {
            err.println("fstests: " + Generic269.oneLine(ex));
            return 1;
        });
        try {
            return cl.execute(args);
        } finally {
            out.flush();
            err.flush();
        }
    }

    @Command(name = "run", mixinStandardHelpOptions = true, description = "Run a test (generic/269).")
    static final class Run implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "TEST", description = "generic/269")
        String test;

        @Option(names = "--mode", description = "embedded (threads, interrupted) or fuse (processes on a mount, SIGKILLed)")
        String mode = "embedded";

        @Option(names = "--runs", description = "How many runs (default ${DEFAULT-VALUE}).")
        int runs = 1;

        @Option(names = "--size", description = "Image size, with K/M/G (default ${DEFAULT-VALUE}).")
        String size = "512M";

        @Option(names = "--workers", description = "Stress workers (default ${DEFAULT-VALUE}).")
        int workers = 8;

        @Option(names = "--seed", description = "Random seed (default: the clock).")
        Long seed;

        @Option(names = "--dir", description = "Where the images go (default: the temporary directory).")
        Path dir;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            PrintWriter out = spec.commandLine().getOut();
            if (!test.equals("generic/269")) {
                throw new CommandLine.ParameterException(spec.commandLine(), "unknown test " + test + " (known: generic/269)");
            }
            if (mode.equals("fuse") && Generic269Fuse.unavailableReason() != null) {
                out.println("skipped: --mode fuse " + Generic269Fuse.unavailableReason());
                return 0;
            }
            if (runs < 1 || workers < 1 || workers > 256) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--runs must be >= 1 and --workers 1..256");
            }
            if (!mode.equals("embedded") && !mode.equals("fuse")) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--mode must be embedded or fuse");
            }
            long bytes = parseSize(size);
            Path where = dir != null ? Files.createDirectories(dir) : Path.of(System.getProperty("java.io.tmpdir"));
            long base = seed != null ? seed : System.nanoTime();
            int passed = 0;
            for (int i = 1; i <= runs; i++) {
                Generic269.Options opts = new Generic269.Options(bytes, workers, base + i - 1, where);
                Generic269.Result r = mode.equals("fuse") ? Generic269Fuse.run(opts, i, runs, out)
                        : Generic269.run(opts, i, runs, out);
                out.println(r.line());
                out.flush();
                if (r.passed()) {
                    passed++;
                }
            }
            out.println(passed + " passed, " + (runs - passed) + " failed");
            return passed == runs ? 0 : 1;
        }

        private long parseSize(String s) {
            String t = s.trim().toUpperCase(java.util.Locale.ROOT);
            int shift = switch (t.isEmpty() ? ' ' : t.charAt(t.length() - 1)) {
                case 'K' -> 10;
                case 'M' -> 20;
                case 'G' -> 30;
                default -> 0;
            };
            try {
                long v = Long.parseLong(shift == 0 ? t : t.substring(0, t.length() - 1));
                if (v <= 0 || v > (Long.MAX_VALUE >> shift)) {
                    throw new NumberFormatException();
                }
                return v << shift;
            } catch (NumberFormatException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), "bad --size " + s);
            }
        }
    }
}
