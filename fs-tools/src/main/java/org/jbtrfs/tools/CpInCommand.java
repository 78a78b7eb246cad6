package org.jbtrfs.tools;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.jbtrfs.Errno;
import org.jbtrfs.Filesystem;
import org.jbtrfs.FsException;
import org.jbtrfs.InodeId;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code jbtrfs cp-in IMG SRC DEST}: copies a host file or tree into an image, like {@code cp -a}:
 * a DEST that does not exist becomes the copy of SRC; an existing directory DEST receives SRC under
 * its own name; an existing regular file DEST is overwritten by a regular file SRC. Everything
 * copied is committed before the command returns. Out of space, the copy stops with ENOSPC and the
 * image keeps everything committed before (see {@link CopySession}).
 */
@Command(name = "cp-in", mixinStandardHelpOptions = true,
        description = "Copy a host file or directory tree into a btrfs image, like cp -a.")
final class CpInCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "IMG", description = "The btrfs image (written in place).")
    Path image;

    @Parameters(index = "1", paramLabel = "SRC", description = "File or directory on the host.")
    Path src;

    @Parameters(index = "2", paramLabel = "DEST", description = "Destination path inside the image.")
    String dest;

    @Mixin
    ImageOptions imageOptions;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (!Files.exists(src, LinkOption.NOFOLLOW_LINKS)) {
            throw new IOException(src + ": no such file or directory");
        }
        try (Filesystem fs = imageOptions.openWritable(image)) {
            InodeId dir;
            byte[] name;
            InodeId target = resolveOrNull(fs, dest);
            if (target != null && fs.getattr(target).isDirectory()) {
                dir = target;
                name = baseName(src);
            } else {
                String parent = dest.contains("/") ? dest.substring(0, dest.lastIndexOf('/')) : "";
                String last = dest.substring(dest.lastIndexOf('/') + 1);
                if (last.isEmpty()) {
                    throw new IOException(dest + ": no such directory in the image");
                }
                dir = fs.resolve(parent.isEmpty() ? "/" : parent, true);
                if (!fs.getattr(dir).isDirectory()) {
                    throw new FsException(Errno.ENOTDIR, (parent.isEmpty() ? "/" : parent) + " is not a directory in the image");
                }
                name = last.getBytes(StandardCharsets.UTF_8);
            }
            CopyIn.Counts c = CopySession.copy(fs, image, err, src, dir, name);
            out.println("cp-in: copied " + c.files + " files and " + c.dirs + " directories (" + c.bytes + " bytes) into "
                    + image + ":" + dest);
            return c.warnings == 0 ? 0 : 1;
        }
    }

    private static InodeId resolveOrNull(Filesystem fs, String path) throws IOException {
        try {
            return fs.resolve(path, true);
        } catch (FsException e) {
            if (e.errno() == Errno.ENOENT) {
                return null;
            }
            throw e;
        }
    }

    private static byte[] baseName(Path p) {
        Path f = p.toAbsolutePath().normalize().getFileName();
        if (f == null) {
            throw new IllegalArgumentException("cannot copy the host root directory by name; name a DEST that does not exist");
        }
        return f.toString().getBytes(StandardCharsets.UTF_8);
    }
}
