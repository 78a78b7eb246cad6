package org.jbtrfs.format;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.jbtrfs.CorruptImageException;

/**
 * struct btrfs_dir_item followed by name and data. Used by DIR_ITEM (key: dir, DIR_ITEM,
 * name hash; colliding names packed in one item), DIR_INDEX (key: dir, DIR_INDEX, index; one
 * entry) and XATTR_ITEM (key: ino, XATTR_ITEM, name hash; data is the value).
 *
 * <pre>
 * offset size field
 *      0   17 location       key of the target: (ino INODE_ITEM 0), or (subvol ROOT_ITEM -1)
 *     17    8 transid
 *     25    2 data_len
 *     27    2 name_len
 *     29    1 type           BTRFS_FT_*
 *     30    n name
 *   30+n    d data
 * </pre>
 */
public record DirItem(DiskKey location, long transid, int type, byte[] name, byte[] data) {
    public static final int HEADER_SIZE = 30;

    public static final int FT_UNKNOWN = 0;
    public static final int FT_REG_FILE = 1;
    public static final int FT_DIR = 2;
    public static final int FT_CHRDEV = 3;
    public static final int FT_BLKDEV = 4;
    public static final int FT_FIFO = 5;
    public static final int FT_SOCK = 6;
    public static final int FT_SYMLINK = 7;
    public static final int FT_XATTR = 8;
    /** The top bit of the type byte marks an encrypted name (fscrypt). */
    public static final int FT_ENCRYPTED = 0x80;

    /** BTRFS_FT_* for an inode mode (the kernel's fs_umode_to_ftype); FT_UNKNOWN when the type bits name no file type. */
    public static int fileTypeOfMode(long mode) {
        return switch ((int) (mode & org.jbtrfs.Attr.S_IFMT)) {
            case org.jbtrfs.Attr.S_IFREG -> FT_REG_FILE;
            case org.jbtrfs.Attr.S_IFDIR -> FT_DIR;
            case org.jbtrfs.Attr.S_IFCHR -> FT_CHRDEV;
            case org.jbtrfs.Attr.S_IFBLK -> FT_BLKDEV;
            case org.jbtrfs.Attr.S_IFIFO -> FT_FIFO;
            case org.jbtrfs.Attr.S_IFSOCK -> FT_SOCK;
            case org.jbtrfs.Attr.S_IFLNK -> FT_SYMLINK;
            default -> FT_UNKNOWN;
        };
    }

    public static List<DirItem> decodeAll(byte[] b, int off, int len) throws CorruptImageException {
        List<DirItem> out = new ArrayList<>(1);
        int p = off;
        int end = off + len;
        while (p < end) {
            ItemBounds.need(end - p, HEADER_SIZE, "DIR_ITEM");
            int dataLen = Le.u16(b, p + 25);
            int nameLen = Le.u16(b, p + 27);
            ItemBounds.need(end - p, HEADER_SIZE + nameLen + dataLen, "DIR_ITEM name and data");
            int n = p + HEADER_SIZE;
            out.add(new DirItem(DiskKey.read(b, p), Le.u64(b, p + 17), Le.u8(b, p + 29),
                    Arrays.copyOfRange(b, n, n + nameLen), Arrays.copyOfRange(b, n + nameLen, n + nameLen + dataLen)));
            p = n + nameLen + dataLen;
        }
        return out;
    }

    public int encodedSize() {
        return HEADER_SIZE + name.length + data.length;
    }

    public int write(byte[] b, int off) {
        location.write(b, off);
        Le.putU64(b, off + 17, transid);
        Le.putU16(b, off + 25, data.length);
        Le.putU16(b, off + 27, name.length);
        Le.putU8(b, off + 29, type);
        System.arraycopy(name, 0, b, off + HEADER_SIZE, name.length);
        System.arraycopy(data, 0, b, off + HEADER_SIZE + name.length, data.length);
        return off + encodedSize();
    }

    public static byte[] encodeAll(List<DirItem> items) {
        byte[] b = new byte[items.stream().mapToInt(DirItem::encodedSize).sum()];
        int p = 0;
        for (DirItem d : items) {
            p = d.write(b, p);
        }
        return b;
    }

    public static String typeName(int ft) {
        return switch (ft & ~FT_ENCRYPTED) {
            case FT_UNKNOWN -> "UNKNOWN";
            case FT_REG_FILE -> "FILE";
            case FT_DIR -> "DIR";
            case FT_CHRDEV -> "CHRDEV";
            case FT_BLKDEV -> "BLKDEV";
            case FT_FIFO -> "FIFO";
            case FT_SOCK -> "SOCK";
            case FT_SYMLINK -> "SYMLINK";
            case FT_XATTR -> "XATTR";
            default -> "UNKNOWN." + ft;
        };
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DirItem d && d.location.equals(location) && d.transid == transid && d.type == type
                && Arrays.equals(d.name, name) && Arrays.equals(d.data, data);
    }

    @Override
    public int hashCode() {
        return location.hashCode() * 31 + Arrays.hashCode(name);
    }
}
