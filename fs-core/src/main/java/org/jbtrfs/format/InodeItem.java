package org.jbtrfs.format;

import org.jbtrfs.CorruptImageException;

/**
 * struct btrfs_inode_item (160 bytes), key (ino INODE_ITEM 0).
 *
 * <pre>
 * offset size field
 *      0    8 generation     transaction that created the inode
 *      8    8 transid        last transaction that changed it
 *     16    8 size           i_size
 *     24    8 nbytes         bytes of data extents (and inline data) the inode uses
 *     32    8 block_group    hint, unused
 *     40    4 nlink
 *     44    4 uid
 *     48    4 gid
 *     52    4 mode
 *     56    8 rdev
 *     64    8 flags          BTRFS_INODE_* (NODATASUM, NODATACOW, COMPRESS, ...)
 *     72    8 sequence       NFS change counter
 *     80   32 reserved[4]
 *    112   12 atime
 *    124   12 ctime
 *    136   12 mtime
 *    148   12 otime          creation time
 * </pre>
 */
public record InodeItem(long generation, long transid, long size, long nbytes, long blockGroup, long nlink,
        long uid, long gid, long mode, long rdev, long flags, long sequence, Timespec atime, Timespec ctime,
        Timespec mtime, Timespec otime) {
    public static final int SIZE = 160;

    public static final long FLAG_NODATASUM = 1L << 0;
    public static final long FLAG_NODATACOW = 1L << 1;
    public static final long FLAG_READONLY = 1L << 2;
    public static final long FLAG_NOCOMPRESS = 1L << 3;
    public static final long FLAG_PREALLOC = 1L << 4;
    public static final long FLAG_SYNC = 1L << 5;
    public static final long FLAG_IMMUTABLE = 1L << 6;
    public static final long FLAG_APPEND = 1L << 7;
    public static final long FLAG_NODUMP = 1L << 8;
    public static final long FLAG_NOATIME = 1L << 9;
    public static final long FLAG_DIRSYNC = 1L << 10;
    public static final long FLAG_COMPRESS = 1L << 11;

    public static InodeItem decode(byte[] b, int off, int len) throws CorruptImageException {
        ItemBounds.need(len, SIZE, "INODE_ITEM");
        return read(b, off);
    }

    public static InodeItem read(byte[] b, int off) {
        return new InodeItem(Le.u64(b, off), Le.u64(b, off + 8), Le.u64(b, off + 16), Le.u64(b, off + 24),
                Le.u64(b, off + 32), Le.u32(b, off + 40), Le.u32(b, off + 44), Le.u32(b, off + 48),
                Le.u32(b, off + 52), Le.u64(b, off + 56), Le.u64(b, off + 64), Le.u64(b, off + 72),
                Timespec.read(b, off + 112), Timespec.read(b, off + 124), Timespec.read(b, off + 136),
                Timespec.read(b, off + 148));
    }

    public void write(byte[] b, int off) {
        Le.putU64(b, off, generation);
        Le.putU64(b, off + 8, transid);
        Le.putU64(b, off + 16, size);
        Le.putU64(b, off + 24, nbytes);
        Le.putU64(b, off + 32, blockGroup);
        Le.putU32(b, off + 40, nlink);
        Le.putU32(b, off + 44, uid);
        Le.putU32(b, off + 48, gid);
        Le.putU32(b, off + 52, mode);
        Le.putU64(b, off + 56, rdev);
        Le.putU64(b, off + 64, flags);
        Le.putU64(b, off + 72, sequence);
        java.util.Arrays.fill(b, off + 80, off + 112, (byte) 0);
        atime.write(b, off + 112);
        ctime.write(b, off + 124);
        mtime.write(b, off + 136);
        otime.write(b, off + 148);
    }

    public byte[] encode() {
        byte[] b = new byte[SIZE];
        write(b, 0);
        return b;
    }
}
