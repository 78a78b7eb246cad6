package org.jbtrfs.format;

import org.jbtrfs.CorruptImageException;

/**
 * struct btrfs_extent_data_ref (28 bytes): a data extent referenced by a file extent item of
 * (root, inode objectid, file offset - extent offset), {@code count} times. Inline in an extent item or
 * keyed as (bytenr EXTENT_DATA_REF hash_extent_data_ref(root, objectid, offset)).
 *
 * <pre>
 * offset size field
 *      0    8 root
 *      8    8 objectid
 *     16    8 offset
 *     24    4 count
 * </pre>
 */
public record ExtentDataRef(long root, long objectid, long offset, long count) {
    public static final int SIZE = 28;

    public static ExtentDataRef decode(byte[] b, int off, int len) throws CorruptImageException {
        ItemBounds.exact(len, SIZE, "EXTENT_DATA_REF");
        return read(b, off);
    }

    static ExtentDataRef read(byte[] b, int off) {
        return new ExtentDataRef(Le.u64(b, off), Le.u64(b, off + 8), Le.u64(b, off + 16), Le.u32(b, off + 24));
    }

    public void write(byte[] b, int off) {
        Le.putU64(b, off, root);
        Le.putU64(b, off + 8, objectid);
        Le.putU64(b, off + 16, offset);
        Le.putU32(b, off + 24, count);
    }

    public byte[] encode() {
        byte[] b = new byte[SIZE];
        write(b, 0);
        return b;
    }

    /**
     * hash_extent_data_ref(): the key offset of a keyed EXTENT_DATA_REF. Two raw crc32c steps, over
     * the little-endian root and then over objectid and offset, combined as (high &lt;&lt; 31) ^ low.
     */
    public static long hash(long root, long objectid, long offset) {
        byte[] le = new byte[8];
        Le.putU64(le, 0, root);
        int high = Crc32c.raw(~0, le, 0, 8);
        Le.putU64(le, 0, objectid);
        int low = Crc32c.raw(~0, le, 0, 8);
        Le.putU64(le, 0, offset);
        low = Crc32c.raw(low, le, 0, 8);
        return ((high & 0xffffffffL) << 31) ^ (low & 0xffffffffL);
    }
}
