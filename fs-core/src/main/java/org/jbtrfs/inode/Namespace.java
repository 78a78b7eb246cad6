package org.jbtrfs.inode;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.jbtrfs.Attr;
import org.jbtrfs.CorruptImageException;
import org.jbtrfs.Errno;
import org.jbtrfs.FsException;
import org.jbtrfs.InodeId;
import org.jbtrfs.SetAttr;
import org.jbtrfs.ctree.CowRoot;
import org.jbtrfs.ctree.Item;
import org.jbtrfs.format.DirItem;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.FileExtentItem;
import org.jbtrfs.format.InodeItem;
import org.jbtrfs.format.ItemType;
import org.jbtrfs.format.ObjectIds;
import org.jbtrfs.format.RootItem;
import org.jbtrfs.format.Timespec;
import org.jbtrfs.transaction.FsTrees;
import org.jbtrfs.transaction.TransHandle;

/**
 * The namespace operations of a writable filesystem (inode.c: btrfs_create_common, btrfs_mkdir,
 * btrfs_symlink, btrfs_link, btrfs_unlink, btrfs_rmdir, btrfs_rename; xattr.c; the orphan items of
 * orphan.c): inode items, names, xattrs and orphans in a subvolume tree, within the caller's
 * transaction handle.
 *
 * <p>Each operation checks everything that can refuse it (ENOENT, EEXIST, ENOTEMPTY, ...) before
 * it changes an item, so that a refusal leaves the tree untouched; an error after the first change
 * is the caller's cue to abort the transaction. Each takes the subvolume tree's write lock for its
 * whole length; the caller serializes operations on the same inodes.
 *
 * <p>btrfs facts kept here: directories have nlink 1 and an i_size of twice the length of all
 * their names (one DIR_ITEM and one DIR_INDEX each); a new inode's generation is the creating
 * transaction; symlink targets are inline file extents; an unlinked inode that is still open keeps
 * an ORPHAN_ITEM (ORPHAN_OBJECTID, ORPHAN_ITEM, ino) in its tree until its items go.
 */
public final class Namespace {
    /** BTRFS_LINK_MAX. */
    public static final int LINK_MAX = 65535;
    /** The longest symlink target Linux passes (PATH_MAX - 1). */
    public static final int SYMLINK_MAX = 4095;
    public static final int XATTR_CREATE = 1;
    public static final int XATTR_REPLACE = 2;
    public static final int RENAME_NOREPLACE = 1;
    public static final int RENAME_EXCHANGE = 2;

    /** Removes the data of an inode whose last link is gone (FileWriter.dropAllExtents). */
    public interface DataDropper {
        void dropAllExtents(TransHandle h, long root, long ino) throws IOException;
    }

    /** An inode that lost a name; {@code lastLink} when it has none left (orphan it or evict it). */
    public record Unlinked(InodeId id, boolean lastLink) {
    }

    private final FsTrees trees;
    private final DataDropper dropper;
    private final DirEntries entries = new DirEntries();
    private final Map<Long, Long> nextIno = new ConcurrentHashMap<>();

    public Namespace(FsTrees trees, DataDropper dropper) {
        this.trees = trees;
        this.dropper = dropper;
    }

    private TreeEdit lock(TransHandle h, long tree) throws IOException {
        if (!ObjectIds.isSubvolumeId(tree)) {
            throw new FsException(Errno.ENOENT, "no subvolume " + Long.toUnsignedString(tree));
        }
        CowRoot r = trees.root(tree);
        r.lock.writeLock().lock();
        return new TreeEdit(trees, r, h);
    }

    private static void unlock(TreeEdit t) {
        t.root.lock.writeLock().unlock();
    }

    static MutableInode load(TreeEdit t, long ino) throws IOException {
        Item it = t.get(new DiskKey(ino, ItemType.INODE_ITEM, 0));
        if (it == null) {
            throw new FsException(Errno.ENOENT, "no inode " + ino + " in tree " + t.treeId());
        }
        return MutableInode.of(InodeItem.decode(it.data(), 0, it.size()));
    }

    static void store(TreeEdit t, long ino, MutableInode m) throws IOException {
        t.put(new DiskKey(ino, ItemType.INODE_ITEM, 0), m.toItem().encode());
    }

    private static MutableInode loadDir(TreeEdit t, long ino) throws IOException {
        MutableInode d = load(t, ino);
        if ((d.mode & Attr.S_IFMT) != Attr.S_IFDIR) {
            throw new FsException(Errno.ENOTDIR, "inode " + ino + " is not a directory");
        }
        if (d.nlink == 0) {
            throw new FsException(Errno.ENOENT, "directory " + ino + " was removed");
        }
        return d;
    }

    private static String str(byte[] name) {
        return new String(name, StandardCharsets.UTF_8);
    }

    private static void checkNewName(byte[] name) throws FsException {
        InodeReader.checkName(name);
        if ((name.length == 1 && name[0] == '.') || (name.length == 2 && name[0] == '.' && name[1] == '.')) {
            throw new FsException(Errno.EEXIST, "\"" + str(name) + "\" always exists");
        }
        for (byte b : name) {
            if (b == '/' || b == 0) {
                throw new FsException(Errno.EINVAL, "a name may not hold '/' or NUL");
            }
        }
    }

    /** btrfs_find_free_objectid(): the next inode number of a tree, after the highest in use. */
    private long allocIno(TreeEdit t) throws IOException {
        Long next = nextIno.get(t.treeId());
        if (next == null) {
            Item last = t.atOrBefore(new DiskKey(ObjectIds.LAST_FREE, 0xff, -1L));
            long highest = ObjectIds.FIRST_FREE - 1;
            if (last != null && Long.compareUnsigned(last.key().objectid(), ObjectIds.FIRST_FREE) >= 0
                    && Long.compareUnsigned(last.key().objectid(), ObjectIds.LAST_FREE) <= 0) {
                highest = last.key().objectid();
            }
            next = highest + 1;
        }
        if (Long.compareUnsigned(next, ObjectIds.LAST_FREE) > 0) {
            throw new FsException(Errno.ENOSPC, "tree " + t.treeId() + " has no free inode numbers");
        }
        nextIno.put(t.treeId(), next + 1);
        return next;
    }

    /** The file type byte of a directory entry for an inode mode (one that names a file type). */
    static int fileType(long mode) {
        int ft = DirItem.fileTypeOfMode(mode);
        if (ft == DirItem.FT_UNKNOWN) {
            throw new IllegalArgumentException("no file type for mode " + Long.toOctalString(mode));
        }
        return ft;
    }

    /**
     * The kernel's internal dev_t of a user-space device number (glibc's makedev encoding): major in
     * the bits above 20, minor in the low 20 — what INODE_ITEM.rdev holds. The inverse of
     * {@link InodeReader#userRdev}.
     */
    static long kernelRdev(long user) {
        long major = ((user >>> 8) & 0xfff) | ((user >>> 32) & ~0xfffL);
        long minor = (user & 0xff) | ((user >>> 12) & ~0xffL);
        return (major << 20) | (minor & 0xfffff);
    }

    /**
     * mknod/create/mkdir: a new inode of {@code mode} (type bits included; not a symlink) named
     * {@code name} in {@code dir}. {@code rdev} is a user-space device number for device nodes.
     */
    public InodeId create(TransHandle h, InodeId dir, byte[] name, int mode, long rdev, int uid, int gid, Timespec now)
            throws IOException {
        return create(h, dir, name, mode, rdev, uid, gid, 0, now);
    }

    /**
     * As above, with the caller's {@code umask}: it applies unless {@code dir} has a default ACL,
     * which decides the mode and the new inode's ACLs instead ({@link Acls}).
     */
    public InodeId create(TransHandle h, InodeId dir, byte[] name, int mode, long rdev, int uid, int gid, int umask,
            Timespec now) throws IOException {
        int type = mode & Attr.S_IFMT;
        if (type == Attr.S_IFLNK) {
            throw new FsException(Errno.EINVAL, "symlinks are made by symlink()");
        }
        if (type == 0) {
            mode |= Attr.S_IFREG; // mknod(2): a zero type means a regular file
            type = Attr.S_IFREG;
        }
        if (DirItem.fileTypeOfMode(type) == DirItem.FT_UNKNOWN) {
            throw new FsException(Errno.EINVAL, "mode " + Integer.toOctalString(mode) + " names no file type");
        }
        long diskRdev = type == Attr.S_IFCHR || type == Attr.S_IFBLK ? kernelRdev(rdev) : 0;
        return newInode(h, dir, name, mode, umask, diskRdev, uid, gid, now, null);
    }

    /** symlink(2): a symlink to {@code target}, stored as an inline extent. */
    public InodeId symlink(TransHandle h, InodeId dir, byte[] name, byte[] target, int uid, int gid, Timespec now)
            throws IOException {
        if (target.length == 0) {
            throw new FsException(Errno.ENOENT, "empty symlink target");
        }
        if (target.length > SYMLINK_MAX || target.length + FileExtentItem.INLINE_DATA_START
                > trees.cow().maxItemSize()) {
            throw new FsException(Errno.ENAMETOOLONG, "symlink target of " + target.length + " bytes");
        }
        return newInode(h, dir, name, Attr.S_IFLNK | 0777, 0, 0, uid, gid, now, target);
    }

    private InodeId newInode(TransHandle h, InodeId dir, byte[] name, int mode, int umask, long rdev, int uid, int gid,
            Timespec now, byte[] symlinkTarget) throws IOException {
        checkNewName(name);
        TreeEdit t = lock(h, dir.root());
        try {
            MutableInode parent = loadDir(t, dir.ino());
            if (DirEntries.find(t, dir.ino(), name) != null) {
                throw new FsException(Errno.EEXIST, str(name) + " exists in " + dir);
            }
            Acls.ForNew acl = Acls.forNew(t, dir.ino(), mode, umask);
            mode = acl.mode();
            long ino = allocIno(t);
            MutableInode m = new MutableInode();
            m.generation = h.transid();
            m.transid = h.transid();
            m.nlink = 1;
            m.uid = uid & 0xffffffffL;
            m.gid = gid & 0xffffffffL;
            m.mode = mode & 0xffffffffL;
            m.rdev = rdev;
            m.sequence = 1;
            m.atime = m.ctime = m.mtime = m.otime = now;
            if (symlinkTarget != null) {
                m.size = symlinkTarget.length;
                m.nbytes = symlinkTarget.length;
            }
            t.insert(new DiskKey(ino, ItemType.INODE_ITEM, 0), m.toItem().encode());
            if (symlinkTarget != null) {
                t.insert(new DiskKey(ino, ItemType.EXTENT_DATA, 0),
                        FileExtentItem.inline(h.transid(), symlinkTarget.length, 0, symlinkTarget).encode());
            }
            Acls.applyNew(t, ino, acl);
            entries.add(t, dir.ino(), name, new DiskKey(ino, ItemType.INODE_ITEM, 0), fileType(mode), ino);
            parent.size += 2L * name.length;
            parent.mtime = parent.ctime = now;
            parent.touch(h.transid());
            store(t, dir.ino(), parent);
            return new InodeId(dir.root(), ino);
        } finally {
            unlock(t);
        }
    }

    /** link(2): another name for {@code id} in {@code dir}. */
    public void link(TransHandle h, InodeId id, InodeId dir, byte[] name, Timespec now) throws IOException {
        checkNewName(name);
        if (id.root() != dir.root()) {
            throw new FsException(Errno.EXDEV, "hard links cannot cross subvolumes");
        }
        TreeEdit t = lock(h, dir.root());
        try {
            MutableInode parent = loadDir(t, dir.ino());
            MutableInode m = load(t, id.ino());
            if ((m.mode & Attr.S_IFMT) == Attr.S_IFDIR) {
                throw new FsException(Errno.EPERM, "hard links to directories are not allowed");
            }
            if (m.nlink == 0) {
                throw new FsException(Errno.ENOENT, "inode " + id + " has been removed");
            }
            if (m.nlink >= LINK_MAX) {
                throw new FsException(Errno.EMLINK, "inode " + id + " has " + m.nlink + " links");
            }
            if (DirEntries.find(t, dir.ino(), name) != null) {
                throw new FsException(Errno.EEXIST, str(name) + " exists in " + dir);
            }
            entries.add(t, dir.ino(), name, new DiskKey(id.ino(), ItemType.INODE_ITEM, 0), fileType(m.mode), id.ino());
            m.nlink++;
            m.ctime = now;
            m.touch(h.transid());
            store(t, id.ino(), m);
            parent.size += 2L * name.length;
            parent.mtime = parent.ctime = now;
            parent.touch(h.transid());
            store(t, dir.ino(), parent);
        } finally {
            unlock(t);
        }
    }

    /** unlink(2) of a non-directory. */
    public Unlinked unlink(TransHandle h, InodeId dir, byte[] name, Timespec now) throws IOException {
        return removeName(h, dir, name, false, now);
    }

    /**
     * btrfs_unlink_subvol's directory part: removes the entry {@code name} of {@code dir} that
     * leads to subvolume {@code subvol} (DIR_ITEM and DIR_INDEX; a subvolume has no INODE_REF) and
     * shrinks the directory by the name, as for any entry. The caller checked the entry and does
     * the root tree part (ROOT_REF, ROOT_BACKREF, the dead ROOT_ITEM).
     */
    public void unlinkSubvolume(TransHandle h, InodeId dir, byte[] name, long subvol, Timespec now) throws IOException {
        TreeEdit t = lock(h, dir.root());
        try {
            MutableInode parent = loadDir(t, dir.ino());
            DirItem d = entries.remove(t, dir.ino(), name);
            assert d.location().type() == ItemType.ROOT_ITEM && d.location().objectid() == subvol
                    : "entry " + str(name) + " leads to " + d.location() + ", not subvolume " + subvol;
            parent.size -= 2L * name.length;
            parent.mtime = parent.ctime = now;
            parent.touch(h.transid());
            store(t, dir.ino(), parent);
        } finally {
            unlock(t);
        }
    }

    /** rmdir(2): the directory must be empty. */
    public Unlinked rmdir(TransHandle h, InodeId dir, byte[] name, Timespec now) throws IOException {
        return removeName(h, dir, name, true, now);
    }

    private Unlinked removeName(TransHandle h, InodeId dir, byte[] name, boolean wantDir, Timespec now) throws IOException {
        InodeReader.checkName(name);
        if (name.length <= 2 && name[0] == '.' && (name.length == 1 || name[1] == '.')) {
            throw new FsException(name.length == 1 ? Errno.EINVAL : Errno.ENOTEMPTY, "cannot remove \"" + str(name) + "\"");
        }
        TreeEdit t = lock(h, dir.root());
        try {
            MutableInode parent = loadDir(t, dir.ino());
            DirItem d = DirEntries.find(t, dir.ino(), name);
            if (d == null) {
                throw new FsException(Errno.ENOENT, "no entry " + str(name) + " in " + dir);
            }
            if (d.location().type() != ItemType.INODE_ITEM) {
                // A subvolume: removing it is subvolume deletion (Filesystem.deleteSubvolume).
                throw new FsException(wantDir ? Errno.EPERM : Errno.EISDIR, str(name) + " is a subvolume");
            }
            long ino = d.location().objectid();
            MutableInode m = load(t, ino);
            boolean isDir = (m.mode & Attr.S_IFMT) == Attr.S_IFDIR;
            if (wantDir && !isDir) {
                throw new FsException(Errno.ENOTDIR, str(name) + " is not a directory");
            }
            if (!wantDir && isDir) {
                throw new FsException(Errno.EISDIR, str(name) + " is a directory");
            }
            if (isDir && m.size != 0) {
                throw new FsException(Errno.ENOTEMPTY, str(name) + " is not empty");
            }
            entries.remove(t, dir.ino(), name);
            dropLink(t, ino, m, now);
            parent.size -= 2L * name.length;
            parent.mtime = parent.ctime = now;
            parent.touch(h.transid());
            store(t, dir.ino(), parent);
            return new Unlinked(new InodeId(dir.root(), ino), m.nlink == 0);
        } finally {
            unlock(t);
        }
    }

    private void dropLink(TreeEdit t, long ino, MutableInode m, Timespec now) throws IOException {
        assert m.nlink > 0 : "inode " + ino + " has no link to drop";
        boolean isDir = (m.mode & Attr.S_IFMT) == Attr.S_IFDIR;
        m.nlink = isDir ? 0 : m.nlink - 1;
        m.ctime = now;
        m.touch(t.transid);
        store(t, ino, m);
        if (isDir) {
            entries.forget(t.treeId(), ino);
        }
    }

    /**
     * rename(2)/renameat2 with {@link #RENAME_NOREPLACE} or {@link #RENAME_EXCHANGE}. Returns the
     * inode the new name replaced (with lastLink when that was its last name), or null.
     */
    public Unlinked rename(TransHandle h, InodeId srcDir, byte[] srcName, InodeId dstDir, byte[] dstName, int flags,
            Timespec now) throws IOException {
        InodeReader.checkName(srcName);
        checkNewName(dstName);
        if ((flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)) != 0
                || flags == (RENAME_NOREPLACE | RENAME_EXCHANGE)) {
            throw new FsException(Errno.EINVAL, "rename flags " + flags);
        }
        if (srcDir.root() != dstDir.root()) {
            throw new FsException(Errno.EXDEV, "rename across subvolumes");
        }
        TreeEdit t = lock(h, srcDir.root());
        try {
            MutableInode sp = loadDir(t, srcDir.ino());
            MutableInode dp = srcDir.ino() == dstDir.ino() ? sp : loadDir(t, dstDir.ino());
            DirItem s = DirEntries.find(t, srcDir.ino(), srcName);
            if (s == null) {
                throw new FsException(Errno.ENOENT, "no entry " + str(srcName) + " in " + srcDir);
            }
            DirItem d = DirEntries.find(t, dstDir.ino(), dstName);
            if (s.location().type() != ItemType.INODE_ITEM || d != null && d.location().type() != ItemType.INODE_ITEM) {
                throw new FsException(Errno.EXDEV, "renaming subvolumes is not supported yet");
            }
            long sino = s.location().objectid();
            MutableInode sm = load(t, sino);
            boolean sIsDir = (sm.mode & Attr.S_IFMT) == Attr.S_IFDIR;
            // The kernel's order of refusals (do_renameat2, then vfs_rename).
            if ((flags & RENAME_EXCHANGE) != 0 && d == null) {
                throw new FsException(Errno.ENOENT, "no entry " + str(dstName) + " in " + dstDir + " to exchange with");
            }
            if ((flags & RENAME_NOREPLACE) != 0 && d != null) {
                throw new FsException(Errno.EEXIST, str(dstName) + " exists in " + dstDir);
            }
            if (sIsDir && isAncestorOrSelf(t, sino, dstDir.ino())) {
                throw new FsException(Errno.EINVAL, "cannot move a directory into itself");
            }
            MutableInode dm = d == null ? null : load(t, d.location().objectid());
            boolean dIsDir = dm != null && (dm.mode & Attr.S_IFMT) == Attr.S_IFDIR;
            if (dIsDir && isAncestorOrSelf(t, d.location().objectid(), srcDir.ino())) {
                throw new FsException((flags & RENAME_EXCHANGE) != 0 ? Errno.EINVAL : Errno.ENOTEMPTY,
                        str(dstName) + " holds the source");
            }
            if (d != null && d.location().objectid() == sino) {
                return null; // the same inode under both names: POSIX says do nothing
            }
            if ((flags & RENAME_EXCHANGE) != 0) {
                exchange(t, srcDir, srcName, s, sm, dstDir, dstName, d, dm, sp, dp, now);
                return null;
            }
            if (dm != null) {
                if (sIsDir && !dIsDir) {
                    throw new FsException(Errno.ENOTDIR, str(dstName) + " is not a directory");
                }
                if (!sIsDir && dIsDir) {
                    throw new FsException(Errno.EISDIR, str(dstName) + " is a directory");
                }
                if (dIsDir && dm.size != 0) {
                    throw new FsException(Errno.ENOTEMPTY, str(dstName) + " is not empty");
                }
            }
            // All checks passed: from here on every step changes the tree.
            Unlinked replaced = null;
            if (dm != null) {
                long dino = d.location().objectid();
                entries.remove(t, dstDir.ino(), dstName);
                dropLink(t, dino, dm, now);
                dp.size -= 2L * dstName.length;
                replaced = new Unlinked(new InodeId(dstDir.root(), dino), dm.nlink == 0);
            }
            entries.remove(t, srcDir.ino(), srcName);
            sp.size -= 2L * srcName.length;
            entries.add(t, dstDir.ino(), dstName, s.location(), fileType(sm.mode), sino);
            dp.size += 2L * dstName.length;
            sm.ctime = now;
            sm.touch(h.transid());
            store(t, sino, sm);
            touchDirs(t, srcDir, sp, dstDir, dp, now);
            return replaced;
        } finally {
            unlock(t);
        }
    }

    private void exchange(TreeEdit t, InodeId srcDir, byte[] srcName, DirItem s, MutableInode sm, InodeId dstDir,
            byte[] dstName, DirItem d, MutableInode dm, MutableInode sp, MutableInode dp, Timespec now) throws IOException {
        long sino = s.location().objectid();
        long dino = d.location().objectid();
        entries.remove(t, srcDir.ino(), srcName);
        entries.remove(t, dstDir.ino(), dstName);
        entries.add(t, dstDir.ino(), dstName, s.location(), fileType(sm.mode), sino);
        entries.add(t, srcDir.ino(), srcName, d.location(), fileType(dm.mode), dino);
        // Each directory keeps a name of the same length: sizes do not change.
        sm.ctime = now;
        sm.touch(t.transid);
        store(t, sino, sm);
        dm.ctime = now;
        dm.touch(t.transid);
        store(t, dino, dm);
        touchDirs(t, srcDir, sp, dstDir, dp, now);
    }

    private static void touchDirs(TreeEdit t, InodeId srcDir, MutableInode sp, InodeId dstDir, MutableInode dp,
            Timespec now) throws IOException {
        sp.mtime = sp.ctime = now;
        sp.touch(t.transid);
        store(t, srcDir.ino(), sp);
        if (dp != sp) {
            dp.mtime = dp.ctime = now;
            dp.touch(t.transid);
            store(t, dstDir.ino(), dp);
        }
    }

    /** Whether directory {@code ancestor} is {@code dir} or one of its ancestors (following INODE_REFs up). */
    private static boolean isAncestorOrSelf(TreeEdit t, long ancestor, long dir) throws IOException {
        long cur = dir;
        for (int depth = 0; depth < 1 << 20; depth++) {
            if (cur == ancestor) {
                return true;
            }
            Item ref = t.atOrBefore(new DiskKey(cur, ItemType.INODE_REF, -1L));
            if (ref == null || ref.key().objectid() != cur || ref.key().type() != ItemType.INODE_REF
                    || ref.key().offset() == cur) {
                return false; // the top directory refers to itself
            }
            cur = ref.key().offset();
        }
        throw new CorruptImageException("directory " + dir + " has a parent loop");
    }

    /** chmod/chown/utimes. A size change is the file writer's, before this. */
    public void setattr(TransHandle h, InodeId id, SetAttr a, Timespec now) throws IOException {
        TreeEdit t = lock(h, id.root());
        try {
            MutableInode m = load(t, id.ino());
            if (a.mode() != null) {
                m.mode = (m.mode & Attr.S_IFMT) | (a.mode() & 07777);
                Acls.chmod(t, id.ino(), a.mode());
            }
            if (a.uid() != null) {
                m.uid = a.uid() & 0xffffffffL;
            }
            if (a.gid() != null) {
                m.gid = a.gid() & 0xffffffffL;
            }
            if (a.atime() != null) {
                m.atime = a.atime();
            }
            if (a.mtime() != null) {
                m.mtime = a.mtime();
            }
            m.ctime = a.ctime() != null ? a.ctime() : now;
            m.touch(h.transid());
            store(t, id.ino(), m);
        } finally {
            unlock(t);
        }
    }

    /** setxattr(2) with {@link #XATTR_CREATE} / {@link #XATTR_REPLACE}. */
    public void setxattr(TransHandle h, InodeId id, byte[] name, byte[] value, int flags, Timespec now) throws IOException {
        TreeEdit t = lock(h, id.root());
        try {
            MutableInode m = load(t, id.ino());
            if (Acls.isAclName(name)) {
                Acls.set(t, id.ino(), m, name, value); // the mode follows an access ACL
            } else {
                Xattrs.set(t, id.ino(), name, value, flags);
            }
            m.ctime = now;
            m.touch(h.transid());
            store(t, id.ino(), m);
        } finally {
            unlock(t);
        }
    }

    /** removexattr(2): ENODATA when there is no such xattr. */
    public void removexattr(TransHandle h, InodeId id, byte[] name, Timespec now) throws IOException {
        TreeEdit t = lock(h, id.root());
        try {
            MutableInode m = load(t, id.ino());
            Xattrs.remove(t, id.ino(), name);
            m.ctime = now;
            m.touch(h.transid());
            store(t, id.ino(), m);
        } finally {
            unlock(t);
        }
    }

    /** Records that inode {@code id}, with no links left, is still open (btrfs_orphan_add). */
    public void addOrphan(TransHandle h, InodeId id) throws IOException {
        TreeEdit t = lock(h, id.root());
        try {
            t.put(orphanKey(id.ino()), new byte[0]);
        } finally {
            unlock(t);
        }
    }

    private static DiskKey orphanKey(long ino) {
        return new DiskKey(ObjectIds.ORPHAN, ItemType.ORPHAN_ITEM, ino);
    }

    /** The inodes with an ORPHAN_ITEM in subvolume tree {@code tree}. */
    public List<Long> orphans(long tree) throws IOException {
        List<Long> out = new ArrayList<>();
        trees.reads().scan(tree, orphanKey(0), orphanKey(-1L), (k, b, o, l) -> {
            out.add(k.offset());
            return true;
        });
        return out;
    }

    /**
     * btrfs_evict_inode() of an inode with no links: its data, then every item with its objectid,
     * then its orphan item. An inode that still has links is left alone (false).
     */
    public boolean evict(TransHandle h, InodeId id) throws IOException {
        RootItem ri = trees.reads().rootItem(id.root());
        if (ri == null || ri.refs() == 0) {
            // A deleted subvolume (btrfs_evict_inode skips a root with refs 0): its whole tree goes
            // with the drop, which must find it as the deletion committed it.
            return false;
        }
        CowRoot r = trees.root(id.root());
        r.lock.writeLock().lock();
        try {
            TreeEdit t = new TreeEdit(trees, r, h);
            Item it = t.get(new DiskKey(id.ino(), ItemType.INODE_ITEM, 0));
            if (it == null || InodeItem.decode(it.data(), 0, it.size()).nlink() > 0) {
                return false;
            }
            long mode = InodeItem.decode(it.data(), 0, it.size()).mode();
            boolean regular = (mode & Attr.S_IFMT) == Attr.S_IFREG;
            if (regular) {
                // The data first: it needs the inode item (size, nbytes) the file writer keeps.
                dropper.dropAllExtents(h, id.root(), id.ino());
            }
            List<DiskKey> keys = new ArrayList<>();
            List<Boolean> inline = new ArrayList<>();
            t.scan(new DiskKey(id.ino(), 0, 0), new DiskKey(id.ino(), 0xff, -1L), (k, b, o, l) -> {
                keys.add(k);
                inline.add(k.type() == ItemType.EXTENT_DATA && FileExtentItem.decode(b, o, l).isInline());
                return true;
            });
            for (int i = 0; i < keys.size(); i++) {
                DiskKey k = keys.get(i);
                // A symlink's target is an inline extent: no data extent, no csums, nothing to drop.
                if (k.type() == ItemType.EXTENT_DATA && (regular || !inline.get(i))) {
                    throw new AssertionError("inode " + id + " still has extent " + k + " after its data was dropped");
                }
                t.delete(k);
            }
            if (t.get(orphanKey(id.ino())) != null) {
                t.delete(orphanKey(id.ino()));
            }
            return true;
        } finally {
            r.lock.writeLock().unlock();
        }
    }

    /** The subvolume trees (FS_TREE and every subvolume or snapshot) of the filesystem. */
    public List<Long> subvolumes() throws IOException {
        List<Long> out = new ArrayList<>();
        out.add(ObjectIds.FS_TREE);
        trees.reads().scan(ObjectIds.ROOT_TREE, new DiskKey(ObjectIds.FIRST_FREE, ItemType.ROOT_ITEM, 0),
                new DiskKey(ObjectIds.LAST_FREE, ItemType.ROOT_ITEM, -1L), (k, b, o, l) -> {
                    if (k.type() == ItemType.ROOT_ITEM && (out.isEmpty() || out.get(out.size() - 1) != k.objectid())) {
                        RootItem ri = RootItem.decode(b, o, l);
                        if (ri.refs() > 0) {
                            out.add(k.objectid());
                        }
                    }
                    return true;
                });
        return out;
    }
}
