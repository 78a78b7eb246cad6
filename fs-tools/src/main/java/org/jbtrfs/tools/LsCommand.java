package org.jbtrfs.tools;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.jbtrfs.Attr;
import org.jbtrfs.DirEntry;
import org.jbtrfs.Filesystem;
import org.jbtrfs.InodeId;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code jbtrfs ls IMG [PATH]}: lists a directory of the image (or one file) the way
 * {@code ls -l} does, one entry per line: mode, links, owner, group, size, mtime (UTC), name, and
 * for a symlink its target.
 */
@Command(name = "ls", mixinStandardHelpOptions = true, description = "List a directory (or file) in a btrfs image.")
final class LsCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "IMG", description = "The btrfs image.")
    Path image;

    @Parameters(index = "1", paramLabel = "PATH", defaultValue = "/", description = "Path inside the image (default /).")
    String path;

    @Option(names = {"-i", "--inode"}, description = "Show inode numbers (subvolume:inode).")
    boolean showInode;

    @Option(names = {"-d", "--directory"}, description = "List a directory itself, not its entries.")
    boolean directoryItself;

    @Mixin
    ImageOptions imageOptions;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        try (Filesystem fs = imageOptions.open(image)) {
            InodeId id = fs.resolve(path);
            Attr a = fs.getattr(id);
            if (a.isDirectory() && !directoryItself) {
                for (DirEntry e : fs.list(id)) {
                    print(out, fs, fs.getattr(e.target()), e.name());
                }
            } else {
                print(out, fs, a, path);
            }
        }
        return 0;
    }

    private void print(PrintWriter out, Filesystem fs, Attr a, String name) throws java.io.IOException {
        StringBuilder sb = new StringBuilder();
        if (showInode) {
            sb.append(a.id()).append(' ');
        }
        sb.append(Modes.modeString(a.mode())).append(' ').append(a.nlink()).append(' ')
                .append(Integer.toUnsignedString(a.uid())).append(' ').append(Integer.toUnsignedString(a.gid())).append(' ');
        int type = a.mode() & Attr.S_IFMT;
        if (type == Attr.S_IFCHR || type == Attr.S_IFBLK) {
            sb.append(major(a.rdev())).append(", ").append(minor(a.rdev()));
        } else {
            sb.append(Long.toUnsignedString(a.size()));
        }
        sb.append(' ').append(Modes.time(a.mtime())).append(' ').append(name);
        if (a.isSymlink()) {
            sb.append(" -> ").append(new String(fs.readlink(a.id()), StandardCharsets.UTF_8));
        }
        out.println(sb);
    }

    /** Linux's new_decode_dev: {@link org.jbtrfs.Attr#rdev()} is in the encoding stat(2) shows. */
    static long major(long rdev) {
        return (rdev & 0xfff00) >>> 8;
    }

    static long minor(long rdev) {
        return (rdev & 0xff) | ((rdev >>> 12) & 0xfff00);
    }
}
