package org.jbtrfs;

import java.io.IOException;

/**
 * An operation failed with a POSIX error: the caller asked for something the filesystem refuses
 * (ENOENT, ENOTDIR, ENAMETOOLONG, EROFS, ...). Distinct from {@link CorruptImageException}, which
 * says the image is damaged (and maps to EIO).
 */
public class FsException extends IOException {
    private static final long serialVersionUID = 1L;
    private final Errno errno;

    public FsException(Errno errno, String message) {
        super(message + " (" + errno.name() + ")");
        this.errno = errno;
    }

    public Errno errno() {
        return errno;
    }

    /** The errno any IOException maps to: its own for FsException, EIO otherwise. */
    public static Errno errnoOf(IOException e) {
        return e instanceof FsException f ? f.errno() : Errno.EIO;
    }
}
