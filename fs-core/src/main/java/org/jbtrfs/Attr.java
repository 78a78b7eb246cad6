package org.jbtrfs;

import org.jbtrfs.format.Timespec;

/**
 * What stat(2) shows of an inode, as btrfs_getattr() fills it. {@code blocks} is in 512-byte
 * units; {@code blksize} is the sector size; {@code ino} is the inode number within subvolume
 * {@code id.root()}.
 */
public record Attr(InodeId id, int mode, long nlink, int uid, int gid, long rdev, long size, long blocks,
        int blksize, Timespec atime, Timespec mtime, Timespec ctime, Timespec otime, long generation, long flags) {
    public static final int S_IFMT = 0170000;
    public static final int S_IFSOCK = 0140000;
    public static final int S_IFLNK = 0120000;
    public static final int S_IFREG = 0100000;
    public static final int S_IFBLK = 0060000;
    public static final int S_IFDIR = 0040000;
    public static final int S_IFCHR = 0020000;
    public static final int S_IFIFO = 0010000;

    public long ino() {
        return id.ino();
    }

    public boolean isDirectory() {
        return (mode & S_IFMT) == S_IFDIR;
    }

    public boolean isRegular() {
        return (mode & S_IFMT) == S_IFREG;
    }

    public boolean isSymlink() {
        return (mode & S_IFMT) == S_IFLNK;
    }

    /** Permission bits with setuid, setgid and sticky. */
    public int permissions() {
        return mode & 07777;
    }
}
