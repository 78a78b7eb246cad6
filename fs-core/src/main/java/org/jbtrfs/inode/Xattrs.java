package org.jbtrfs.inode;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.jbtrfs.Errno;
import org.jbtrfs.FsException;
import org.jbtrfs.ctree.Item;
import org.jbtrfs.format.Crc32c;
import org.jbtrfs.format.DirItem;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.ItemType;

/**
 * Extended attributes (xattr.c: btrfs_setxattr). An xattr is a btrfs_dir_item of type FT_XATTR
 * with a zero location key, the name and then the value as its data, in an XATTR_ITEM keyed by
 * (ino, XATTR_ITEM, crc32c name hash); names whose hashes collide share the item. Name plus value
 * must fit one leaf item with its dir_item header (BTRFS_MAX_XATTR_SIZE), else ENOSPC as the
 * kernel answers (E2BIG comes from the VFS above 64 KiB).
 */
final class Xattrs {
    private Xattrs() {
    }

    static void set(TreeEdit t, long ino, byte[] name, byte[] value, int flags) throws IOException {
        if (name.length == 0 || name.length > InodeReader.NAME_MAX) {
            throw new FsException(name.length == 0 ? Errno.EINVAL : Errno.ERANGE, "xattr name of " + name.length + " bytes");
        }
        if (value.length > InodeReader.XATTR_SIZE_MAX) {
            throw new FsException(Errno.E2BIG, "xattr value of " + value.length + " bytes");
        }
        int maxXattr = t.trees.cow().maxItemSize() - DirItem.HEADER_SIZE;
        if (name.length + value.length > maxXattr) {
            throw new FsException(Errno.ENOSPC, "xattr of " + (name.length + value.length) + " bytes does not fit a leaf item ("
                    + maxXattr + ")");
        }
        DiskKey key = new DiskKey(ino, ItemType.XATTR_ITEM, Crc32c.nameHash(name));
        Item it = t.get(key);
        List<DirItem> rest = new ArrayList<>();
        boolean found = false;
        if (it != null) {
            for (DirItem d : DirItem.decodeAll(it.data(), 0, it.size())) {
                if (Arrays.equals(d.name(), name)) {
                    found = true;
                } else {
                    rest.add(d);
                }
            }
        }
        if (found && (flags & Namespace.XATTR_CREATE) != 0) {
            throw new FsException(Errno.EEXIST, "xattr exists");
        }
        if (!found && (flags & Namespace.XATTR_REPLACE) != 0) {
            throw new FsException(Errno.ENODATA, "no such xattr to replace");
        }
        rest.add(new DirItem(new DiskKey(0, 0, 0), t.transid, DirItem.FT_XATTR, name, value));
        byte[] data = DirItem.encodeAll(rest);
        if (data.length > t.trees.cow().maxItemSize()) {
            throw new FsException(Errno.ENOSPC, "no room beside the xattrs whose names share this hash");
        }
        t.put(key, data);
    }

    /** The value of xattr {@code name}, or null when the inode has none. */
    static byte[] get(TreeEdit t, long ino, byte[] name) throws IOException {
        Item it = t.get(new DiskKey(ino, ItemType.XATTR_ITEM, Crc32c.nameHash(name)));
        if (it != null) {
            for (DirItem d : DirItem.decodeAll(it.data(), 0, it.size())) {
                if (Arrays.equals(d.name(), name)) {
                    return d.data();
                }
            }
        }
        return null;
    }

    static void remove(TreeEdit t, long ino, byte[] name) throws IOException {
        DiskKey key = new DiskKey(ino, ItemType.XATTR_ITEM, Crc32c.nameHash(name));
        Item it = t.get(key);
        List<DirItem> rest = new ArrayList<>();
        boolean found = false;
        if (it != null) {
            for (DirItem d : DirItem.decodeAll(it.data(), 0, it.size())) {
                if (!found && Arrays.equals(d.name(), name)) {
                    found = true;
                } else {
                    rest.add(d);
                }
            }
        }
        if (!found) {
            throw new FsException(Errno.ENODATA, "no such xattr");
        }
        if (rest.isEmpty()) {
            t.delete(key);
        } else {
            t.put(key, DirItem.encodeAll(rest));
        }
    }
}
