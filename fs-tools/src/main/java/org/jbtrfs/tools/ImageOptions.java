package org.jbtrfs.tools;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.jbtrfs.Filesystem;
import org.jbtrfs.OpenOptions;
import picocli.CommandLine.Option;

/** Options shared by commands that read an image. */
public final class ImageOptions {
    @Option(names = "--verify-data", description = "Verify data checksums on every read.")
    boolean verifyData;

    @Option(names = "--cache-mb", description = "Extent buffer cache limit in MiB (default ${DEFAULT-VALUE}).")
    long cacheMb = OpenOptions.DEFAULT_CACHE_LIMIT_BYTES >> 20;

    /** Opens the image read-only, with a clear error for a path that is not a readable file. */
    public Filesystem open(Path image) throws IOException {
        return open(image, true);
    }

    /** Opens the image for writing (cp-in, mkfs --rootdir). */
    public Filesystem openWritable(Path image) throws IOException {
        return open(image, false);
    }

    private Filesystem open(Path image, boolean readOnly) throws IOException {
        if (!Files.exists(image)) {
            throw new IOException(image + ": no such file");
        }
        if (Files.isDirectory(image)) {
            throw new IOException(image + ": is a directory, not an image");
        }
        if (cacheMb < 1 || cacheMb > (1L << 20)) {
            throw new IllegalArgumentException("--cache-mb must be between 1 and 1048576");
        }
        OpenOptions o = new OpenOptions(readOnly, OpenOptions.DEFAULT_CACHE_LIMIT_BYTES, verifyData)
                .withCacheLimitBytes(Math.max(cacheMb << 20, org.jbtrfs.ctree.ExtentBufferCache.MIN_LIMIT_BYTES));
        return Filesystem.open(image, o);
    }
}
