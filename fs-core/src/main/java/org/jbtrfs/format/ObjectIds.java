package org.jbtrfs.format;

/**
 * Well-known object ids (btrfs_tree.h): tree ids in the root tree, special objectids of items, and
 * the first free inode number of a subvolume.
 */
public final class ObjectIds {
    public static final long DEV_STATS = 0;
    public static final long ROOT_TREE = 1;
    public static final long EXTENT_TREE = 2;
    public static final long CHUNK_TREE = 3;
    public static final long DEV_TREE = 4;
    public static final long FS_TREE = 5;
    public static final long ROOT_TREE_DIR = 6;
    public static final long CSUM_TREE = 7;
    public static final long QUOTA_TREE = 8;
    public static final long UUID_TREE = 9;
    public static final long FREE_SPACE_TREE = 10;
    public static final long BLOCK_GROUP_TREE = 11;
    public static final long RAID_STRIPE_TREE = 12;
    public static final long BALANCE = -4L;
    public static final long ORPHAN = -5L;
    public static final long TREE_LOG = -6L;
    public static final long TREE_LOG_FIXUP = -7L;
    public static final long TREE_RELOC = -8L;
    public static final long DATA_RELOC_TREE = -9L;
    public static final long EXTENT_CSUM = -10L;
    public static final long FREE_SPACE = -11L;
    public static final long FREE_INO = -12L;
    public static final long MULTIPLE = -255L;
    /** First inode number (and subvolume id) handed out; the root directory of a subvolume is 256. */
    public static final long FIRST_FREE = 256;
    public static final long LAST_FREE = -256L;
    public static final long FIRST_CHUNK_TREE = 256;
    /** objectid of DEV_ITEM keys in the chunk tree. */
    public static final long DEV_ITEMS = 1;
    /** The inode number the kernel shows for a subvolume entry whose subvolume is not reachable. */
    public static final long EMPTY_SUBVOL_DIR = 2;

    private ObjectIds() {
    }

    /** Whether {@code id} names a subvolume tree (the top level one or one made by the user). */
    public static boolean isSubvolumeId(long id) {
        return id == FS_TREE || (Long.compareUnsigned(id, FIRST_FREE) >= 0 && Long.compareUnsigned(id, LAST_FREE) <= 0);
    }

    /** An objectid as btrfs-progs prints it in a key of the given type. */
    public static String name(long id, int type) {
        if (type == ItemType.DEV_EXTENT) {
            return Long.toUnsignedString(id);
        }
        if (type == ItemType.QGROUP_RELATION) {
            // Only a relation's objectid is a qgroup id; QGROUP_INFO and QGROUP_LIMIT keys have objectid 0.
            return Qgroups.idString(id);
        }
        if (type == ItemType.UUID_KEY_SUBVOL || type == ItemType.UUID_KEY_RECEIVED_SUBVOL) {
            return String.format("0x%016x", id);
        }
        if (id == FIRST_CHUNK_TREE && type == ItemType.CHUNK_ITEM) {
            return "FIRST_CHUNK_TREE";
        }
        if (id == DEV_ITEMS && type == ItemType.DEV_ITEM) {
            return "DEV_ITEMS";
        }
        if (id == DEV_STATS && type == ItemType.PERSISTENT_ITEM) {
            return "DEV_STATS";
        }
        String n = treeName(id);
        return n != null ? n : Long.toUnsignedString(id);
    }

    /** The name of a well-known tree or special objectid, or null. */
    public static String treeName(long id) {
        if (id == ROOT_TREE) {
            return "ROOT_TREE";
        } else if (id == EXTENT_TREE) {
            return "EXTENT_TREE";
        } else if (id == CHUNK_TREE) {
            return "CHUNK_TREE";
        } else if (id == DEV_TREE) {
            return "DEV_TREE";
        } else if (id == FS_TREE) {
            return "FS_TREE";
        } else if (id == ROOT_TREE_DIR) {
            return "ROOT_TREE_DIR";
        } else if (id == CSUM_TREE) {
            return "CSUM_TREE";
        } else if (id == QUOTA_TREE) {
            return "QUOTA_TREE";
        } else if (id == UUID_TREE) {
            return "UUID_TREE";
        } else if (id == FREE_SPACE_TREE) {
            return "FREE_SPACE_TREE";
        } else if (id == BLOCK_GROUP_TREE) {
            return "BLOCK_GROUP_TREE";
        } else if (id == RAID_STRIPE_TREE) {
            return "RAID_STRIPE_TREE";
        } else if (id == BALANCE) {
            return "BALANCE";
        } else if (id == ORPHAN) {
            return "ORPHAN";
        } else if (id == TREE_LOG) {
            return "TREE_LOG";
        } else if (id == TREE_LOG_FIXUP) {
            return "TREE_LOG_FIXUP";
        } else if (id == TREE_RELOC) {
            return "TREE_RELOC";
        } else if (id == DATA_RELOC_TREE) {
            return "DATA_RELOC_TREE";
        } else if (id == EXTENT_CSUM) {
            return "EXTENT_CSUM";
        } else if (id == FREE_SPACE) {
            return "FREE_SPACE";
        } else if (id == FREE_INO) {
            return "FREE_INO";
        } else if (id == MULTIPLE) {
            return "MULTIPLE";
        }
        return null;
    }
}
