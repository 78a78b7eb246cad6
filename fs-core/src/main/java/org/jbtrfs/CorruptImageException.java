package org.jbtrfs;

import java.io.IOException;

/**
 * Bytes read from the image do not make sense: a bad checksum, a field out of range, keys out of
 * order, a compressed stream that does not decode. The message names where (bytenr, mirror, slot,
 * inode) and what was found against what was expected, the way the kernel's tree-checker reports,
 * so that one line is enough for a user to know what is wrong and where.
 *
 * <p>It is an {@link IOException} because callers above the engine treat it like any other
 * failure to read: the FUSE layer turns it into EIO, the command line into a one-line error.
 */
public class CorruptImageException extends IOException {
    private static final long serialVersionUID = 1L;

    public CorruptImageException(String message) {
        super(message);
    }

    public CorruptImageException(String message, Throwable cause) {
        super(message, cause);
    }
}
