package org.jbtrfs.tools.inspect;

import java.util.Locale;
import org.jbtrfs.format.ObjectIds;

/**
 * Tree ids as users name them on the command line ({@code -t}), and the headings dump-tree prints
 * before each tree. Both follow btrfs-progs 6.2 (treeid_from_string() and the switch in
 * cmd_inspect_dump_tree()) so that scripts written for progs work unchanged; we also accept
 * {@code -} for {@code _} (free-space, data-reloc) and the block group tree.
 */
final class TreeNames {
    /** Prefix names in match order: a longer name comes before a shorter name it starts with. */
    private static final String[] NAMES = {"ROOT", "EXTENT", "CHUNK", "DEVICE", "DEV", "FS", "CSUM", "CHECKSUM", "QUOTA",
        "UUID", "FREE_SPACE", "TREE_LOG_FIXUP", "TREE_LOG", "TREE_RELOC", "DATA_RELOC", "BLOCK_GROUP"};
    private static final long[] IDS = {ObjectIds.ROOT_TREE, ObjectIds.EXTENT_TREE, ObjectIds.CHUNK_TREE,
        ObjectIds.DEV_TREE, ObjectIds.DEV_TREE, ObjectIds.FS_TREE, ObjectIds.CSUM_TREE, ObjectIds.CSUM_TREE,
        ObjectIds.QUOTA_TREE, ObjectIds.UUID_TREE, ObjectIds.FREE_SPACE_TREE, ObjectIds.TREE_LOG_FIXUP,
        ObjectIds.TREE_LOG, ObjectIds.TREE_RELOC, ObjectIds.DATA_RELOC_TREE, ObjectIds.BLOCK_GROUP_TREE};

    static {
        if (NAMES.length != IDS.length) {
            throw new ExceptionInInitializerError("tree name table out of step");
        }
    }

    private TreeNames() {
    }

    /**
     * The tree id for a number ("5", "-9") or a name in any case, with optional BTRFS_ prefix and
     * _TREE / _OBJECTID suffixes ("fs", "FS_TREE", "btrfs_csum_tree_objectid", "free-space").
     *
     * @throws IllegalArgumentException naming the text when it is not a tree
     */
    static long parse(String text) {
        String s = text.trim();
        if (s.matches("-?[0-9]+")) {
            long id;
            try {
                id = s.startsWith("-") ? Long.parseLong(s) : Long.parseUnsignedLong(s);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("tree id out of range: " + text);
            }
            if (id == 0) {
                throw new IllegalArgumentException("unrecognized tree id: " + text);
            }
            return id;
        }
        String u = s.toUpperCase(Locale.ROOT).replace('-', '_');
        if (u.startsWith("BTRFS_")) {
            u = u.substring("BTRFS_".length());
        }
        for (int i = 0; i < NAMES.length; i++) {
            if (u.startsWith(NAMES[i])) {
                String rest = u.substring(NAMES[i].length());
                rest = rest.startsWith("_TREE") ? rest.substring("_TREE".length()) : rest;
                rest = rest.startsWith("_OBJECTID") ? rest.substring("_OBJECTID".length()) : rest;
                if (!rest.isEmpty()) {
                    throw new IllegalArgumentException("unexpected tree id suffix of '" + text + "': "
                            + text.substring(text.length() - rest.length()));
                }
                return IDS[i];
            }
        }
        throw new IllegalArgumentException("unrecognized tree id: " + text
                + " (use a number or one of root, extent, chunk, dev, fs, csum, quota, uuid, free-space, data-reloc,"
                + " block-group, tree-log, tree-reloc)");
    }

    /** The word progs prints before " tree key (...)" for a ROOT_ITEM with this objectid. */
    static String heading(long objectid) {
        if (objectid == ObjectIds.ROOT_TREE) {
            return "root";
        } else if (objectid == ObjectIds.EXTENT_TREE) {
            return "extent";
        } else if (objectid == ObjectIds.CHUNK_TREE) {
            return "chunk";
        } else if (objectid == ObjectIds.DEV_TREE) {
            return "device";
        } else if (objectid == ObjectIds.FS_TREE) {
            return "fs";
        } else if (objectid == ObjectIds.ROOT_TREE_DIR) {
            return "directory";
        } else if (objectid == ObjectIds.CSUM_TREE) {
            return "checksum";
        } else if (objectid == ObjectIds.ORPHAN) {
            return "orphan";
        } else if (objectid == ObjectIds.TREE_LOG) {
            return "log";
        } else if (objectid == ObjectIds.TREE_LOG_FIXUP) {
            return "log fixup";
        } else if (objectid == ObjectIds.TREE_RELOC) {
            return "reloc";
        } else if (objectid == ObjectIds.DATA_RELOC_TREE) {
            return "data reloc";
        } else if (objectid == ObjectIds.EXTENT_CSUM) {
            return "extent checksum";
        } else if (objectid == ObjectIds.QUOTA_TREE) {
            return "quota";
        } else if (objectid == ObjectIds.UUID_TREE) {
            return "uuid";
        } else if (objectid == ObjectIds.FREE_SPACE_TREE) {
            return "free space";
        } else if (objectid == ObjectIds.BLOCK_GROUP_TREE) {
            return "block group";
        } else if (objectid == ObjectIds.MULTIPLE) {
            return "multiple";
        }
        return "file";
    }
}
