package org.jbtrfs.format;

import java.util.ArrayList;
import java.util.List;
import org.jbtrfs.CorruptImageException;

/**
 * struct btrfs_inode_extref, key (ino INODE_EXTREF btrfs_extref_hash(parent, name)). Used (with the
 * EXTENDED_IREF feature) once the names of an inode in one directory no longer fit one INODE_REF
 * item; entries whose hashes collide are packed in one item:
 *
 * <pre>
 * offset size field
 *      0    8 parent_objectid
 *      8    8 index
 *     16    2 name_len
 *     18    n name
 * </pre>
 */
public record InodeExtref(long parent, long index, byte[] name) {
    public static final int HEADER_SIZE = 18;

    public static List<InodeExtref> decodeAll(byte[] b, int off, int len) throws CorruptImageException {
        List<InodeExtref> out = new ArrayList<>(1);
        int p = off;
        int end = off + len;
        while (p < end) {
            ItemBounds.need(end - p, HEADER_SIZE, "INODE_EXTREF");
            int nameLen = Le.u16(b, p + 16);
            ItemBounds.need(end - p, HEADER_SIZE + nameLen, "INODE_EXTREF name");
            out.add(new InodeExtref(Le.u64(b, p), Le.u64(b, p + 8),
                    java.util.Arrays.copyOfRange(b, p + HEADER_SIZE, p + HEADER_SIZE + nameLen)));
            p += HEADER_SIZE + nameLen;
        }
        return out;
    }

    public int encodedSize() {
        return HEADER_SIZE + name.length;
    }

    public int write(byte[] b, int off) {
        Le.putU64(b, off, parent);
        Le.putU64(b, off + 8, index);
        Le.putU16(b, off + 16, name.length);
        System.arraycopy(name, 0, b, off + HEADER_SIZE, name.length);
        return off + encodedSize();
    }

    public static byte[] encodeAll(List<InodeExtref> refs) {
        byte[] b = new byte[refs.stream().mapToInt(InodeExtref::encodedSize).sum()];
        int p = 0;
        for (InodeExtref r : refs) {
            p = r.write(b, p);
        }
        return b;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof InodeExtref r && r.parent == parent && r.index == index && java.util.Arrays.equals(r.name, name);
    }

    @Override
    public int hashCode() {
        return (Long.hashCode(parent) * 31 + Long.hashCode(index)) * 31 + java.util.Arrays.hashCode(name);
    }
}
