package org.jbtrfs.space;

import org.jbtrfs.format.BlockGroupItem;

/**
 * The three kinds of space a btrfs filesystem accounts separately: one {@link SpaceInfo} each
 * (the kernel's space_info->flags, BTRFS_BLOCK_GROUP_TYPE_MASK). jbtrfs does not support mixed
 * block groups (DATA|METADATA), so a space_info is exactly one type.
 */
public enum SpaceType {
    /** File data (BTRFS_BLOCK_GROUP_DATA). Never overcommitted. */
    DATA(BlockGroupItem.DATA),
    /** Tree blocks of every tree but the chunk tree (BTRFS_BLOCK_GROUP_METADATA). */
    METADATA(BlockGroupItem.METADATA),
    /** Chunk tree blocks (BTRFS_BLOCK_GROUP_SYSTEM). */
    SYSTEM(BlockGroupItem.SYSTEM);

    private final long flag;

    SpaceType(long flag) {
        this.flag = flag;
    }

    /** The block group type bit, as in block group items and chunk items. */
    public long flag() {
        return flag;
    }

    /** The type of block group {@code flags} (type bits plus profile bits). */
    public static SpaceType ofFlags(long flags) {
        long t = flags & BlockGroupItem.TYPE_MASK;
        for (SpaceType s : values()) {
            if (t == s.flag) {
                return s;
            }
        }
        throw new IllegalArgumentException("block group flags 0x" + Long.toHexString(flags)
                + " name no single type (mixed block groups are not supported)");
    }

    /**
     * btrfs_bg_type_to_factor(): how many bytes of device one byte of this profile occupies.
     * jbtrfs writes SINGLE and DUP only (design brief), so anything else is refused here rather
     * than accounted wrongly.
     */
    public static int profileFactor(long flags) {
        long profile = flags & BlockGroupItem.PROFILE_MASK;
        if (profile == 0) {
            return 1;
        }
        if (profile == BlockGroupItem.DUP) {
            return 2;
        }
        throw new IllegalArgumentException("block group profile 0x" + Long.toHexString(profile)
                + " is not SINGLE or DUP");
    }
}
