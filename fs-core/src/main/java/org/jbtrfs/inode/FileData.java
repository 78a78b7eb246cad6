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

    /** fallocate(2) mode 0 or FALLOC_FL_KEEP_SIZE: prealloc extents in the holes of the range. */
    void fallocate(TransHandle h, long root, long ino, long pos, long len, boolean keepSize, Timespec now)
            throws IOException;

    /** fallocate(FALLOC_FL_ZERO_RANGE [| KEEP_SIZE]): the range reads as zeros, mostly as prealloc extents. */
    void zeroRange(TransHandle h, long root, long ino, long pos, long len, boolean keepSize, Timespec now)
            throws IOException;
}
