package org.jbtrfs.format;

import java.util.ArrayList;
import java.util.List;
import org.jbtrfs.CorruptImageException;

/**
 * struct btrfs_chunk with its stripes, key (FIRST_CHUNK_TREE CHUNK_ITEM logical_start), in the chunk
 * tree and (for SYSTEM chunks) in the superblock's sys_chunk_array.
 *
 * <pre>
 * offset size field
 *      0    8 length
 *      8    8 owner          EXTENT_TREE (2)
 *     16    8 stripe_len     64 KiB
 *     24    8 type           block group flags
 *     32    4 io_align
 *     36    4 io_width
 *     40    4 sector_size
 *     44    2 num_stripes
 *     46    2 sub_stripes
 *     48   32 stripes[num_stripes]: u64 devid, u64 offset (physical), u8 dev_uuid[16]
 * </pre>
 */
public record ChunkItem(long length, long owner, long stripeLen, long type, long ioAlign, long ioWidth,
        long sectorSize, int subStripes, List<Stripe> stripes) {
    public static final int HEADER_SIZE = 48;
    public static final int STRIPE_SIZE = 32;

    /** struct btrfs_stripe. */
    public record Stripe(long devid, long offset, byte[] devUuid) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Stripe s && s.devid == devid && s.offset == offset && java.util.Arrays.equals(s.devUuid, devUuid);
        }

        @Override
        public int hashCode() {
            return Long.hashCode(devid) * 31 + Long.hashCode(offset);
        }
    }

    public static int sizeFor(int numStripes) {
        return HEADER_SIZE + numStripes * STRIPE_SIZE;
    }

    /** Number of stripes recorded at {@code off}, read before the whole item (for sys_chunk_array). */
    public static int numStripesAt(byte[] b, int off) {
        return Le.u16(b, off + 44);
    }

    public static ChunkItem decode(byte[] b, int off, int len) throws CorruptImageException {
        ItemBounds.need(len, HEADER_SIZE, "CHUNK_ITEM");
        int n = Le.u16(b, off + 44);
        if (n == 0) {
            throw new CorruptImageException("CHUNK_ITEM with zero stripes");
        }
        ItemBounds.exact(len, sizeFor(n), "CHUNK_ITEM with " + n + " stripes");
        List<Stripe> stripes = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            int s = off + HEADER_SIZE + i * STRIPE_SIZE;
            stripes.add(new Stripe(Le.u64(b, s), Le.u64(b, s + 8), Uuids.read(b, s + 16)));
        }
        return new ChunkItem(Le.u64(b, off), Le.u64(b, off + 8), Le.u64(b, off + 16), Le.u64(b, off + 24),
                Le.u32(b, off + 32), Le.u32(b, off + 36), Le.u32(b, off + 40), Le.u16(b, off + 46), List.copyOf(stripes));
    }

    public byte[] encode() {
        byte[] b = new byte[sizeFor(stripes.size())];
        Le.putU64(b, 0, length);
        Le.putU64(b, 8, owner);
        Le.putU64(b, 16, stripeLen);
        Le.putU64(b, 24, type);
        Le.putU32(b, 32, ioAlign);
        Le.putU32(b, 36, ioWidth);
        Le.putU32(b, 40, sectorSize);
        Le.putU16(b, 44, stripes.size());
        Le.putU16(b, 46, subStripes);
        for (int i = 0; i < stripes.size(); i++) {
            Stripe s = stripes.get(i);
            int o = HEADER_SIZE + i * STRIPE_SIZE;
            Le.putU64(b, o, s.devid());
            Le.putU64(b, o + 8, s.offset());
            System.arraycopy(s.devUuid(), 0, b, o + 16, 16);
        }
        return b;
    }
}
