package org.jbtrfs.format;

import java.util.ArrayList;
import java.util.List;
import org.jbtrfs.CorruptImageException;

/**
 * struct btrfs_inode_ref, key (ino INODE_REF parent_dir_ino). One item holds every name the inode
 * has in that parent directory, packed back to back:
 *
 * <pre>
 * offset size field
 *      0    8 index          the DIR_INDEX key offset of this name in the parent
 *      8    2 name_len
 *     10    n name
 * </pre>
 */
public record InodeRef(long index, byte[] name) {
    public static final int HEADER_SIZE = 10;

    public static List<InodeRef> decodeAll(byte[] b, int off, int len) throws CorruptImageException {
        List<InodeRef> out = new ArrayList<>(1);
        int p = off;
        int end = off + len;
        while (p < end) {
            ItemBounds.need(end - p, HEADER_SIZE, "INODE_REF");
            int nameLen = Le.u16(b, p + 8);
            ItemBounds.need(end - p, HEADER_SIZE + nameLen, "INODE_REF name");
            out.add(new InodeRef(Le.u64(b, p), java.util.Arrays.copyOfRange(b, p + HEADER_SIZE, p + HEADER_SIZE + nameLen)));
            p += HEADER_SIZE + nameLen;
        }
        return out;
    }

    public int encodedSize() {
        return HEADER_SIZE + name.length;
    }

    public int write(byte[] b, int off) {
        Le.putU64(b, off, index);
        Le.putU16(b, off + 8, name.length);
        System.arraycopy(name, 0, b, off + HEADER_SIZE, name.length);
        return off + encodedSize();
    }

    public static byte[] encodeAll(List<InodeRef> refs) {
        byte[] b = new byte[refs.stream().mapToInt(InodeRef::encodedSize).sum()];
        int p = 0;
        for (InodeRef r : refs) {
            p = r.write(b, p);
        }
        return b;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof InodeRef r && r.index == index && java.util.Arrays.equals(r.name, name);
    }

    @Override
    public int hashCode() {
        return Long.hashCode(index) * 31 + java.util.Arrays.hashCode(name);
    }
}
