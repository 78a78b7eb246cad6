package org.jbtrfs.format;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.jbtrfs.Errno;
import org.jbtrfs.FsException;
import org.junit.jupiter.api.Test;

/** The posix_acl xattr codec and fs/posix_acl.c's rules (the kernel comparison is FuseAclTest). */
class PosixAclTest {
    private static PosixAcl.Entry e(int tag, int perm, int id) {
        return new PosixAcl.Entry(tag, perm, id);
    }

    /** u::rwx, u:1000:r-x, g::r-x, m::r-x, o::--- — what `setfacl -d -m u:1000:rx,o::-` leaves on a 755 directory. */
    private static final PosixAcl NAMED = new PosixAcl(List.of(e(PosixAcl.USER_OBJ, 7, -1), e(PosixAcl.USER, 5, 1000),
            e(PosixAcl.GROUP_OBJ, 5, -1), e(PosixAcl.MASK, 5, -1), e(PosixAcl.OTHER, 0, -1)));

    @Test
    void roundTripAndLayout() throws Exception {
        byte[] v = NAMED.encode();
        assertEquals(4 + 5 * 8, v.length);
        assertEquals(2, Le.u32(v, 0), "version 2");
        assertEquals(PosixAcl.USER, Le.u16(v, 12));
        assertEquals(1000, Le.u32(v, 16));
        assertEquals(0xffffffffL, Le.u32(v, 8), "the owner entry's id is -1");
        assertEquals(NAMED, PosixAcl.decode(v));
        assertArrayEquals(v, PosixAcl.decode(v).encode());
        assertNull(PosixAcl.decode(new byte[] {2, 0, 0, 0}), "an empty ACL is no ACL");
    }

    @Test
    void invalidAclsAreEinval() {
        List<List<PosixAcl.Entry>> bad = List.of(
                List.of(e(PosixAcl.USER_OBJ, 7, -1), e(PosixAcl.GROUP_OBJ, 5, -1)), // no OTHER
                List.of(e(PosixAcl.USER_OBJ, 7, -1), e(PosixAcl.USER, 5, 1), e(PosixAcl.GROUP_OBJ, 5, -1),
                        e(PosixAcl.OTHER, 0, -1)), // named without MASK
                List.of(e(PosixAcl.GROUP_OBJ, 5, -1), e(PosixAcl.USER_OBJ, 7, -1), e(PosixAcl.OTHER, 0, -1)), // order
                List.of(e(PosixAcl.USER_OBJ, 8, -1), e(PosixAcl.GROUP_OBJ, 5, -1), e(PosixAcl.OTHER, 0, -1))); // perm
        for (List<PosixAcl.Entry> b : bad) {
            FsException x = assertThrows(FsException.class, () -> PosixAcl.decode(new PosixAcl(b).encode()), b.toString());
            assertEquals(Errno.EINVAL, x.errno());
        }
        assertThrows(FsException.class, () -> PosixAcl.decode(new byte[] {2, 0, 0, 0, 1}), "a torn entry");
    }

    @Test
    void modeAndAclStayInStep() {
        assertFalse(NAMED.isEquivalentToMode());
        assertEquals(0750, NAMED.modeBits(), "the group bits come from the mask");
        PosixAcl chmodded = NAMED.chmod(0604);
        assertEquals(0604, chmodded.modeBits());
        assertEquals(5, chmodded.entries().get(2).perm(), "the group entry keeps its bits under a mask");
        PosixAcl base = new PosixAcl(List.of(e(PosixAcl.USER_OBJ, 6, -1), e(PosixAcl.GROUP_OBJ, 4, -1), e(PosixAcl.OTHER, 4, -1)));
        assertTrue(base.isEquivalentToMode());
        assertEquals(0644, base.modeBits());
    }

    @Test
    void inheritanceCutsTheModeDown() {
        PosixAcl.Inherited file = NAMED.inherit(0100666);
        assertEquals(0100640, file.mode(), "rw- from the owner, r-- from the mask, nothing for others");
        assertEquals(4, file.access().entries().get(3).perm(), "the mask is cut to the mode's group bits");
        PosixAcl.Inherited dir = NAMED.inherit(0040777);
        assertEquals(0040750, dir.mode());
        PosixAcl plain = new PosixAcl(List.of(e(PosixAcl.USER_OBJ, 7, -1), e(PosixAcl.GROUP_OBJ, 5, -1), e(PosixAcl.OTHER, 5, -1)));
        PosixAcl.Inherited p = plain.inherit(0100666);
        assertNull(p.access(), "a default ACL of base entries only gives no access ACL");
        assertEquals(0100644, p.mode());
    }
}
