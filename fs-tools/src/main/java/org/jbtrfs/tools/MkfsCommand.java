package org.jbtrfs.tools;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.jbtrfs.format.BlockGroupItem;
import org.jbtrfs.format.CsumType;
import org.jbtrfs.format.Le;
import org.jbtrfs.format.Superblock;
import org.jbtrfs.format.Uuids;
import org.jbtrfs.mkfs.Mkfs;
import org.jbtrfs.mkfs.MkfsLayout;
import org.jbtrfs.mkfs.MkfsOptions;
import org.jbtrfs.Filesystem;
import org.jbtrfs.OpenOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code jbtrfs mkfs IMG --size SIZE [--label L] [--nodesize N] [--csum NAME] [--metadata PROFILE]
 * [--rootdir DIR] [--force]}: makes an empty btrfs filesystem with mkfs.btrfs 6.2 defaults ({@link Mkfs}) and prints
 * the summary mkfs.btrfs prints. A missing image file is created; a smaller one grows to SIZE; a
 * larger one (or a device) keeps its size. An image that already holds a btrfs filesystem is kept
 * unless {@code --force} is given, as mkfs.btrfs does.
 *
 * <p>The command runs in two steps, {@link #makeFilesystem} then {@link #populate}: filling the new
 * filesystem from a directory ({@code --rootdir}) is one more option and a call in
 * {@code populate}.
 */
@Command(name = "mkfs", mixinStandardHelpOptions = true,
        description = "Make a new btrfs filesystem in an image file (like mkfs.btrfs).")
final class MkfsCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "IMG", description = "The image file (created when missing) or device.")
    Path image;

    @Option(names = {"-b", "--size"}, paramLabel = "SIZE",
            description = "Filesystem size in bytes, or with a K, M, G or T suffix (binary units); default: the whole"
                    + " existing file.")
    String size;

    @Option(names = {"-L", "--label"}, paramLabel = "LABEL", description = "Filesystem label (at most 255 bytes).")
    String label = "";

    @Option(names = {"-n", "--nodesize"}, paramLabel = "N",
            description = "Tree block size: a power of two from 4K to 64K (default 16K).")
    String nodesize = "16K";

    @Option(names = "--csum", paramLabel = "NAME", description = "Checksum: crc32c (default), xxhash, sha256 or blake2.")
    String csum = "crc32c";

    @Option(names = {"-m", "--metadata"}, paramLabel = "PROFILE",
            description = "Metadata (and system) profile: dup (default) or single.")
    String metadata = "dup";

    @Option(names = {"-r", "--rootdir"}, paramLabel = "DIR",
            description = "Copy the contents of DIR into the new filesystem (modes, owners, times, links, xattrs;"
                    + " sparse files stay sparse).")
    Path rootdir;

    @Option(names = {"-f", "--force"}, description = "Overwrite an existing btrfs filesystem.")
    boolean force;

    @Option(names = {"-q", "--quiet"}, description = "Print nothing on success.")
    boolean quiet;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        if (rootdir != null && !Files.isDirectory(rootdir)) {
            throw new IOException(rootdir + ": not a directory (--rootdir)");
        }
        Mkfs.Result made = makeFilesystem();
        CopyIn.Counts copied = populate(made);
        if (!quiet) {
            printSummary(spec.commandLine().getOut(), made, image);
            if (copied != null) {
                spec.commandLine().getOut().println("Rootdir:            " + rootdir + " (" + copied.files + " files, "
                        + copied.dirs + " directories, " + copied.bytes + " bytes)");
            }
        }
        return copied != null && copied.warnings > 0 ? 1 : 0;
    }

    Mkfs.Result makeFilesystem() throws IOException {
        MkfsOptions o = new MkfsOptions(size == null ? 0 : parseSize(size, "size"), label,
                (int) parseSize(nodesize, "node size"), MkfsOptions.DEFAULT_SECTORSIZE, parseCsum(csum),
                parseProfile(metadata), MkfsOptions.Profile.SINGLE, null, null);
        if (Files.isDirectory(image)) {
            throw new IOException(image + ": is a directory");
        }
        if (size == null && !Files.exists(image)) {
            throw new IllegalArgumentException(image + " does not exist; give its size with --size");
        }
        if (!force && holdsBtrfs(image)) {
            throw new IOException(image + " already holds a btrfs filesystem; use --force to overwrite it");
        }
        return Mkfs.format(image, o);
    }

    /**
     * After formatting, {@code --rootdir}: the new filesystem is opened for writing and the
     * directory's contents copied in (its own modes, owner and times go to the top directory), as
     * cp-in copies; returns what was copied, or null without --rootdir.
     */
    CopyIn.Counts populate(Mkfs.Result made) throws IOException {
        if (rootdir == null) {
            return null;
        }
        OpenOptions o = new OpenOptions(false, OpenOptions.DEFAULT_CACHE_LIMIT_BYTES, false);
        try (Filesystem fs = Filesystem.open(image, o)) {
            return CopySession.copyContents(fs, image, spec.commandLine().getErr(), rootdir, fs.root());
        }
    }

    private static boolean holdsBtrfs(Path image) throws IOException {
        if (!Files.isRegularFile(image) || Files.size(image) < Superblock.MIRROR_OFFSETS[0] + Superblock.SIZE) {
            return false;
        }
        byte[] b = new byte[Superblock.SIZE];
        try (var ch = java.nio.channels.FileChannel.open(image)) {
            ch.read(java.nio.ByteBuffer.wrap(b), Superblock.MIRROR_OFFSETS[0]);
        }
        return new Superblock(b).magic() == Superblock.MAGIC;
    }

    /** Bytes, with an optional K, M, G or T suffix (powers of 1024), as mkfs.btrfs parses sizes. */
    static long parseSize(String s, String what) {
        String t = s.trim().toUpperCase(Locale.ROOT);
        if (t.endsWith("IB")) {
            t = t.substring(0, t.length() - 2);
        } else if (t.endsWith("B") && t.length() > 1 && !Character.isDigit(t.charAt(t.length() - 2))) {
            t = t.substring(0, t.length() - 1);
        }
        int shift = 0;
        if (!t.isEmpty()) {
            switch (t.charAt(t.length() - 1)) {
                case 'K' -> shift = 10;
                case 'M' -> shift = 20;
                case 'G' -> shift = 30;
                case 'T' -> shift = 40;
                default -> shift = 0;
            }
        }
        String digits = shift == 0 ? t : t.substring(0, t.length() - 1);
        long v;
        try {
            v = Long.parseLong(digits);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("invalid " + what + " '" + s + "': expected a number with an optional"
                    + " K, M, G or T suffix");
        }
        if (v <= 0 || v > (Long.MAX_VALUE >> shift)) {
            throw new IllegalArgumentException("invalid " + what + " '" + s + "': out of range");
        }
        return v << shift;
    }

    static CsumType parseCsum(String s) {
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "crc32c" -> CsumType.CRC32C;
            case "xxhash", "xxhash64" -> CsumType.XXHASH64;
            case "sha256" -> CsumType.SHA256;
            case "blake2", "blake2b" -> CsumType.BLAKE2B;
            default -> throw new IllegalArgumentException("unknown checksum '" + s + "': use crc32c, xxhash, sha256 or blake2");
        };
    }

    static MkfsOptions.Profile parseProfile(String s) {
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "dup" -> MkfsOptions.Profile.DUP;
            case "single" -> MkfsOptions.Profile.SINGLE;
            default -> throw new IllegalArgumentException("unknown metadata profile '" + s + "': use dup or single");
        };
    }

    /** The summary mkfs.btrfs 6.2 prints, minus what does not apply (SSD and zoned detection). */
    static void printSummary(PrintWriter out, Mkfs.Result r, Path image) {
        MkfsOptions o = r.options();
        out.printf("Label:              %s%n", o.label().isEmpty() ? "(null)" : o.label());
        out.printf("UUID:               %s%n", Uuids.toString(r.fsid()));
        out.printf("Node size:          %d%n", o.nodesize());
        out.printf("Sector size:        %d%n", o.sectorsize());
        out.printf("Filesystem size:    %s%n", prettySize(r.totalBytes()));
        out.println("Block group profiles:");
        profileLine(out, "Data:", r.layout().chunk(BlockGroupItem.DATA), o.dataProfile());
        profileLine(out, "Metadata:", r.layout().chunk(BlockGroupItem.METADATA), o.metadataProfile());
        profileLine(out, "System:", r.layout().chunk(BlockGroupItem.SYSTEM), o.metadataProfile());
        // As progs names Mkfs.INCOMPAT_FLAGS (mixed-backref goes unmentioned) and COMPAT_RO_FLAGS.
        out.printf("Incompat features:  %s%n", "extref, skinny-metadata, no-holes");
        out.printf("Runtime features:   %s%n", "free-space-tree");
        out.printf("Checksum:           %s%n", o.csumType().displayName());
        out.println("Number of devices:  1");
        out.println("Devices:");
        out.println("   ID        SIZE  PATH");
        out.printf("  %3d  %10s  %s%n", 1, prettySize(r.totalBytes()), image);
        out.flush();
    }

    private static void profileLine(PrintWriter out, String name, MkfsLayout.Chunk c, MkfsOptions.Profile p) {
        out.printf("  %-18s%-8s %16s%n", name, p.displayName(), prettySize(c.length()));
    }

    /** pretty_size() of btrfs-progs: two decimals and a binary unit. */
    static String prettySize(long bytes) {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
        int u = 0;
        double v = bytes;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return u == 0 ? Le.u64s(bytes) + "B" : String.format(Locale.ROOT, "%.2f%s", v, units[u]);
    }
}
