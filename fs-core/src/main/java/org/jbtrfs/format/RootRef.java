package org.jbtrfs.format;

import java.util.Arrays;
import org.jbtrfs.CorruptImageException;

/**
 * struct btrfs_root_ref followed by the name: where a subvolume is linked into its parent.
 * Stored twice in the root tree: (parent ROOT_REF child) and (child ROOT_BACKREF parent).
 *
 * <pre>
 * offset size field
 *      0    8 dirid       directory inode (in the parent subvolume) holding the entry
 *      8    8 sequence    the DIR_INDEX of the entry
 *     16    2 name_len
 *     18    n name
 * </pre>
 */
public record RootRef(long dirid, long sequence, byte[] name) {
    public static final int HEADER_SIZE = 18;

    public static RootRef decode(byte[] b, int off, int len) throws CorruptImageException {
        ItemBounds.need(len, HEADER_SIZE, "ROOT_REF");
        int n = Le.u16(b, off + 16);
        ItemBounds.exact(len, HEADER_SIZE + n, "ROOT_REF with name of " + n + " bytes");
        return new RootRef(Le.u64(b, off), Le.u64(b, off + 8), Arrays.copyOfRange(b, off + HEADER_SIZE, off + HEADER_SIZE + n));
    }

    public byte[] encode() {
        byte[] b = new byte[HEADER_SIZE + name.length];
        Le.putU64(b, 0, dirid);
        Le.putU64(b, 8, sequence);
        Le.putU16(b, 16, name.length);
        System.arraycopy(name, 0, b, HEADER_SIZE, name.length);
        return b;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RootRef r && r.dirid == dirid && r.sequence == sequence && Arrays.equals(r.name, name);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(encode());
    }
}
