package org.jbtrfs.format;

import org.jbtrfs.CorruptImageException;

/**
 * struct btrfs_root_item (439 bytes), key (tree_id ROOT_ITEM offset) in the root tree; offset is 0
 * for most trees and the creating transid for snapshots. Items written by old kernels stop after
 * {@code level} (239 bytes); then the fields from generation_v2 on read as zero.
 *
 * <pre>
 * offset size field
 *      0  160 inode           struct btrfs_inode_item (unused but for the directory bits)
 *    160    8 generation
 *    168    8 root_dirid      256 for subvolumes
 *    176    8 bytenr          logical address of the tree's root block
 *    184    8 byte_limit
 *    192    8 bytes_used
 *    200    8 last_snapshot
 *    208    8 flags           1 = RDONLY, 1&lt;&lt;48 = DEAD
 *    216    4 refs
 *    220   17 drop_progress
 *    237    1 drop_level
 *    238    1 level
 *    239    8 generation_v2   equal to generation when the fields below are valid
 *    247   16 uuid
 *    263   16 parent_uuid
 *    279   16 received_uuid
 *    295    8 ctransid
 *    303    8 otransid
 *    311    8 stransid
 *    319    8 rtransid
 *    327   12 ctime
 *    339   12 otime
 *    351   12 stime
 *    363   12 rtime
 *    375   64 reserved[8]
 * </pre>
 */
public record RootItem(InodeItem inode, long generation, long rootDirid, long bytenr, long byteLimit, long bytesUsed,
        long lastSnapshot, long flags, long refs, DiskKey dropProgress, int dropLevel, int level, long generationV2,
        byte[] uuid, byte[] parentUuid, byte[] receivedUuid, long ctransid, long otransid, long stransid,
        long rtransid, Timespec ctime, Timespec otime, Timespec stime, Timespec rtime) {
    public static final int SIZE = 439;
    public static final int LEGACY_SIZE = 239;
    public static final long FLAG_RDONLY = 1L;
    public static final long FLAG_DEAD = 1L << 48;

    public static RootItem decode(byte[] b, int off, int len) throws CorruptImageException {
        if (len != SIZE && len != LEGACY_SIZE) {
            throw new CorruptImageException("ROOT_ITEM has wrong size: have " + len + " bytes, expect " + SIZE
                    + " (or " + LEGACY_SIZE + ")");
        }
        byte[] full = b;
        int o = off;
        if (len == LEGACY_SIZE) {
            full = new byte[SIZE];
            System.arraycopy(b, off, full, 0, LEGACY_SIZE);
            o = 0;
        }
        return new RootItem(InodeItem.read(full, o), Le.u64(full, o + 160), Le.u64(full, o + 168),
                Le.u64(full, o + 176), Le.u64(full, o + 184), Le.u64(full, o + 192), Le.u64(full, o + 200),
                Le.u64(full, o + 208), Le.u32(full, o + 216), DiskKey.read(full, o + 220), Le.u8(full, o + 237),
                Le.u8(full, o + 238), Le.u64(full, o + 239), Uuids.read(full, o + 247), Uuids.read(full, o + 263),
                Uuids.read(full, o + 279), Le.u64(full, o + 295), Le.u64(full, o + 303), Le.u64(full, o + 311),
                Le.u64(full, o + 319), Timespec.read(full, o + 327), Timespec.read(full, o + 339),
                Timespec.read(full, o + 351), Timespec.read(full, o + 363));
    }

    public byte[] encode() {
        byte[] b = new byte[SIZE];
        inode.write(b, 0);
        Le.putU64(b, 160, generation);
        Le.putU64(b, 168, rootDirid);
        Le.putU64(b, 176, bytenr);
        Le.putU64(b, 184, byteLimit);
        Le.putU64(b, 192, bytesUsed);
        Le.putU64(b, 200, lastSnapshot);
        Le.putU64(b, 208, flags);
        Le.putU32(b, 216, refs);
        dropProgress.write(b, 220);
        Le.putU8(b, 237, dropLevel);
        Le.putU8(b, 238, level);
        Le.putU64(b, 239, generationV2);
        System.arraycopy(uuid, 0, b, 247, 16);
        System.arraycopy(parentUuid, 0, b, 263, 16);
        System.arraycopy(receivedUuid, 0, b, 279, 16);
        Le.putU64(b, 295, ctransid);
        Le.putU64(b, 303, otransid);
        Le.putU64(b, 311, stransid);
        Le.putU64(b, 319, rtransid);
        ctime.write(b, 327);
        otime.write(b, 339);
        stime.write(b, 351);
        rtime.write(b, 363);
        return b;
    }

    /** This item with {@code refs} and {@code flags} replaced (subvolume deletion: refs 0, DEAD). */
    public RootItem withRefsAndFlags(long newRefs, long newFlags) {
        return new RootItem(inode, generation, rootDirid, bytenr, byteLimit, bytesUsed, lastSnapshot, newFlags, newRefs,
                dropProgress, dropLevel, level, generationV2, uuid, parentUuid, receivedUuid, ctransid, otransid,
                stransid, rtransid, ctime, otime, stime, rtime);
    }

    /**
     * This item with drop_progress and drop_level replaced: how far snapshot deletion got (the key
     * of the next slot to drop at {@code newDropLevel}; objectid 0 means not started).
     */
    public RootItem withDropProgress(DiskKey progress, int newDropLevel) {
        return new RootItem(inode, generation, rootDirid, bytenr, byteLimit, bytesUsed, lastSnapshot, flags, refs,
                progress, newDropLevel, level, generationV2, uuid, parentUuid, receivedUuid, ctransid, otransid,
                stransid, rtransid, ctime, otime, stime, rtime);
    }

    /** Whether a snapshot deletion has started on this tree (drop_progress set). */
    public boolean dropStarted() {
        return dropProgress.objectid() != 0;
    }

    public boolean isReadOnly() {
        return (flags & FLAG_RDONLY) != 0;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RootItem r && java.util.Arrays.equals(r.encode(), encode());
    }

    @Override
    public int hashCode() {
        return java.util.Arrays.hashCode(encode());
    }
}
