package org.jbtrfs.format;

import java.util.ArrayList;
import java.util.List;

/**
 * Feature flag bits of the superblock (compat_ro_flags, incompat_flags), and the sets jbtrfs reads.
 * An image with an incompat bit outside {@link #INCOMPAT_SUPPORTED} is refused: that is what an
 * incompat bit means. A compat_ro bit outside {@link #COMPAT_RO_SUPPORTED} allows reading only.
 */
public final class Features {
    public static final long COMPAT_RO_FREE_SPACE_TREE = 1L << 0;
    public static final long COMPAT_RO_FREE_SPACE_TREE_VALID = 1L << 1;
    public static final long COMPAT_RO_VERITY = 1L << 2;
    public static final long COMPAT_RO_BLOCK_GROUP_TREE = 1L << 3;

    public static final long INCOMPAT_MIXED_BACKREF = 1L << 0;
    public static final long INCOMPAT_DEFAULT_SUBVOL = 1L << 1;
    public static final long INCOMPAT_MIXED_GROUPS = 1L << 2;
    public static final long INCOMPAT_COMPRESS_LZO = 1L << 3;
    public static final long INCOMPAT_COMPRESS_ZSTD = 1L << 4;
    public static final long INCOMPAT_BIG_METADATA = 1L << 5;
    public static final long INCOMPAT_EXTENDED_IREF = 1L << 6;
    public static final long INCOMPAT_RAID56 = 1L << 7;
    public static final long INCOMPAT_SKINNY_METADATA = 1L << 8;
    public static final long INCOMPAT_NO_HOLES = 1L << 9;
    public static final long INCOMPAT_METADATA_UUID = 1L << 10;
    public static final long INCOMPAT_RAID1C34 = 1L << 11;
    public static final long INCOMPAT_ZONED = 1L << 12;
    public static final long INCOMPAT_EXTENT_TREE_V2 = 1L << 13;
    public static final long INCOMPAT_RAID_STRIPE_TREE = 1L << 14;
    public static final long INCOMPAT_SIMPLE_QUOTA = 1L << 16;

    /** Incompat features whose on-disk meaning jbtrfs implements. */
    public static final long INCOMPAT_SUPPORTED = INCOMPAT_MIXED_BACKREF | INCOMPAT_DEFAULT_SUBVOL
            | INCOMPAT_COMPRESS_LZO | INCOMPAT_COMPRESS_ZSTD | INCOMPAT_BIG_METADATA | INCOMPAT_EXTENDED_IREF
            | INCOMPAT_SKINNY_METADATA | INCOMPAT_NO_HOLES | INCOMPAT_METADATA_UUID;

    /** Compat-ro features jbtrfs keeps correct when it writes (later issues); others mean read-only. */
    public static final long COMPAT_RO_SUPPORTED = COMPAT_RO_FREE_SPACE_TREE | COMPAT_RO_FREE_SPACE_TREE_VALID;

    private Features() {
    }

    public static List<String> incompatNames(long flags) {
        String[] names = {"MIXED_BACKREF", "DEFAULT_SUBVOL", "MIXED_GROUPS", "COMPRESS_LZO", "COMPRESS_ZSTD",
            "BIG_METADATA", "EXTENDED_IREF", "RAID56", "SKINNY_METADATA", "NO_HOLES", "METADATA_UUID",
            "RAID1C34", "ZONED", "EXTENT_TREE_V2", "RAID_STRIPE_TREE", null, "SIMPLE_QUOTA"};
        return bitNames(flags, names);
    }

    public static List<String> compatRoNames(long flags) {
        return bitNames(flags, new String[] {"FREE_SPACE_TREE", "FREE_SPACE_TREE_VALID", "VERITY", "BLOCK_GROUP_TREE"});
    }

    private static List<String> bitNames(long flags, String[] names) {
        List<String> out = new ArrayList<>();
        for (int bit = 0; bit < 64; bit++) {
            if ((flags & (1L << bit)) != 0) {
                out.add(bit < names.length && names[bit] != null ? names[bit] : "unknown bit " + bit);
            }
        }
        return out;
    }
}
