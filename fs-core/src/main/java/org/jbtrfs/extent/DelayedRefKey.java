package org.jbtrfs.extent;

import org.jbtrfs.format.ItemType;

/**
 * Which backref of an extent a delayed ref changes: the identifying part of struct
 * btrfs_delayed_ref_node (delayed-ref.h), ordered the way comp_refs() in delayed-ref.c orders the
 * nodes of one head (by type, then by the type's fields). Two refs with equal keys are the same
 * backref on disk, which is what lets an add and a drop of it merge.
 *
 * <table>
 *   <caption>Fields used per type (the others are 0)</caption>
 *   <tr><th>type</th><th>fields</th><th>on disk</th></tr>
 *   <tr><td>TREE_BLOCK_REF (176)</td><td>root</td><td>inline, or key (bytenr TREE_BLOCK_REF root)</td></tr>
 *   <tr><td>SHARED_BLOCK_REF (182)</td><td>parent</td><td>inline, or key (bytenr SHARED_BLOCK_REF parent)</td></tr>
 *   <tr><td>EXTENT_DATA_REF (178)</td><td>root, objectid, offset</td><td>inline, or key (bytenr EXTENT_DATA_REF hash) +
 *       struct btrfs_extent_data_ref</td></tr>
 *   <tr><td>SHARED_DATA_REF (184)</td><td>parent</td><td>inline, or key (bytenr SHARED_DATA_REF parent) + u32 count</td></tr>
 * </table>
 * The shared kinds carry only the parent block: a backref held by a tree block that may be shared
 * between snapshots names that block, not the root (the backref rules in extent-tree.c).
 */
public record DelayedRefKey(int type, long root, long parent, long objectid, long offset)
        implements Comparable<DelayedRefKey> {

    public DelayedRefKey {
        switch (type) {
            case ItemType.TREE_BLOCK_REF -> {
                assert root != 0 && parent == 0 && objectid == 0 && offset == 0 : "tree ref fields " + root + "/" + parent;
            }
            case ItemType.SHARED_BLOCK_REF, ItemType.SHARED_DATA_REF -> {
                assert parent != 0 && root == 0 && objectid == 0 && offset == 0 : "shared ref fields " + parent;
            }
            case ItemType.EXTENT_DATA_REF -> {
                assert root != 0 && parent == 0 : "data ref fields " + root + "/" + parent;
            }
            default -> throw new IllegalArgumentException("not a backref type: " + type);
        }
    }

    /** A TREE_BLOCK_REF, the normal backref of a tree block: the tree {@code root} points to it. */
    public static DelayedRefKey treeBlock(long root) {
        return new DelayedRefKey(ItemType.TREE_BLOCK_REF, root, 0, 0, 0);
    }

    /** A SHARED_BLOCK_REF: the tree block {@code parent} points to it (snapshots, relocation). */
    public static DelayedRefKey sharedBlock(long parent) {
        return new DelayedRefKey(ItemType.SHARED_BLOCK_REF, 0, parent, 0, 0);
    }

    /**
     * An EXTENT_DATA_REF: file extent items of inode {@code objectid} in tree {@code root} at file
     * offset minus extent offset {@code offset} point to the data extent.
     */
    public static DelayedRefKey extentData(long root, long objectid, long offset) {
        return new DelayedRefKey(ItemType.EXTENT_DATA_REF, root, 0, objectid, offset);
    }

    /** A SHARED_DATA_REF: file extent items in leaf {@code parent} point to the data extent. */
    public static DelayedRefKey sharedData(long parent) {
        return new DelayedRefKey(ItemType.SHARED_DATA_REF, 0, parent, 0, 0);
    }

    public boolean isData() {
        return type == ItemType.EXTENT_DATA_REF || type == ItemType.SHARED_DATA_REF;
    }

    public boolean isShared() {
        return type == ItemType.SHARED_BLOCK_REF || type == ItemType.SHARED_DATA_REF;
    }

    @Override
    public int compareTo(DelayedRefKey o) {
        int c = Integer.compare(type, o.type);
        if (c != 0) {
            return c;
        }
        c = Long.compareUnsigned(parent, o.parent);
        if (c != 0) {
            return c;
        }
        c = Long.compareUnsigned(root, o.root);
        if (c != 0) {
            return c;
        }
        c = Long.compareUnsigned(objectid, o.objectid);
        if (c != 0) {
            return c;
        }
        return Long.compareUnsigned(offset, o.offset);
    }

    /** The ref with its fields, e.g. {@code EXTENT_DATA_REF root 5 objectid 257 offset 0}. */
    @Override
    public String toString() {
        return switch (type) {
            case ItemType.TREE_BLOCK_REF -> "TREE_BLOCK_REF root " + Long.toUnsignedString(root);
            case ItemType.SHARED_BLOCK_REF -> "SHARED_BLOCK_REF parent " + Long.toUnsignedString(parent);
            case ItemType.SHARED_DATA_REF -> "SHARED_DATA_REF parent " + Long.toUnsignedString(parent);
            default -> "EXTENT_DATA_REF root " + Long.toUnsignedString(root) + " objectid "
                    + Long.toUnsignedString(objectid) + " offset " + Long.toUnsignedString(offset);
        };
    }
}
