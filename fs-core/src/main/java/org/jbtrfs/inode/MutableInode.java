package org.jbtrfs.inode;

import org.jbtrfs.format.InodeItem;
import org.jbtrfs.format.Timespec;

/** An inode item being changed by one operation: the fields of {@link InodeItem}, settable. */
final class MutableInode {
    long generation;
    long transid;
    long size;
    long nbytes;
    long nlink;
    long uid;
    long gid;
    long mode;
    long rdev;
    long flags;
    long sequence;
    Timespec atime;
    Timespec ctime;
    Timespec mtime;
    Timespec otime;

    static MutableInode of(InodeItem i) {
        MutableInode m = new MutableInode();
        m.generation = i.generation();
        m.transid = i.transid();
        m.size = i.size();
        m.nbytes = i.nbytes();
        m.nlink = i.nlink();
        m.uid = i.uid();
        m.gid = i.gid();
        m.mode = i.mode();
        m.rdev = i.rdev();
        m.flags = i.flags();
        m.sequence = i.sequence();
        m.atime = i.atime();
        m.ctime = i.ctime();
        m.mtime = i.mtime();
        m.otime = i.otime();
        return m;
    }

    /** A change the kernel records: the transaction and the NFS change counter move on (inode_inc_iversion). */
    void touch(long transid) {
        this.transid = transid;
        this.sequence++;
    }

    InodeItem toItem() {
        // block_group is an unused hint; the kernel writes 0.
        return new InodeItem(generation, transid, size, nbytes, 0, nlink, uid, gid, mode, rdev, flags, sequence, atime,
                ctime, mtime, otime);
    }
}
