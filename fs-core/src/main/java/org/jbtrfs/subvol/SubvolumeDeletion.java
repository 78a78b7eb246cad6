package org.jbtrfs.subvol;

import java.io.IOException;
import java.util.Arrays;
import org.jbtrfs.Errno;
import org.jbtrfs.FsException;
import org.jbtrfs.InodeId;
import org.jbtrfs.ctree.Item;
import org.jbtrfs.format.DirItem;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.ItemType;
import org.jbtrfs.format.Le;
import org.jbtrfs.format.ObjectIds;
import org.jbtrfs.format.RootItem;
import org.jbtrfs.format.RootRef;
import org.jbtrfs.format.U64Array;
import org.jbtrfs.format.Uuids;
import org.jbtrfs.transaction.FsTrees;
import org.jbtrfs.transaction.TransHandle;

/**
 * The first half of subvolume deletion (btrfs_delete_subvolume in inode.c, may_destroy_subvol,
 * btrfs_del_root_ref in root-tree.c, btrfs_uuid_tree_remove): what happens at once, in the
 * deleting transaction. The directory entry goes (the caller does that in the parent's tree), then
 * the root tree forgets the link and marks the tree dead:
 * <ol>
 *   <li>ROOT_REF (parent ROOT_REF id) and ROOT_BACKREF (id ROOT_BACKREF parent) are deleted;</li>
 *   <li>the ROOT_ITEM gets refs 0 and the flag BTRFS_ROOT_SUBVOL_DEAD ({@link RootItem#FLAG_DEAD});</li>
 *   <li>an ORPHAN_ITEM (ORPHAN_OBJECTID -5, ORPHAN_ITEM 48, id) marks it for the cleaner, and for
 *       the next read-write mount should this one end first (btrfs_find_orphan_roots);</li>
 *   <li>the UUID tree's UUID_KEY_SUBVOL and UUID_KEY_RECEIVED_SUBVOL entries naming it go.</li>
 * </ol>
 * The second half — freeing the tree — is {@link DropSnapshot}, run by the cleaner.
 */
public final class SubvolumeDeletion {
    private SubvolumeDeletion() {
    }

    /**
     * The checks of btrfs_delete_subvolume before anything changes: {@code name} in {@code dir}
     * must be a subvolume linked there (ENOENT, ENOTDIR otherwise), not the default subvolume
     * (EPERM) and without subvolumes inside it (ENOTEMPTY). Returns the subvolume's id.
     */
    public static long check(FsTrees trees, InodeId dir, byte[] name) throws IOException {
        Item it = trees.reads().lookup(dir.root(), new DiskKey(dir.ino(), ItemType.DIR_ITEM,
                org.jbtrfs.format.Crc32c.nameHash(name)));
        DirItem entry = null;
        if (it != null) {
            for (DirItem d : DirItem.decodeAll(it.data(), 0, it.size())) {
                if (Arrays.equals(d.name(), name)) {
                    entry = d;
                }
            }
        }
        String shown = new String(name, java.nio.charset.StandardCharsets.UTF_8);
        if (entry == null) {
            throw new FsException(Errno.ENOENT, "no entry " + shown + " in " + dir);
        }
        if (entry.location().type() != ItemType.ROOT_ITEM) {
            throw new FsException(Errno.ENOTDIR, shown + " is not a subvolume");
        }
        long id = entry.location().objectid();
        Item ref = trees.reads().lookup(ObjectIds.ROOT_TREE, new DiskKey(dir.root(), ItemType.ROOT_REF, id));
        RootRef rr = ref == null ? null : RootRef.decode(ref.data(), 0, ref.size());
        RootItem ri = trees.reads().rootItem(id);
        if (rr == null || rr.dirid() != dir.ino() || !Arrays.equals(rr.name(), name) || ri == null || ri.refs() == 0) {
            throw new FsException(Errno.ENOENT, shown + " in " + dir + " is not a live subvolume linked there");
        }
        if (id == new Subvolumes(trees.reads()).defaultSubvolume()) {
            throw new FsException(Errno.EPERM, "subvolume " + Le.u64s(id) + " is the default subvolume");
        }
        Item child = trees.reads().findAtOrBefore(ObjectIds.ROOT_TREE, new DiskKey(id, ItemType.ROOT_REF, -1L));
        if (child != null && child.key().objectid() == id && child.key().type() == ItemType.ROOT_REF) {
            throw new FsException(Errno.ENOTEMPTY, "subvolume " + Le.u64s(id) + " holds subvolume "
                    + Le.u64s(child.key().offset()));
        }
        return id;
    }

    /**
     * The root tree side of deleting subvolume {@code id}, linked from tree {@code parentRoot}
     * (see the class comment). The caller removed the directory entry in the same handle.
     */
    public static void markDead(FsTrees trees, TransHandle h, long parentRoot, long id) throws IOException {
        if (!TreeItems.delete(trees, h, ObjectIds.ROOT_TREE, new DiskKey(parentRoot, ItemType.ROOT_REF, id))
                || !TreeItems.delete(trees, h, ObjectIds.ROOT_TREE, new DiskKey(id, ItemType.ROOT_BACKREF, parentRoot))) {
            throw new AssertionError("ROOT_REF/ROOT_BACKREF of " + Le.u64s(id) + " vanished after the check");
        }
        Item it = trees.reads().findAtOrBefore(ObjectIds.ROOT_TREE, new DiskKey(id, ItemType.ROOT_ITEM, -1L));
        assert it != null && it.key().objectid() == id && it.key().type() == ItemType.ROOT_ITEM : "ROOT_ITEM of " + id;
        RootItem ri = RootItem.decode(it.data(), 0, it.size());
        TreeItems.put(trees, h, ObjectIds.ROOT_TREE, it.key(),
                ri.withRefsAndFlags(0, ri.flags() | RootItem.FLAG_DEAD).encode());
        TreeItems.put(trees, h, ObjectIds.ROOT_TREE, new DiskKey(ObjectIds.ORPHAN, ItemType.ORPHAN_ITEM, id), new byte[0]);
        if (trees.reads().rootItem(ObjectIds.UUID_TREE) != null) {
            removeUuid(trees, h, ri.uuid(), ItemType.UUID_KEY_SUBVOL, id);
            removeUuid(trees, h, ri.receivedUuid(), ItemType.UUID_KEY_RECEIVED_SUBVOL, id);
        }
    }

    /** btrfs_uuid_tree_remove: takes {@code id} out of the uuid's item, and the item when it empties. */
    private static void removeUuid(FsTrees trees, TransHandle h, byte[] uuid, int type, long id) throws IOException {
        if (Uuids.isZero(uuid)) {
            return;
        }
        DiskKey key = U64Array.uuidKey(uuid, type);
        Item it = trees.reads().lookup(ObjectIds.UUID_TREE, key);
        if (it == null) {
            return;
        }
        long[] ids = U64Array.decode(it.data(), 0, it.size(), ItemType.name(type));
        long[] rest = Arrays.stream(ids).filter(v -> v != id).toArray();
        if (rest.length == ids.length) {
            return;
        }
        if (rest.length == 0) {
            TreeItems.delete(trees, h, ObjectIds.UUID_TREE, key);
        } else {
            TreeItems.put(trees, h, ObjectIds.UUID_TREE, key, U64Array.encode(rest));
        }
    }

    /** Deletes every ROOT_BACKREF of {@code id} and the matching ROOT_REFs (the end of a drop). */
    static void deleteRootRefs(FsTrees trees, TransHandle h, long id) throws IOException {
        while (true) {
            Item it = trees.reads().findAtOrBefore(ObjectIds.ROOT_TREE, new DiskKey(id, ItemType.ROOT_BACKREF, -1L));
            if (it == null || it.key().objectid() != id || it.key().type() != ItemType.ROOT_BACKREF) {
                return;
            }
            long parent = it.key().offset();
            TreeItems.delete(trees, h, ObjectIds.ROOT_TREE, it.key());
            TreeItems.delete(trees, h, ObjectIds.ROOT_TREE, new DiskKey(parent, ItemType.ROOT_REF, id));
        }
    }
}
