package org.jbtrfs.format;

import org.jbtrfs.CorruptImageException;

/**
 * struct btrfs_free_space_info (8 bytes), key (bg_start FREE_SPACE_INFO bg_length) in the free
 * space tree; followed by FREE_SPACE_EXTENT items (start FREE_SPACE_EXTENT length, no data) or,
 * with USING_BITMAPS, FREE_SPACE_BITMAP items (start FREE_SPACE_BITMAP length, one bit per sector).
 *
 * <pre>
 * offset size field
 *      0    4 extent_count
 *      4    4 flags          1 = USING_BITMAPS
 * </pre>
 */
public record FreeSpaceInfo(long extentCount, long flags) {
    public static final int SIZE = 8;
    public static final long USING_BITMAPS = 1;

    public static FreeSpaceInfo decode(byte[] b, int off, int len) throws CorruptImageException {
        ItemBounds.exact(len, SIZE, "FREE_SPACE_INFO");
        return new FreeSpaceInfo(Le.u32(b, off), Le.u32(b, off + 4));
    }

    public byte[] encode() {
        byte[] b = new byte[SIZE];
        Le.putU32(b, 0, extentCount);
        Le.putU32(b, 4, flags);
        return b;
    }
}
