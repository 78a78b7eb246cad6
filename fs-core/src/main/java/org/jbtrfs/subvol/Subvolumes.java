package org.jbtrfs.subvol;

import java.io.IOException;
import java.util.Arrays;
import org.jbtrfs.CorruptImageException;
import org.jbtrfs.InodeId;
import org.jbtrfs.ctree.Item;
import org.jbtrfs.ctree.TreeReads;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.ItemType;
import org.jbtrfs.format.Le;
import org.jbtrfs.format.ObjectIds;
import org.jbtrfs.format.RootItem;
import org.jbtrfs.format.RootRef;

/**
 * Subvolumes as the directory tree shows them (fixup_tree_root_location and btrfs_lookup_dentry in
 * inode.c). A directory entry whose location is (subvol ROOT_ITEM -1) leads into subvolume
 * {@code subvol} when the root tree links it there with a ROOT_REF from the entry's subvolume and
 * directory under the same name; the entry then stands for the subvolume's top directory. An
 * entry without that link (a subvolume that was inside the source of a snapshot) shows as an empty
 * directory with inode number {@link ObjectIds#EMPTY_SUBVOL_DIR}, as the kernel shows it.
 */
public final class Subvolumes {
    private final TreeReads trees;

    public Subvolumes(TreeReads trees) {
        this.trees = trees;
    }

    /** The id of the subvolume mounted as "/": the default subvolume when one is set, else FS_TREE. */
    public long defaultSubvolume() throws IOException {
        // The DEFAULT dir item in the root tree's directory (ROOT_TREE_DIR) names it.
        byte[] name = "default".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        Item it = trees.lookup(ObjectIds.ROOT_TREE, new DiskKey(ObjectIds.ROOT_TREE_DIR, ItemType.DIR_ITEM,
                org.jbtrfs.format.Crc32c.nameHash(name)));
        if (it != null) {
            for (org.jbtrfs.format.DirItem d : org.jbtrfs.format.DirItem.decodeAll(it.data(), 0, it.size())) {
                if (Arrays.equals(d.name(), name) && d.location().type() == ItemType.ROOT_ITEM) {
                    return d.location().objectid();
                }
            }
        }
        return ObjectIds.FS_TREE;
    }

    /** The top directory of subvolume {@code id}. */
    public InodeId topDirectory(long id) throws IOException {
        RootItem ri = trees.rootItem(id);
        if (ri == null) {
            throw new CorruptImageException("subvolume " + Le.u64s(id) + " has no ROOT_ITEM");
        }
        return new InodeId(id, ri.rootDirid());
    }

    /**
     * Where the entry {@code name} in directory {@code dir} leads, given its location key is a
     * ROOT_ITEM of subvolume {@code subvol}.
     */
    public InodeId enter(InodeId dir, byte[] name, long subvol) throws IOException {
        Item ref = trees.lookup(ObjectIds.ROOT_TREE, new DiskKey(dir.root(), ItemType.ROOT_REF, subvol));
        if (ref != null) {
            RootRef rr = RootRef.decode(ref.data(), 0, ref.size());
            if (rr.dirid() == dir.ino() && Arrays.equals(rr.name(), name) && trees.rootItem(subvol) != null) {
                return topDirectory(subvol);
            }
        }
        return new InodeId(dir.root(), ObjectIds.EMPTY_SUBVOL_DIR);
    }

    /**
     * The directory that holds subvolume {@code id}'s top directory, from its ROOT_BACKREF, or null
     * for the top-level subvolume (and for one that is not linked anywhere).
     */
    public InodeId parentOfTop(long id) throws IOException {
        Item it = trees.findAtOrBefore(ObjectIds.ROOT_TREE, new DiskKey(id, ItemType.ROOT_BACKREF, -1L));
        if (it == null || it.key().objectid() != id || it.key().type() != ItemType.ROOT_BACKREF) {
            return null;
        }
        RootRef rr = RootRef.decode(it.data(), 0, it.size());
        return new InodeId(it.key().offset(), rr.dirid());
    }
}
