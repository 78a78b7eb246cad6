package org.jbtrfs.format;

import org.jbtrfs.CorruptImageException;

/**
 * struct btrfs_dev_extent (48 bytes), key (devid DEV_EXTENT physical_start) in the device tree: the
 * reverse of a chunk stripe.
 *
 * <pre>
 * offset size field
 *      0    8 chunk_tree        CHUNK_TREE (3)
 *      8    8 chunk_objectid    FIRST_CHUNK_TREE (256)
 *     16    8 chunk_offset      logical start of the chunk
 *     24    8 length
 *     32   16 chunk_tree_uuid
 * </pre>
 */
public record DevExtent(long chunkTree, long chunkObjectid, long chunkOffset, long length, byte[] chunkTreeUuid) {
    public static final int SIZE = 48;

    public static DevExtent decode(byte[] b, int off, int len) throws CorruptImageException {
        ItemBounds.exact(len, SIZE, "DEV_EXTENT");
        return new DevExtent(Le.u64(b, off), Le.u64(b, off + 8), Le.u64(b, off + 16), Le.u64(b, off + 24),
                Uuids.read(b, off + 32));
    }

    public byte[] encode() {
        byte[] b = new byte[SIZE];
        Le.putU64(b, 0, chunkTree);
        Le.putU64(b, 8, chunkObjectid);
        Le.putU64(b, 16, chunkOffset);
        Le.putU64(b, 24, length);
        System.arraycopy(chunkTreeUuid, 0, b, 32, 16);
        return b;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DevExtent d && java.util.Arrays.equals(d.encode(), encode());
    }

    @Override
    public int hashCode() {
        return java.util.Arrays.hashCode(encode());
    }
}
