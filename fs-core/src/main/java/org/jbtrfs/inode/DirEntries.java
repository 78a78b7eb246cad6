package org.jbtrfs.inode;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.jbtrfs.CorruptImageException;
import org.jbtrfs.Errno;
import org.jbtrfs.FsException;
import org.jbtrfs.InodeId;
import org.jbtrfs.ctree.Item;
import org.jbtrfs.format.Crc32c;
import org.jbtrfs.format.DirItem;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.InodeExtref;
import org.jbtrfs.format.InodeRef;
import org.jbtrfs.format.ItemType;
import org.jbtrfs.format.Le;

/**
 * The items that make a name (btrfs_add_link, btrfs_insert_dir_item, btrfs_insert_inode_ref and
 * their removal in btrfs_unlink_inode):
 * <ul>
 *   <li>in the directory: a DIR_ITEM keyed by the name's hash (names whose hashes collide share the
 *       item, one btrfs_dir_item after the other) and a DIR_INDEX keyed by the entry's index, the
 *       readdir order;</li>
 *   <li>in the child: an INODE_REF keyed by the parent, listing (index, name) of every name the
 *       child has in that directory — or, once that item would outgrow a leaf, an INODE_EXTREF
 *       keyed by the hash of parent and name (EXTENDED_IREF).</li>
 * </ul>
 * Indexes grow from 2 (0 and 1 are "." and ".."), one counter per directory, started at the last
 * DIR_INDEX + 1 the first time a directory gets a name (btrfs_set_inode_index_count). A
 * subvolume's entry has no inode ref; its ROOT_REF/ROOT_BACKREF are the subvolume code's.
 */
final class DirEntries {
    static final long DIR_START_INDEX = 2;

    private final Map<InodeId, Long> nextIndex = new ConcurrentHashMap<>();

    /** The entry {@code name} of {@code dir}, or null. */
    static DirItem find(TreeEdit t, long dir, byte[] name) throws IOException {
        Item it = t.get(new DiskKey(dir, ItemType.DIR_ITEM, Crc32c.nameHash(name)));
        if (it != null) {
            for (DirItem d : DirItem.decodeAll(it.data(), 0, it.size())) {
                if (Arrays.equals(d.name(), name)) {
                    return d;
                }
            }
        }
        return null;
    }

    private long takeIndex(TreeEdit t, long dir) throws IOException {
        InodeId key = new InodeId(t.treeId(), dir);
        Long next = nextIndex.get(key);
        if (next == null) {
            Item last = t.atOrBefore(new DiskKey(dir, ItemType.DIR_INDEX, -1L));
            next = last != null && last.key().objectid() == dir && last.key().type() == ItemType.DIR_INDEX
                    ? last.key().offset() + 1 : DIR_START_INDEX;
        }
        nextIndex.put(key, next + 1);
        return next;
    }

    /** Forgets the index counter of a directory that is gone. */
    void forget(long tree, long dir) {
        nextIndex.remove(new InodeId(tree, dir));
    }

    /**
     * Adds {@code name} in {@code dir} pointing at {@code location} (an inode's INODE_ITEM key, or
     * a subvolume's ROOT_ITEM key with {@code childIno} 0: no inode ref then). Returns the index.
     * The caller checked that the name is free and updates both inode items.
     */
    long add(TreeEdit t, long dir, byte[] name, DiskKey location, int fileType, long childIno) throws IOException {
        long index = takeIndex(t, dir);
        DirItem entry = new DirItem(location, t.transid, fileType, name, new byte[0]);
        DiskKey itemKey = new DiskKey(dir, ItemType.DIR_ITEM, Crc32c.nameHash(name));
        Item existing = t.get(itemKey);
        List<DirItem> all = new ArrayList<>();
        if (existing != null) {
            all.addAll(DirItem.decodeAll(existing.data(), 0, existing.size()));
        }
        all.add(entry);
        byte[] merged = DirItem.encodeAll(all);
        if (merged.length > t.trees.cow().maxItemSize()) {
            // Too many colliding names to share a leaf item (the kernel's -EOVERFLOW).
            throw new FsException(Errno.EOVERFLOW, "too many names with hash " + Le.u64s(itemKey.offset()) + " in directory "
                    + dir);
        }
        if (childIno != 0) {
            addRef(t, childIno, dir, index, name);
        }
        t.put(itemKey, merged);
        t.insert(new DiskKey(dir, ItemType.DIR_INDEX, index), DirItem.encodeAll(List.of(entry)));
        return index;
    }

    private void addRef(TreeEdit t, long child, long dir, long index, byte[] name) throws IOException {
        DiskKey refKey = new DiskKey(child, ItemType.INODE_REF, dir);
        Item existing = t.get(refKey);
        List<InodeRef> refs = new ArrayList<>();
        if (existing != null) {
            refs.addAll(InodeRef.decodeAll(existing.data(), 0, existing.size()));
        }
        refs.add(new InodeRef(index, name));
        byte[] data = InodeRef.encodeAll(refs);
        if (data.length <= t.trees.cow().maxItemSize()) {
            t.put(refKey, data);
            return;
        }
        // The INODE_REF is full: the name goes to an extended ref (btrfs_insert_inode_extref).
        DiskKey extKey = new DiskKey(child, ItemType.INODE_EXTREF, Crc32c.extrefHash(dir, name));
        Item ext = t.get(extKey);
        List<InodeExtref> exts = new ArrayList<>();
        if (ext != null) {
            exts.addAll(InodeExtref.decodeAll(ext.data(), 0, ext.size()));
        }
        exts.add(new InodeExtref(dir, index, name));
        byte[] extData = InodeExtref.encodeAll(exts);
        if (extData.length > t.trees.cow().maxItemSize()) {
            throw new FsException(Errno.EMLINK, "no room for another name of inode " + child + " in directory " + dir);
        }
        t.put(extKey, extData);
    }

    /**
     * Removes {@code name} from {@code dir}: the DIR_ITEM entry, the DIR_INDEX and the child's ref.
     * Returns the removed entry; the caller updates both inode items.
     */
    DirItem remove(TreeEdit t, long dir, byte[] name) throws IOException {
        DiskKey itemKey = new DiskKey(dir, ItemType.DIR_ITEM, Crc32c.nameHash(name));
        Item existing = t.get(itemKey);
        DirItem entry = null;
        List<DirItem> rest = new ArrayList<>();
        if (existing != null) {
            for (DirItem d : DirItem.decodeAll(existing.data(), 0, existing.size())) {
                if (entry == null && Arrays.equals(d.name(), name)) {
                    entry = d;
                } else {
                    rest.add(d);
                }
            }
        }
        if (entry == null) {
            throw new FsException(Errno.ENOENT, "no entry " + new String(name, java.nio.charset.StandardCharsets.UTF_8)
                    + " in directory " + dir);
        }
        long index;
        if (entry.location().type() == ItemType.INODE_ITEM) {
            index = removeRef(t, entry.location().objectid(), dir, name);
        } else {
            index = findIndex(t, dir, name);
        }
        if (rest.isEmpty()) {
            t.delete(itemKey);
        } else {
            t.put(itemKey, DirItem.encodeAll(rest));
        }
        if (!t.delete(new DiskKey(dir, ItemType.DIR_INDEX, index))) {
            throw new CorruptImageException("directory " + dir + " has no DIR_INDEX " + index + " for "
                    + new String(name, java.nio.charset.StandardCharsets.UTF_8));
        }
        return entry;
    }

    /** Removes the child's ref to (dir, name); returns the entry's index. */
    private long removeRef(TreeEdit t, long child, long dir, byte[] name) throws IOException {
        DiskKey refKey = new DiskKey(child, ItemType.INODE_REF, dir);
        Item ref = t.get(refKey);
        if (ref != null) {
            List<InodeRef> refs = new ArrayList<>(InodeRef.decodeAll(ref.data(), 0, ref.size()));
            for (int i = 0; i < refs.size(); i++) {
                if (Arrays.equals(refs.get(i).name(), name)) {
                    long index = refs.remove(i).index();
                    if (refs.isEmpty()) {
                        t.delete(refKey);
                    } else {
                        t.put(refKey, InodeRef.encodeAll(refs));
                    }
                    return index;
                }
            }
        }
        DiskKey extKey = new DiskKey(child, ItemType.INODE_EXTREF, Crc32c.extrefHash(dir, name));
        Item ext = t.get(extKey);
        if (ext != null) {
            List<InodeExtref> exts = new ArrayList<>(InodeExtref.decodeAll(ext.data(), 0, ext.size()));
            for (int i = 0; i < exts.size(); i++) {
                if (exts.get(i).parent() == dir && Arrays.equals(exts.get(i).name(), name)) {
                    long index = exts.remove(i).index();
                    if (exts.isEmpty()) {
                        t.delete(extKey);
                    } else {
                        t.put(extKey, InodeExtref.encodeAll(exts));
                    }
                    return index;
                }
            }
        }
        throw new CorruptImageException("inode " + child + " has no ref for its name "
                + new String(name, java.nio.charset.StandardCharsets.UTF_8) + " in directory " + dir);
    }

    /** The DIR_INDEX of a name that has no inode ref (a subvolume entry): found by scanning the indexes. */
    private static long findIndex(TreeEdit t, long dir, byte[] name) throws IOException {
        long[] found = {-1};
        t.scan(new DiskKey(dir, ItemType.DIR_INDEX, 0), new DiskKey(dir, ItemType.DIR_INDEX, -1L), (k, b, o, l) -> {
            for (DirItem d : DirItem.decodeAll(b, o, l)) {
                if (Arrays.equals(d.name(), name)) {
                    found[0] = k.offset();
                    return false;
                }
            }
            return true;
        });
        if (found[0] < 0) {
            throw new CorruptImageException("directory " + dir + " has no DIR_INDEX for "
                    + new String(name, java.nio.charset.StandardCharsets.UTF_8));
        }
        return found[0];
    }
}
