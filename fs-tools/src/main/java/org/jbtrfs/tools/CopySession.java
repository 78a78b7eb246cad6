package org.jbtrfs.tools;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.jbtrfs.Errno;
import org.jbtrfs.Filesystem;
import org.jbtrfs.FsException;
import org.jbtrfs.InodeId;

/**
 * One copy into an image, as cp-in and mkfs --rootdir run it: a progress bar on a terminal (bytes
 * and files, sized by a first walk of the source), commits every {@link #COMMIT_BYTES} of data so
 * that running out of space loses little, a final commit, and out of space a clear ENOSPC error
 * saying what the image still holds.
 */
final class CopySession {
    /** Data copied between commits: what a failure can lose at most. */
    static final long COMMIT_BYTES = 256L << 20;

    private CopySession() {
    }

    /** Copies {@code src} to {@code name} in {@code dir}. */
    static CopyIn.Counts copy(Filesystem fs, Path image, PrintWriter err, Path src, InodeId dir, byte[] name)
            throws IOException {
        return run(fs, image, err, src, c -> c.copy(src, dir, name));
    }

    /** Copies the entries of host directory {@code src} into image directory {@code dir} (mkfs --rootdir). */
    static CopyIn.Counts copyContents(Filesystem fs, Path image, PrintWriter err, Path src, InodeId dir) throws IOException {
        return run(fs, image, err, src, c -> c.copyContents(src, dir));
    }

    private interface Work {
        void run(CopyIn c) throws IOException;
    }

    private static CopyIn.Counts run(Filesystem fs, Path image, PrintWriter err, Path src, Work work) throws IOException {
        boolean terminal = System.console() != null;
        ProgressBar bar = terminal ? new ProgressBarBuilder().setTaskName("copying").setStyle(ProgressBarStyle.ASCII)
                .setInitialMax(totalBytes(src)).setUnit(" MiB", 1 << 20).showSpeed().build() : null;
        long[] lastCommit = {0};
        CopyIn[] holder = new CopyIn[1];
        Runnable progress = () -> {
            CopyIn.Counts c = holder[0].counts();
            if (bar != null) {
                bar.stepTo(c.bytes);
                bar.setExtraMessage(c.files + " files");
            }
            if (c.bytes - lastCommit[0] >= COMMIT_BYTES) {
                lastCommit[0] = c.bytes;
                try {
                    fs.sync();
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }
        };
        CopyIn copy = new CopyIn(fs, err, progress);
        holder[0] = copy;
        try {
            work.run(copy);
            fs.sync();
        } catch (java.io.UncheckedIOException e) {
            throw explain(image, copy, e.getCause());
        } catch (FsException e) {
            throw explain(image, copy, e);
        } finally {
            if (bar != null) {
                bar.close();
            }
        }
        return copy.counts();
    }

    private static IOException explain(Path image, CopyIn copy, IOException e) {
        if (e instanceof FsException fe && fe.errno() == Errno.ENOSPC) {
            CopyIn.Counts c = copy.counts();
            return new FsException(Errno.ENOSPC, image + ": no space left on the filesystem after " + c.files + " files ("
                    + c.bytes + " bytes); the image keeps everything committed before: " + fe.getMessage());
        }
        return e;
    }

    /** The bytes a copy of {@code src} will write (regular files' sizes), for the progress bar. */
    private static long totalBytes(Path src) {
        long[] n = {0};
        try {
            Files.walkFileTree(src, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                    if (attrs.isRegularFile()) {
                        n[0] += attrs.size();
                    }
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFileFailed(Path file, IOException exc) {
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            // Only the progress bar's scale suffers.
        }
        return n[0];
    }
}
