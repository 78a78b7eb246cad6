package org.jbtrfs.tools.inspect;

import java.io.EOFException;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.jbtrfs.format.Superblock;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code jbtrfs inspect dump-super IMG}: prints the superblock in the format of btrfs-progs 6.2
 * {@code btrfs inspect-internal dump-super}. It reads the raw 4 KiB copies itself rather than
 * opening the filesystem, so that it works on exactly the images nothing else can open: a bad
 * checksum is shown as {@code [DON'T MATCH]}, not refused. Only a copy without the btrfs magic is
 * refused, unless {@code --force}, because then the bytes are most likely not a superblock at all.
 */
@Command(name = "dump-super", mixinStandardHelpOptions = true,
        description = "Print the superblock of a btrfs image like 'btrfs inspect-internal dump-super'.")
public final class DumpSuperCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "IMG", description = "The btrfs image.")
    Path image;

    @Option(names = {"-f", "--full"}, description = "Also print the sys_chunk_array and the backup roots.")
    boolean full;

    @Option(names = {"-a", "--all"}, description = "Print every superblock copy that fits on the device.")
    boolean all;

    @Option(names = {"-s", "--super"}, paramLabel = "N", description = "Print copy N (0, 1 or 2) instead of the primary.")
    Integer mirror;

    @Option(names = "--bytenr", paramLabel = "OFFSET", description = "Print the superblock at this byte offset.")
    Long bytenr;

    @Option(names = {"-F", "--force"}, description = "Print a copy even if its magic is wrong.")
    boolean force;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        List<Long> offsets = offsets();
        PrintWriter out = spec.commandLine().getOut();
        List<String> problems = new ArrayList<>();
        try (FileChannel ch = open()) {
            long size = ch.size();
            for (long off : offsets) {
                if (off + Superblock.SIZE > size) {
                    if (!all) {
                        throw new IOException(image + ": " + size + " bytes is too small to hold a superblock at " + off
                                + "; not a btrfs image, or truncated");
                    }
                    out.print('\n'); // as progs: -a shows the copies that fit, and a blank line for each one that does not
                    continue;
                }
                String problem = dumpOne(ch, off, out);
                if (problem != null) {
                    problems.add(problem);
                }
            }
        }
        out.flush();
        if (!problems.isEmpty()) {
            throw new IOException(problems.get(0) + (problems.size() > 1 ? " (and " + (problems.size() - 1) + " more)" : ""));
        }
        return 0;
    }

    private List<Long> offsets() {
        int chosen = (mirror != null ? 1 : 0) + (bytenr != null ? 1 : 0) + (all ? 1 : 0);
        if (chosen > 1) {
            throw new IllegalArgumentException("--all, --super and --bytenr exclude each other");
        }
        if (bytenr != null) {
            if (bytenr < 0) {
                throw new IllegalArgumentException("--bytenr must not be negative");
            }
            return List.of(bytenr);
        }
        if (mirror != null) {
            if (mirror < 0 || mirror >= Superblock.MIRROR_OFFSETS.length) {
                throw new IllegalArgumentException("--super must be 0, 1 or 2, not " + mirror);
            }
            return List.of(Superblock.MIRROR_OFFSETS[mirror]);
        }
        if (all) {
            List<Long> out = new ArrayList<>();
            for (long off : Superblock.MIRROR_OFFSETS) {
                out.add(off);
            }
            return out;
        }
        return List.of(Superblock.MIRROR_OFFSETS[0]);
    }

    private FileChannel open() throws IOException {
        if (Files.isDirectory(image)) {
            throw new IOException(image + ": is a directory, not an image");
        }
        try {
            return FileChannel.open(image, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new IOException(image + ": no such file");
        }
    }

    /** Prints one copy; returns why it could not be printed (bad magic, bad sys_chunk_array), or null. */
    private String dumpOne(FileChannel ch, long off, PrintWriter out) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(Superblock.SIZE);
        while (buf.hasRemaining()) {
            if (ch.read(buf, off + buf.position()) < 0) {
                throw new EOFException(image + ": short read of the superblock at " + off);
            }
        }
        Superblock sb = new Superblock(buf.array());
        StringBuilder s = new StringBuilder(8192);
        s.append("superblock: bytenr=").append(off).append(", device=").append(image).append('\n');
        s.append("---------------------------------------------------------\n");
        if (sb.magic() != Superblock.MAGIC && !force) {
            out.print(s);
            return "bad magic on superblock on " + image + " at " + off + " (use --force to dump it anyway)";
        }
        String problem = SuperPrinter.print(s, sb, full);
        s.append('\n');
        out.print(s);
        return problem != null ? image + ": superblock at " + off + ": " + problem : null;
    }
}
