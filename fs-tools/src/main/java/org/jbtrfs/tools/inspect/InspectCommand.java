package org.jbtrfs.tools.inspect;

import org.jbtrfs.tools.Main;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code jbtrfs inspect}: the low-level views of an image that btrfs-progs groups under
 * {@code btrfs inspect-internal}. Their output follows btrfs-progs 6.2 line by line, so that
 * when jbtrfs and the kernel disagree about an image the two dumps can simply be diffed; the
 * printers ({@link ItemPrinter}, {@link ProgsFormat}) are public for the other tools that print
 * items (check, send) to share.
 */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = "Low-level views of a btrfs image (like 'btrfs inspect-internal').",
        subcommands = {DumpSuperCommand.class, DumpTreeCommand.class})
public final class InspectCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing command: dump-super or dump-tree");
    }

    /** The first line of a dump, where progs prints its own version ("btrfs-progs v6.2"). */
    static String versionLine() {
        Command c = Main.class.getAnnotation(Command.class);
        return c != null && c.version().length > 0 ? c.version()[0] : "jbtrfs";
    }
}
