package org.jbtrfs.tools;

import java.io.OutputStream;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.jbtrfs.Attr;
import org.jbtrfs.Errno;
import org.jbtrfs.Filesystem;
import org.jbtrfs.FsException;
import org.jbtrfs.InodeId;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** {@code jbtrfs cat IMG PATH}: writes a file of the image to standard output (symlinks followed). */
@Command(name = "cat", mixinStandardHelpOptions = true, description = "Write a file from a btrfs image to stdout.")
final class CatCommand implements Callable<Integer> {
    /** Read size: what the kernel's readahead would ask for, and a whole compressed extent. */
    static final int CHUNK_BYTES = 1 << 20;

    @Parameters(index = "0", paramLabel = "IMG", description = "The btrfs image.")
    Path image;

    @Parameters(index = "1", paramLabel = "PATH", description = "File inside the image.")
    String path;

    @Mixin
    ImageOptions imageOptions;

    /** Where the bytes go; stdout unless a test sets it. */
    OutputStream sink = System.out;

    @Override
    public Integer call() throws Exception {
        try (Filesystem fs = imageOptions.open(image)) {
            InodeId id = fs.resolve(path, true);
            Attr a = fs.getattr(id);
            if (a.isDirectory()) {
                throw new FsException(Errno.EISDIR, path + ": is a directory");
            }
            byte[] buf = new byte[CHUNK_BYTES];
            long pos = 0;
            while (true) {
                int n = fs.read(id, pos, buf, 0, buf.length);
                if (n <= 0) {
                    break;
                }
                sink.write(buf, 0, n);
                pos += n;
            }
            sink.flush();
        }
        return 0;
    }
}
