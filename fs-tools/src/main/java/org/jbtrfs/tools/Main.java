package org.jbtrfs.tools;

import java.io.IOException;
import java.io.PrintWriter;
import java.util.logging.Level;
import java.util.logging.Logger;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code jbtrfs} command line. Every failure ends as one line on stderr starting with
 * {@code jbtrfs:} and a non-zero exit status: 1 for a refused or failed operation (bad image,
 * missing file, I/O error), 2 for a bad command line. A stack trace is printed only when
 * JBTRFS_DEBUG is set, since it helps developers and confuses users.
 */
@Command(name = "jbtrfs", mixinStandardHelpOptions = true, version = "jbtrfs 0.1.0",
        description = "A btrfs filesystem engine in Java: make, mount, inspect, list, read, copy in and copy out btrfs images.",
        subcommands = {LsCommand.class, CatCommand.class, CpOutCommand.class, CpInCommand.class,
            org.jbtrfs.tools.inspect.InspectCommand.class, CheckCommand.class, MkfsCommand.class, FilesystemCommand.class,
            MountCommand.class, UmountCommand.class})
public final class Main implements Runnable {
    public static final int EXIT_FAILURE = 1;
    public static final int EXIT_USAGE = 2;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing command");
    }

    public static void main(String[] args) {
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs a command line with the given streams and returns the exit status (for tests). */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        Logger.getLogger("org.jbtrfs").setLevel(System.getenv("JBTRFS_DEBUG") != null ? Level.ALL : Level.SEVERE);
        CommandLine cl = new CommandLine(new Main());
        cl.setOut(out);
        cl.setErr(err);
        cl.setParameterExceptionHandler((ex, a) -> {
            err.println("jbtrfs: " + ex.getMessage().replace('\n', ' ') + " (see 'jbtrfs "
                    + subcommandPath(ex.getCommandLine()) + "--help')");
            return EXIT_USAGE;
        });
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            err.println("jbtrfs: " + describe(ex));
            if (System.getenv("JBTRFS_DEBUG") != null) {
                ex.printStackTrace(err);
            }
            return ex instanceof IllegalArgumentException ? EXIT_USAGE : EXIT_FAILURE;
        });
        try {
            return cl.execute(args);
        } catch (OutOfMemoryError e) {
            err.println("jbtrfs: out of memory; raise the heap with JBTRFS_HEAP (e.g. JBTRFS_HEAP=4g)");
            return EXIT_FAILURE;
        } finally {
            out.flush();
            err.flush();
        }
    }

    private static String subcommandPath(CommandLine cl) {
        StringBuilder sb = new StringBuilder();
        for (CommandLine c = cl; c.getParent() != null; c = c.getParent()) {
            sb.insert(0, c.getCommandName() + " ");
        }
        return sb.toString();
    }

    /** One line for any failure: the message of an expected error, the type and message of a bug. */
    static String describe(Throwable ex) {
        if (ex instanceof IOException || ex instanceof IllegalArgumentException) {
            String m = ex.getMessage();
            return m != null ? m.replace('\n', ' ') : ex.getClass().getSimpleName();
        }
        if (ex instanceof StackOverflowError) {
            return "internal error: stack overflow (please report this with the image)";
        }
        return "internal error: " + ex + " (please report this; JBTRFS_DEBUG=1 shows the stack)";
    }
}
