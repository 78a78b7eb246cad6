package org.jbtrfs.inode;

import java.io.IOException;
import org.jbtrfs.format.Timespec;
import org.jbtrfs.transaction.TransHandle;

/**
 * The file data write path as the filesystem calls it (implemented by {@code file.FileWriter}):
 * each call runs within the caller's handle; the caller serializes calls on one inode.
 */
public interface FileData extends Namespace.DataDropper {
    /** pwrite(2) into a regular file; updates size, nbytes, mtime and ctime. */
    void write(TransHandle h, long root, long ino, long pos, byte[] buf, int off, int len, Timespec now) throws IOException;

    /** truncate(2) to {@code newSize}, shrinking or growing. */
    void truncate(TransHandle h, long root, long ino, long newSize, Timespec now) throws IOException;

    /** fallocate(PUNCH_HOLE | KEEP_SIZE). */
    void punchHole(TransHandle h, long root, long ino, long start, long len, Timespec now) throws IOException;
}
