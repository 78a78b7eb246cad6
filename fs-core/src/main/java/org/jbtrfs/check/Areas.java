package org.jbtrfs.check;

import org.jbtrfs.format.Le;
import org.jbtrfs.format.ObjectIds;

/** The area strings of {@link Problem}s, in one place so that tests and tools can rely on them. */
final class Areas {
    static final String SUPERBLOCK = "superblock";
    static final String CHUNK = "chunk";
    static final String DEVICE = "device";
    static final String ROOT = "root";
    static final String EXTENT = "extent";
    static final String BLOCK_GROUP = "block-group";
    static final String FREE_SPACE = "free-space";
    static final String CSUM = "csum";
    static final String UUID = "uuid";

    private Areas() {
    }

    /**
     * "fs-tree 5" for subvolumes and the data relocation tree (inode-level problems and their
     * blocks), "tree EXTENT_TREE" for the others.
     */
    static String tree(long id) {
        return (CheckContext.isFsLike(id) ? "fs-tree " : "tree ") + treeName(id);
    }

    /** A tree id as btrfs-progs names it: 5, 256, ... for subvolumes, EXTENT_TREE for the others. */
    static String treeName(long id) {
        if (ObjectIds.isSubvolumeId(id)) {
            return Le.u64s(id);
        }
        String n = ObjectIds.treeName(id);
        return n != null ? n : Le.u64s(id);
    }
}
