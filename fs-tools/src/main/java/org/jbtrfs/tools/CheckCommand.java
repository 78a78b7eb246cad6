package org.jbtrfs.tools;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.jbtrfs.OpenOptions;
import org.jbtrfs.check.CheckOptions;
import org.jbtrfs.check.CheckReport;
import org.jbtrfs.check.Checker;
import org.jbtrfs.check.Problem;
import org.jbtrfs.device.BlockDevice;
import org.jbtrfs.device.FileBlockDevice;
import org.jbtrfs.disk.FsInfo;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code jbtrfs check [--check-data-csum] [--quiet] [--verbose] IMG}: jbtrfs's consistency checker
 * ({@link Checker}), read-only, like {@code btrfs check --readonly}. Prints one line per problem
 * ({@code AREA: MESSAGE}), warnings with {@code -v}, and a summary line; exits 0 when no problem was found and 1
 * otherwise. An image that cannot be opened at all is a one-line error (exit 1).
 */
@Command(name = "check", mixinStandardHelpOptions = true,
        description = "Check the consistency of a btrfs image (read-only), like btrfs check --readonly.")
final class CheckCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "IMG", description = "The btrfs image.")
    Path image;

    @Option(names = "--check-data-csum", description = "Also read all data and verify its checksums.")
    boolean checkDataCsum;

    @Option(names = {"-q", "--quiet"}, description = "Print problems only, no summary.")
    boolean quiet;

    @Option(names = {"-v", "--verbose"}, description = "Also list warnings: oddities btrfs check accepts too"
            + " (mkfs.btrfs 6.2, for one, leaves free space entries of its temporary chunks behind).")
    boolean verbose;

    @Option(names = "--max-problems", paramLabel = "N",
            description = "List at most N problems (all are counted; default ${DEFAULT-VALUE}).")
    int maxProblems = CheckOptions.DEFAULT_MAX_PROBLEMS;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        if (maxProblems < 1) {
            throw new IllegalArgumentException("--max-problems must be at least 1");
        }
        if (!Files.exists(image)) {
            throw new IOException(image + ": no such file");
        }
        if (Files.isDirectory(image)) {
            throw new IOException(image + ": is a directory, not an image");
        }
        PrintWriter out = spec.commandLine().getOut();
        CheckReport report;
        BlockDevice dev = FileBlockDevice.open(image, true);
        try (FsInfo fs = FsInfo.open(dev, OpenOptions.readOnlyDefaults())) {
            report = new Checker(fs, new CheckOptions(checkDataCsum, maxProblems)).run();
        } catch (IOException | RuntimeException e) {
            dev.close();
            throw e;
        }
        for (Problem p : report.problems()) {
            out.println(p);
        }
        if (verbose && !quiet) {
            for (Problem w : report.warnings()) {
                out.println("warning: " + w);
            }
        }
        if (!quiet) {
            out.println(image + ": " + report.summary());
        }
        out.flush();
        return report.clean() ? 0 : Main.EXIT_FAILURE;
    }
}
