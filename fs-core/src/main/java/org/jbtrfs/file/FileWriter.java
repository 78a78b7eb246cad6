package org.jbtrfs.file;

import java.io.IOException;
import org.jbtrfs.Errno;
import org.jbtrfs.FsException;
import org.jbtrfs.format.Timespec;
import org.jbtrfs.inode.FileData;
import org.jbtrfs.transaction.FsTrees;
import org.jbtrfs.transaction.TransHandle;

/** Placeholder until the data write path lands on main (branch csum): replaced by it. */
public final class FileWriter implements FileData {
    private final FsTrees trees;

    public FileWriter(FsTrees trees) {
        this.trees = trees;
    }

    @Override
    public void write(TransHandle h, long root, long ino, long pos, byte[] buf, int off, int len, Timespec now)
            throws IOException {
        throw new FsException(Errno.EOPNOTSUPP, "file data writes are not merged yet");
    }

    @Override
    public void truncate(TransHandle h, long root, long ino, long newSize, Timespec now) throws IOException {
        throw new FsException(Errno.EOPNOTSUPP, "truncate is not merged yet");
    }

    @Override
    public void punchHole(TransHandle h, long root, long ino, long start, long len, Timespec now) throws IOException {
        throw new FsException(Errno.EOPNOTSUPP, "punch hole is not merged yet");
    }

    @Override
    public void dropAllExtents(TransHandle h, long root, long ino) throws IOException {
        org.jbtrfs.ctree.CowRoot r = trees.root(root);
        r.lock.writeLock().lock();
        try {
            java.util.List<org.jbtrfs.format.DiskKey> keys = new java.util.ArrayList<>();
            trees.reader().scan(r.current(), new org.jbtrfs.format.DiskKey(ino, org.jbtrfs.format.ItemType.EXTENT_DATA, 0),
                    new org.jbtrfs.format.DiskKey(ino, org.jbtrfs.format.ItemType.EXTENT_DATA, -1L), (k, b, o, l) -> {
                        if (!org.jbtrfs.format.FileExtentItem.decode(b, o, l).isInline()) {
                            throw new FsException(Errno.EOPNOTSUPP, "regular extents cannot be dropped before the merge");
                        }
                        keys.add(k);
                        return true;
                    });
            for (org.jbtrfs.format.DiskKey k : keys) {
                h.markChanged();
                trees.cow().deleteItem(h.transid(), r, k);
            }
        } finally {
            r.lock.writeLock().unlock();
        }
    }
}
