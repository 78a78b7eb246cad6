package org.jbtrfs;

/**
 * The mode bits of fallocate(2) (include/uapi/linux/falloc.h) and the order in which Linux refuses
 * a mode before any filesystem code runs (vfs_fallocate in fs/open.c), then what btrfs_fallocate
 * accepts: {@code 0}, {@link #KEEP_SIZE}, {@link #PUNCH_HOLE} | {@link #KEEP_SIZE},
 * {@link #ZERO_RANGE} [| {@link #KEEP_SIZE}]. See {@link Filesystem#fallocate}.
 */
public final class Fallocate {
    /** FALLOC_FL_KEEP_SIZE: allocate, but leave i_size as it is. */
    public static final int KEEP_SIZE = 0x01;
    /** FALLOC_FL_PUNCH_HOLE: deallocate the range; needs KEEP_SIZE. */
    public static final int PUNCH_HOLE = 0x02;
    /** FALLOC_FL_NO_HIDE_STALE: reserved, refused by every filesystem. */
    public static final int NO_HIDE_STALE = 0x04;
    /** FALLOC_FL_COLLAPSE_RANGE: not supported by btrfs. */
    public static final int COLLAPSE_RANGE = 0x08;
    /** FALLOC_FL_ZERO_RANGE: the range reads as zeros (btrfs: preallocated). */
    public static final int ZERO_RANGE = 0x10;
    /** FALLOC_FL_INSERT_RANGE: not supported by btrfs. */
    public static final int INSERT_RANGE = 0x20;
    /** FALLOC_FL_UNSHARE_RANGE: not supported by btrfs. */
    public static final int UNSHARE_RANGE = 0x40;
    /** FALLOC_FL_SUPPORTED_MASK: the bits the VFS knows; others are EOPNOTSUPP. */
    public static final int VFS_MASK = KEEP_SIZE | PUNCH_HOLE | NO_HIDE_STALE | COLLAPSE_RANGE | ZERO_RANGE
            | INSERT_RANGE | UNSHARE_RANGE;
    /** The bits btrfs_fallocate accepts. */
    public static final int BTRFS_MASK = KEEP_SIZE | PUNCH_HOLE | ZERO_RANGE;

    private Fallocate() {
    }

    /**
     * vfs_fallocate's checks of the arguments alone, in its order: EINVAL for {@code pos < 0} or
     * {@code len <= 0}; EOPNOTSUPP for unknown bits, PUNCH_HOLE with ZERO_RANGE, PUNCH_HOLE
     * without KEEP_SIZE; EINVAL for COLLAPSE_RANGE or INSERT_RANGE with another bit and for
     * UNSHARE_RANGE with anything but KEEP_SIZE.
     */
    static void checkArguments(int mode, long pos, long len) throws FsException {
        String what = "fallocate mode 0x" + Integer.toHexString(mode) + " " + pos + "+" + len;
        if (pos < 0 || len <= 0) {
            throw new FsException(Errno.EINVAL, what);
        }
        if ((mode & ~VFS_MASK) != 0 || (mode & (PUNCH_HOLE | ZERO_RANGE)) == (PUNCH_HOLE | ZERO_RANGE)
                || (mode & (PUNCH_HOLE | KEEP_SIZE)) == PUNCH_HOLE) {
            throw new FsException(Errno.EOPNOTSUPP, what);
        }
        if (((mode & COLLAPSE_RANGE) != 0 && mode != COLLAPSE_RANGE) || ((mode & INSERT_RANGE) != 0 && mode != INSERT_RANGE)
                || ((mode & UNSHARE_RANGE) != 0 && (mode & ~(UNSHARE_RANGE | KEEP_SIZE)) != 0)) {
            throw new FsException(Errno.EINVAL, what);
        }
    }

    /**
     * The checks on the file, after {@link #checkArguments} (vfs_fallocate, then btrfs_fallocate):
     * EPERM for an immutable file, or an append-only one unless the mode is 0 or KEEP_SIZE; ESPIPE
     * for a FIFO, EISDIR for a directory, ENODEV for anything else but a regular file (a device
     * node's fallocate would go to the device, which we are not); EFBIG when the range ends past
     * the largest file size; EOPNOTSUPP for what btrfs does not do.
     */
    static void checkFile(int mode, long pos, long len, Attr a, long maxFileBytes) throws FsException {
        String what = "fallocate mode 0x" + Integer.toHexString(mode) + " of " + a.id();
        long flags = a.flags();
        if ((flags & org.jbtrfs.format.InodeItem.FLAG_IMMUTABLE) != 0
                || ((flags & org.jbtrfs.format.InodeItem.FLAG_APPEND) != 0 && (mode & ~KEEP_SIZE) != 0)) {
            throw new FsException(Errno.EPERM, what);
        }
        int type = a.mode() & Attr.S_IFMT;
        if (type == Attr.S_IFIFO) {
            throw new FsException(Errno.ESPIPE, what);
        }
        if (type == Attr.S_IFDIR) {
            throw new FsException(Errno.EISDIR, what);
        }
        if (type != Attr.S_IFREG) {
            throw new FsException(Errno.ENODEV, what);
        }
        if (pos + len < 0 || pos + len > maxFileBytes) {
            throw new FsException(Errno.EFBIG, what + ": " + pos + "+" + len + " ends past the largest file size");
        }
        if ((mode & ~BTRFS_MASK) != 0) {
            throw new FsException(Errno.EOPNOTSUPP, what + ": btrfs does not support this mode");
        }
    }
}
