package org.jbtrfs.format;

/**
 * Item key types (the {@code type} byte of a key), as btrfs_tree.h numbers them. The names are the
 * ones btrfs-progs prints in dump-tree, so that our output can be compared with theirs.
 */
public final class ItemType {
    public static final int INODE_ITEM = 1;
    public static final int INODE_REF = 12;
    public static final int INODE_EXTREF = 13;
    public static final int XATTR_ITEM = 24;
    public static final int VERITY_DESC_ITEM = 36;
    public static final int VERITY_MERKLE_ITEM = 37;
    public static final int ORPHAN_ITEM = 48;
    public static final int DIR_LOG_ITEM = 60;
    public static final int DIR_LOG_INDEX = 72;
    public static final int DIR_ITEM = 84;
    public static final int DIR_INDEX = 96;
    public static final int EXTENT_DATA = 108;
    public static final int EXTENT_CSUM = 128;
    public static final int ROOT_ITEM = 132;
    public static final int ROOT_BACKREF = 144;
    public static final int ROOT_REF = 156;
    public static final int EXTENT_ITEM = 168;
    public static final int METADATA_ITEM = 169;
    public static final int EXTENT_OWNER_REF = 172;
    public static final int TREE_BLOCK_REF = 176;
    public static final int EXTENT_DATA_REF = 178;
    public static final int EXTENT_REF_V0 = 180;
    public static final int SHARED_BLOCK_REF = 182;
    public static final int SHARED_DATA_REF = 184;
    public static final int BLOCK_GROUP_ITEM = 192;
    public static final int FREE_SPACE_INFO = 198;
    public static final int FREE_SPACE_EXTENT = 199;
    public static final int FREE_SPACE_BITMAP = 200;
    public static final int DEV_EXTENT = 204;
    public static final int DEV_ITEM = 216;
    public static final int CHUNK_ITEM = 228;
    public static final int RAID_STRIPE = 230;
    public static final int QGROUP_STATUS = 240;
    public static final int QGROUP_INFO = 242;
    public static final int QGROUP_LIMIT = 244;
    public static final int QGROUP_RELATION = 246;
    /** Also BALANCE_ITEM. */
    public static final int TEMPORARY_ITEM = 248;
    /** Also DEV_STATS_KEY. */
    public static final int PERSISTENT_ITEM = 249;
    public static final int DEV_REPLACE = 250;
    public static final int UUID_KEY_SUBVOL = 251;
    public static final int UUID_KEY_RECEIVED_SUBVOL = 252;
    public static final int STRING_ITEM = 253;

    private ItemType() {
    }

    public static String name(int type) {
        return switch (type) {
            case INODE_ITEM -> "INODE_ITEM";
            case INODE_REF -> "INODE_REF";
            case INODE_EXTREF -> "INODE_EXTREF";
            case XATTR_ITEM -> "XATTR_ITEM";
            case VERITY_DESC_ITEM -> "VERITY_DESC_ITEM";
            case VERITY_MERKLE_ITEM -> "VERITY_MERKLE_ITEM";
            case ORPHAN_ITEM -> "ORPHAN_ITEM";
            case DIR_LOG_ITEM -> "DIR_LOG_ITEM";
            case DIR_LOG_INDEX -> "DIR_LOG_INDEX";
            case DIR_ITEM -> "DIR_ITEM";
            case DIR_INDEX -> "DIR_INDEX";
            case EXTENT_DATA -> "EXTENT_DATA";
            case EXTENT_CSUM -> "EXTENT_CSUM";
            case ROOT_ITEM -> "ROOT_ITEM";
            case ROOT_BACKREF -> "ROOT_BACKREF";
            case ROOT_REF -> "ROOT_REF";
            case EXTENT_ITEM -> "EXTENT_ITEM";
            case METADATA_ITEM -> "METADATA_ITEM";
            case EXTENT_OWNER_REF -> "EXTENT_OWNER_REF";
            case TREE_BLOCK_REF -> "TREE_BLOCK_REF";
            case EXTENT_DATA_REF -> "EXTENT_DATA_REF";
            case EXTENT_REF_V0 -> "EXTENT_REF_V0";
            case SHARED_BLOCK_REF -> "SHARED_BLOCK_REF";
            case SHARED_DATA_REF -> "SHARED_DATA_REF";
            case BLOCK_GROUP_ITEM -> "BLOCK_GROUP_ITEM";
            case FREE_SPACE_INFO -> "FREE_SPACE_INFO";
            case FREE_SPACE_EXTENT -> "FREE_SPACE_EXTENT";
            case FREE_SPACE_BITMAP -> "FREE_SPACE_BITMAP";
            case DEV_EXTENT -> "DEV_EXTENT";
            case DEV_ITEM -> "DEV_ITEM";
            case CHUNK_ITEM -> "CHUNK_ITEM";
            case RAID_STRIPE -> "RAID_STRIPE";
            case QGROUP_STATUS -> "QGROUP_STATUS";
            case QGROUP_INFO -> "QGROUP_INFO";
            case QGROUP_LIMIT -> "QGROUP_LIMIT";
            case QGROUP_RELATION -> "QGROUP_RELATION";
            case TEMPORARY_ITEM -> "TEMPORARY_ITEM";
            case PERSISTENT_ITEM -> "PERSISTENT_ITEM";
            case DEV_REPLACE -> "DEV_REPLACE";
            case UUID_KEY_SUBVOL -> "UUID_KEY_SUBVOL";
            case UUID_KEY_RECEIVED_SUBVOL -> "UUID_KEY_RECEIVED_SUBVOL";
            case STRING_ITEM -> "STRING_ITEM";
            default -> "UNKNOWN." + type;
        };
    }

    /** A key offset as btrfs-progs prints it for that key type. */
    public static String offsetString(int type, long offset) {
        if (type == UUID_KEY_SUBVOL || type == UUID_KEY_RECEIVED_SUBVOL) {
            return String.format("0x%016x", offset);
        }
        if (type == QGROUP_RELATION || type == QGROUP_INFO || type == QGROUP_LIMIT) {
            return Qgroups.idString(offset);
        }
        if (offset == -1L && type != ROOT_ITEM) {
            // progs prints ROOT_ITEM offsets (snapshot transids, or -1 in a dir item's location) as plain u64.
            return "-1";
        }
        return Long.toUnsignedString(offset);
    }
}
