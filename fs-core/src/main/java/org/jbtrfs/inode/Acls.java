package org.jbtrfs.inode;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.jbtrfs.Attr;
import org.jbtrfs.CorruptImageException;
import org.jbtrfs.Errno;
import org.jbtrfs.FsException;
import org.jbtrfs.format.PosixAcl;

/**
 * POSIX ACLs on btrfs inodes (the kernel's fs/btrfs/acl.c over fs/posix_acl.c): stored as the
 * xattrs {@link PosixAcl#ACCESS_XATTR} and {@link PosixAcl#DEFAULT_XATTR}, and kept in step with
 * the mode.
 * <ul>
 *   <li>Create (btrfs_init_acl / posix_acl_create): under a directory with a default ACL the new
 *       inode's mode is cut down by that ACL (the umask does not apply), it gets an access ACL
 *       unless that says no more than the mode, and a new directory inherits the default ACL.
 *       Without one the umask applies. Symlinks get neither.</li>
 *   <li>Setting an access ACL sets the mode's permission bits from it (posix_acl_update_mode); an
 *       ACL equivalent to a mode is not stored. A default ACL exists only on directories.</li>
 *   <li>chmod rewrites the access ACL's owner, group-or-mask and other entries
 *       (posix_acl_chmod).</li>
 * </ul>
 */
final class Acls {
    static final byte[] ACCESS = PosixAcl.ACCESS_XATTR.getBytes(StandardCharsets.US_ASCII);
    static final byte[] DEFAULT = PosixAcl.DEFAULT_XATTR.getBytes(StandardCharsets.US_ASCII);

    private Acls() {
    }

    static boolean isAclName(byte[] name) {
        return Arrays.equals(name, ACCESS) || Arrays.equals(name, DEFAULT);
    }

    /** A new inode's mode and the ACL xattrs to give it (null: none). */
    record ForNew(int mode, byte[] access, byte[] inheritedDefault) {
    }

    /** What a new inode of {@code mode} (type and permission bits) in directory {@code dir} gets. */
    static ForNew forNew(TreeEdit t, long dir, int mode, int umask) throws IOException {
        if ((mode & Attr.S_IFMT) == Attr.S_IFLNK) {
            return new ForNew(mode, null, null);
        }
        byte[] def = Xattrs.get(t, dir, DEFAULT);
        PosixAcl acl = def == null ? null : decodeStored(def, dir);
        if (acl == null) {
            return new ForNew(mode & ~(umask & 0777), null, null);
        }
        PosixAcl.Inherited in = acl.inherit(mode);
        boolean isDir = (mode & Attr.S_IFMT) == Attr.S_IFDIR;
        return new ForNew(in.mode(), in.access() == null ? null : in.access().encode(), isDir ? def : null);
    }

    /** Gives a new inode the ACLs {@link #forNew} decided. */
    static void applyNew(TreeEdit t, long ino, ForNew f) throws IOException {
        if (f.access() != null) {
            Xattrs.set(t, ino, ACCESS, f.access(), 0);
        }
        if (f.inheritedDefault() != null) {
            Xattrs.set(t, ino, DEFAULT, f.inheritedDefault(), 0);
        }
    }

    /** setxattr of an ACL name on inode {@code m}; the mode follows an access ACL. */
    static void set(TreeEdit t, long ino, MutableInode m, byte[] name, byte[] value) throws IOException {
        PosixAcl acl = PosixAcl.decode(value);
        if (Arrays.equals(name, DEFAULT)) {
            if ((m.mode & Attr.S_IFMT) != Attr.S_IFDIR) {
                if (acl != null) {
                    throw new FsException(Errno.EACCES, "a default ACL is only for directories");
                }
                return;
            }
            if (acl == null) {
                removeIfThere(t, ino, DEFAULT);
            } else {
                Xattrs.set(t, ino, DEFAULT, acl.encode(), 0);
            }
            return;
        }
        if (acl == null) {
            removeIfThere(t, ino, ACCESS);
            return;
        }
        m.mode = (m.mode & ~0777L) | acl.modeBits();
        if (acl.isEquivalentToMode()) {
            removeIfThere(t, ino, ACCESS); // the mode says it all
        } else {
            Xattrs.set(t, ino, ACCESS, acl.encode(), 0);
        }
    }

    /** chmod: the access ACL, if any, takes the new permission bits. */
    static void chmod(TreeEdit t, long ino, int mode) throws IOException {
        byte[] cur = Xattrs.get(t, ino, ACCESS);
        if (cur == null) {
            return;
        }
        PosixAcl acl = decodeStored(cur, ino);
        if (acl != null) {
            Xattrs.set(t, ino, ACCESS, acl.chmod(mode).encode(), 0);
        }
    }

    private static void removeIfThere(TreeEdit t, long ino, byte[] name) throws IOException {
        if (Xattrs.get(t, ino, name) != null) {
            Xattrs.remove(t, ino, name);
        }
    }

    /** An ACL read from the image: invalid is damage, not a caller's mistake. */
    private static PosixAcl decodeStored(byte[] v, long ino) throws CorruptImageException {
        try {
            return PosixAcl.decode(v);
        } catch (FsException e) {
            throw new CorruptImageException("inode " + ino + " has a bad ACL xattr: " + e.getMessage());
        }
    }
}
