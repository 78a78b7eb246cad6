package org.jbtrfs.format;

import java.util.ArrayList;
import java.util.List;
import org.jbtrfs.Errno;
import org.jbtrfs.FsException;

/**
 * A POSIX ACL as btrfs stores it: the value of the xattr {@code system.posix_acl_access} (the
 * access ACL) or {@code system.posix_acl_default} (a directory's default ACL, inherited by what is
 * created in it). The value is the kernel's posix_acl_xattr format, little-endian:
 * <pre>
 *   header   0 a_version u32 = 2
 *   entries  8 bytes each: 0 e_tag u16 · 2 e_perm u16 (rwx = 4|2|1) · 4 e_id u32
 *            (uid for USER, gid for GROUP, -1 for the others)
 * </pre>
 * The rules are fs/posix_acl.c's: a valid ACL has one USER_OBJ, one GROUP_OBJ and one OTHER
 * entry, a MASK entry when it has named USER or GROUP entries, entries in tag order; an ACL with only the three base entries says no more than a mode does
 * ({@link #isEquivalentToMode}) and is not stored.
 */
public record PosixAcl(List<Entry> entries) {
    public static final String ACCESS_XATTR = "system.posix_acl_access";
    public static final String DEFAULT_XATTR = "system.posix_acl_default";
    public static final int VERSION = 2;

    public static final int USER_OBJ = 0x01;
    public static final int USER = 0x02;
    public static final int GROUP_OBJ = 0x04;
    public static final int GROUP = 0x08;
    public static final int MASK = 0x10;
    public static final int OTHER = 0x20;
    private static final int UNDEFINED_ID = -1;

    /** One entry: tag, rwx bits, and the uid or gid of a named entry (-1 otherwise). */
    public record Entry(int tag, int perm, int id) {
    }

    public PosixAcl {
        entries = List.copyOf(entries);
    }

    /**
     * Decodes and validates an xattr value (posix_acl_from_xattr, posix_acl_valid): EINVAL for a
     * malformed or invalid ACL. An empty ACL (the header alone) decodes to null: no ACL.
     */
    public static PosixAcl decode(byte[] v) throws FsException {
        if (v.length < 4 || (v.length - 4) % 8 != 0) {
            throw new FsException(Errno.EINVAL, "ACL xattr of " + v.length + " bytes");
        }
        if (Le.u32(v, 0) != VERSION) {
            throw new FsException(Errno.EOPNOTSUPP, "ACL xattr version " + Le.u32(v, 0));
        }
        int n = (v.length - 4) / 8;
        if (n == 0) {
            return null;
        }
        List<Entry> es = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            int at = 4 + 8 * i;
            int tag = Le.u16(v, at);
            int perm = Le.u16(v, at + 2);
            int id = (int) Le.u32(v, at + 4);
            es.add(new Entry(tag, perm, tag == USER || tag == GROUP ? id : UNDEFINED_ID));
        }
        PosixAcl acl = new PosixAcl(es);
        acl.validate();
        return acl;
    }

    public byte[] encode() {
        byte[] v = new byte[4 + 8 * entries.size()];
        Le.putU32(v, 0, VERSION);
        for (int i = 0; i < entries.size(); i++) {
            Entry e = entries.get(i);
            int at = 4 + 8 * i;
            Le.putU16(v, at, e.tag());
            Le.putU16(v, at + 2, e.perm());
            Le.putU32(v, at + 4, e.id() & 0xffffffffL);
        }
        return v;
    }

    /**
     * posix_acl_valid(): USER_OBJ, then named USERs, GROUP_OBJ, named GROUPs, MASK (required
     * after named entries), OTHER; EINVAL otherwise.
     */
    private void validate() throws FsException {
        int state = USER_OBJ;
        boolean needsMask = false;
        for (Entry e : entries) {
            if ((e.perm() & ~7) != 0) {
                throw invalid("permission bits " + e.perm());
            }
            switch (e.tag()) {
                case USER_OBJ -> {
                    if (state != USER_OBJ) {
                        throw invalid("USER_OBJ out of place");
                    }
                    state = USER;
                }
                case USER -> {
                    if (state != USER) {
                        throw invalid("USER out of place");
                    }
                    needsMask = true;
                }
                case GROUP_OBJ -> {
                    if (state != USER) {
                        throw invalid("GROUP_OBJ out of place");
                    }
                    state = GROUP;
                }
                case GROUP -> {
                    if (state != GROUP) {
                        throw invalid("GROUP out of place");
                    }
                    needsMask = true;
                }
                case MASK -> {
                    if (state != GROUP) {
                        throw invalid("MASK out of place");
                    }
                    state = OTHER;
                }
                case OTHER -> {
                    if (state != OTHER && !(state == GROUP && !needsMask)) {
                        throw invalid("OTHER out of place, or named entries without a MASK");
                    }
                    state = 0;
                }
                default -> throw invalid("unknown tag " + e.tag());
            }
        }
        if (state != 0) {
            throw invalid("missing base entries");
        }
    }

    private static FsException invalid(String why) {
        return new FsException(Errno.EINVAL, "invalid ACL: " + why);
    }

    /** posix_acl_equiv_mode(): whether the three base entries are all there is. */
    public boolean isEquivalentToMode() {
        for (Entry e : entries) {
            if (e.tag() == USER || e.tag() == GROUP || e.tag() == MASK) {
                return false;
            }
        }
        return true;
    }

    /**
     * The permission bits of the mode this ACL implies (posix_acl_equiv_mode): owner from
     * USER_OBJ, group from MASK if there is one (else GROUP_OBJ), other from OTHER.
     */
    public int modeBits() {
        int user = 0;
        int group = 0;
        int other = 0;
        Integer mask = null;
        for (Entry e : entries) {
            switch (e.tag()) {
                case USER_OBJ -> user = e.perm();
                case GROUP_OBJ -> group = e.perm();
                case MASK -> mask = e.perm();
                case OTHER -> other = e.perm();
                default -> {
                }
            }
        }
        return (user << 6) | ((mask != null ? mask : group) << 3) | other;
    }

    /** __posix_acl_chmod(): the ACL after chmod to {@code mode}: base entries (or MASK) take its bits. */
    public PosixAcl chmod(int mode) {
        boolean hasMask = entries.stream().anyMatch(e -> e.tag() == MASK);
        List<Entry> out = new ArrayList<>(entries.size());
        for (Entry e : entries) {
            int perm = switch (e.tag()) {
                case USER_OBJ -> (mode >> 6) & 7;
                case GROUP_OBJ -> hasMask ? e.perm() : (mode >> 3) & 7;
                case MASK -> (mode >> 3) & 7;
                case OTHER -> mode & 7;
                default -> e.perm();
            };
            out.add(new Entry(e.tag(), perm, e.id()));
        }
        return new PosixAcl(out);
    }

    /**
     * What a new inode of {@code mode} inherits from a directory whose default ACL this is
     * (posix_acl_create, posix_acl_create_masq): its access ACL (null when equivalent to the mode)
     * and its mode, the requested bits cut down by the ACL. The umask does not apply.
     */
    public Inherited inherit(int mode) {
        int m = mode & 0777;
        Entry groupObj = null;
        Entry maskObj = null;
        List<Entry> out = new ArrayList<>(entries.size());
        for (Entry e : entries) {
            Entry x = e;
            switch (e.tag()) {
                case USER_OBJ -> {
                    x = new Entry(e.tag(), e.perm() & ((m >> 6) & 7), e.id());
                    m &= (x.perm() << 6) | ~0700;
                }
                case OTHER -> {
                    x = new Entry(e.tag(), e.perm() & (m & 7), e.id());
                    m &= x.perm() | ~07;
                }
                default -> {
                }
            }
            out.add(x);
        }
        for (int i = 0; i < out.size(); i++) {
            if (out.get(i).tag() == MASK) {
                maskObj = out.get(i);
            } else if (out.get(i).tag() == GROUP_OBJ) {
                groupObj = out.get(i);
            }
        }
        Entry g = maskObj != null ? maskObj : groupObj;
        assert g != null : "a valid ACL has a GROUP_OBJ";
        Entry cut = new Entry(g.tag(), g.perm() & ((m >> 3) & 7), g.id());
        out.set(out.indexOf(g), cut);
        m &= (cut.perm() << 3) | ~070;
        PosixAcl access = new PosixAcl(out);
        return new Inherited(access.isEquivalentToMode() ? null : access, (mode & ~0777) | m);
    }

    /** A new inode's access ACL (null: none) and mode, from its directory's default ACL. */
    public record Inherited(PosixAcl access, int mode) {
    }
}
