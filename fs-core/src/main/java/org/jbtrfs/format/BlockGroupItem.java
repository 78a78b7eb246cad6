package org.jbtrfs.format;

import org.jbtrfs.CorruptImageException;

/**
 * struct btrfs_block_group_item (24 bytes), key (logical_start BLOCK_GROUP_ITEM length) in the
 * extent tree (or the block group tree).
 *
 * <pre>
 * offset size field
 *      0    8 used
 *      8    8 chunk_objectid   always FIRST_CHUNK_TREE (256)
 *     16    8 flags            type (DATA 1, SYSTEM 2, METADATA 4) | profile (DUP 32, ...)
 * </pre>
 */
public record BlockGroupItem(long used, long chunkObjectid, long flags) {
    public static final int SIZE = 24;

    public static final long DATA = 1L << 0;
    public static final long SYSTEM = 1L << 1;
    public static final long METADATA = 1L << 2;
    public static final long RAID0 = 1L << 3;
    public static final long RAID1 = 1L << 4;
    public static final long DUP = 1L << 5;
    public static final long RAID10 = 1L << 6;
    public static final long RAID5 = 1L << 7;
    public static final long RAID6 = 1L << 8;
    public static final long RAID1C3 = 1L << 9;
    public static final long RAID1C4 = 1L << 10;
    public static final long TYPE_MASK = DATA | SYSTEM | METADATA;
    public static final long PROFILE_MASK = RAID0 | RAID1 | DUP | RAID10 | RAID5 | RAID6 | RAID1C3 | RAID1C4;

    public static BlockGroupItem decode(byte[] b, int off, int len) throws CorruptImageException {
        ItemBounds.exact(len, SIZE, "BLOCK_GROUP_ITEM");
        return new BlockGroupItem(Le.u64(b, off), Le.u64(b, off + 8), Le.u64(b, off + 16));
    }

    public byte[] encode() {
        byte[] b = new byte[SIZE];
        Le.putU64(b, 0, used);
        Le.putU64(b, 8, chunkObjectid);
        Le.putU64(b, 16, flags);
        return b;
    }

    /** Flags as btrfs-progs prints them: DATA, METADATA|DUP, SYSTEM|DUP, ... */
    public static String flagsString(long flags) {
        StringBuilder sb = new StringBuilder();
        String[] types = {"DATA", "SYSTEM", "METADATA"};
        for (int i = 0; i < 3; i++) {
            if ((flags & (1L << i)) != 0) {
                sb.append(sb.length() > 0 ? "|" : "").append(types[i]);
            }
        }
        String[] profiles = {"RAID0", "RAID1", "DUP", "RAID10", "RAID5", "RAID6", "RAID1C3", "RAID1C4"};
        boolean any = false;
        for (int i = 0; i < profiles.length; i++) {
            if ((flags & (1L << (i + 3))) != 0) {
                sb.append('|').append(profiles[i]);
                any = true;
            }
        }
        if (!any) {
            sb.append("|single");
        }
        return sb.toString();
    }
}
