package org.jbtrfs.extent;

import java.io.IOException;
import org.jbtrfs.ctree.ExtentBuffer;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.FileExtentItem;
import org.jbtrfs.format.ItemType;

/**
 * btrfs_inc_ref / btrfs_dec_ref (__btrfs_mod_ref in extent-tree.c): one reference from a tree
 * block to each thing it points at, added or dropped as delayed refs. A node points at its child
 * blocks; a leaf at the data extent of every regular or prealloc file extent item (inline extents
 * and holes, disk_bytenr 0, point at nothing).
 *
 * <p>The references are keyed the way the block's extent item says (the backref rule of
 * extent-tree.c): {@code full} (the block is, or becomes, FULL_BACKREF) names the block itself as
 * parent — SHARED_BLOCK_REF / SHARED_DATA_REF — else the tree {@code rootId} — TREE_BLOCK_REF /
 * EXTENT_DATA_REF with the file extent's inode and key offset minus extent offset.
 */
public final class TreeBlockRefs {
    private TreeBlockRefs() {
    }

    public static void mod(DelayedRefs refs, ExtentBuffer eb, long rootId, boolean full, DelayedRefs.Action action,
            long transid, int nodesize) throws IOException {
        long parent = full ? eb.bytenr() : 0;
        int level = eb.level();
        for (int slot = 0; slot < eb.nritems(); slot++) {
            if (level > 0) {
                refs.addTreeRef(eb.blockptr(slot), nodesize, level - 1, rootId, parent, action, false, null, transid);
                continue;
            }
            DiskKey key = eb.key(slot);
            if (key.type() != ItemType.EXTENT_DATA) {
                continue;
            }
            FileExtentItem fi = FileExtentItem.decode(eb.data(), eb.itemDataOffset(slot), eb.itemSize(slot));
            if (fi.type() == FileExtentItem.TYPE_INLINE || fi.diskBytenr() == 0) {
                continue;
            }
            refs.addDataRef(fi.diskBytenr(), fi.diskNumBytes(), rootId, key.objectid(), key.offset() - fi.offset(),
                    parent, action, 1, false, transid);
        }
    }
}
