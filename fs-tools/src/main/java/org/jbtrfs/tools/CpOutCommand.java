package org.jbtrfs.tools;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.jbtrfs.Attr;
import org.jbtrfs.DirEntry;
import org.jbtrfs.Filesystem;
import org.jbtrfs.InodeId;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code jbtrfs cp-out IMG PATH DEST}: copies a file or a whole tree out of an image the way
 * {@code cp -a} copies: DEST that does not exist becomes the copy of PATH; an existing directory
 * DEST receives PATH under its own name (or, for the image root, its contents). Modes (with
 * setuid, setgid, sticky), owners (when run as root), times with nanoseconds, symlinks, hard links,
 * device nodes, fifos and xattrs of every namespace are kept; runs of zero bytes are left as holes
 * so that sparse files stay sparse.
 *
 * <p>Metadata is applied after contents (owner before mode, since chown clears setuid; times last),
 * and a directory's after its children, so that copying into it is not blocked by its own mode.
 */
@Command(name = "cp-out", mixinStandardHelpOptions = true,
        description = "Copy a file or directory tree out of a btrfs image, like cp -a.")
final class CpOutCommand implements Callable<Integer> {
    static final int CHUNK_BYTES = 1 << 20;

    @Parameters(index = "0", paramLabel = "IMG", description = "The btrfs image.")
    Path image;

    @Parameters(index = "1", paramLabel = "PATH", description = "File or directory inside the image.")
    String path;

    @Parameters(index = "2", paramLabel = "DEST", description = "Destination on the host.")
    Path dest;

    @Mixin
    ImageOptions imageOptions;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    private Filesystem fs;
    private final Map<InodeId, Path> hardLinks = new HashMap<>();
    private final boolean asRoot = "root".equals(System.getProperty("user.name"));
    private int warnings;

    @Override
    public Integer call() throws Exception {
        try (Filesystem f = imageOptions.open(image)) {
            fs = f;
            InodeId src = fs.resolve(path);
            Attr a = fs.getattr(src);
            Path target = dest;
            if (Files.isDirectory(dest)) {
                if (src.equals(fs.root())) {
                    copyChildren(src, dest);
                    applyMetadata(a, dest);
                    return warnings == 0 ? 0 : 1;
                }
                target = dest.resolve(baseName(path));
            } else if (Files.exists(dest, LinkOption.NOFOLLOW_LINKS) && a.isDirectory()) {
                throw new IOException(dest + ": exists and is not a directory");
            }
            copy(src, a, target);
        }
        return warnings == 0 ? 0 : 1;
    }

    private static String baseName(String p) {
        String t = p.replaceAll("/+$", "");
        return t.substring(t.lastIndexOf('/') + 1);
    }

    private void copy(InodeId id, Attr a, Path to) throws IOException {
        if (!a.isDirectory() && a.nlink() > 1) {
            Path first = hardLinks.get(id);
            if (first != null) {
                Files.deleteIfExists(to);
                Files.createLink(to, first);
                return;
            }
            hardLinks.put(id, to);
        }
        int type = a.mode() & Attr.S_IFMT;
        switch (type) {
            case Attr.S_IFDIR -> {
                if (!Files.isDirectory(to, LinkOption.NOFOLLOW_LINKS)) {
                    Files.createDirectory(to);
                }
                copyChildren(id, to);
            }
            case Attr.S_IFREG -> copyFile(id, a, to);
            case Attr.S_IFLNK -> {
                Files.deleteIfExists(to);
                Files.createSymbolicLink(to, Path.of(new String(fs.readlink(id), StandardCharsets.UTF_8)));
            }
            default -> {
                Files.deleteIfExists(to);
                if (PosixLibc.get().mknod(to.toString(), a.mode(), a.rdev()) != 0) {
                    warn(to, "mknod", PosixLibc.lastError());
                    return;
                }
            }
        }
        applyMetadata(a, to);
    }

    private void copyChildren(InodeId dir, Path to) throws IOException {
        List<DirEntry> entries = fs.list(dir);
        for (DirEntry e : entries) {
            copy(e.target(), fs.getattr(e.target()), to.resolve(e.name()));
        }
    }

    /** Copies contents, leaving all-zero chunks as holes (cp --sparse=auto). */
    private void copyFile(InodeId id, Attr a, Path to) throws IOException {
        byte[] buf = new byte[(int) Math.min(CHUNK_BYTES, Math.max(4096, a.size()))];
        try (FileChannel ch = FileChannel.open(to, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            long pos = 0;
            while (true) {
                int n = fs.read(id, pos, buf, 0, buf.length);
                if (n <= 0) {
                    break;
                }
                if (!allZero(buf, n)) {
                    ByteBuffer bb = ByteBuffer.wrap(buf, 0, n);
                    long p = pos;
                    while (bb.hasRemaining()) {
                        p += ch.write(bb, p);
                    }
                }
                pos += n;
            }
            ch.truncate(a.size());
            if (ch.size() < a.size()) {
                // truncate never grows a file: write the last byte to give it its size, as a hole before it.
                ch.write(ByteBuffer.wrap(new byte[1]), a.size() - 1);
            }
        }
    }

    private static boolean allZero(byte[] b, int n) {
        for (int i = 0; i < n; i++) {
            if (b[i] != 0) {
                return false;
            }
        }
        return true;
    }

    private void applyMetadata(Attr a, Path to) throws IOException {
        PosixLibc.Lib libc = PosixLibc.get();
        String p = to.toString();
        for (byte[] name : fs.listxattr(a.id())) {
            byte[] value = fs.getxattr(a.id(), name);
            String n = new String(name, StandardCharsets.UTF_8);
            if (libc.lsetxattr(p, n, value, value.length, 0) != 0) {
                warn(to, "setxattr " + n, PosixLibc.lastError());
            }
        }
        if (asRoot && libc.lchown(p, a.uid(), a.gid()) != 0) {
            warn(to, "chown", PosixLibc.lastError());
        }
        if (!a.isSymlink() && libc.chmod(p, a.permissions()) != 0) {
            warn(to, "chmod", PosixLibc.lastError());
        }
        long[] times = {a.atime().sec(), a.atime().nsec(), a.mtime().sec(), a.mtime().nsec()};
        if (libc.utimensat(PosixLibc.AT_FDCWD, p, times, PosixLibc.AT_SYMLINK_NOFOLLOW) != 0) {
            warn(to, "set times", PosixLibc.lastError());
        }
    }

    private void warn(Path to, String what, String error) {
        warnings++;
        PrintWriter err = spec.commandLine().getErr();
        err.println("jbtrfs: cp-out: " + to + ": cannot " + what + ": " + error);
    }
}
