package org.jbtrfs.format;

/**
 * The raw CRC-32C step the kernel's crc32c(seed, data, len) computes: no inversion before or after.
 * btrfs uses it for name hashes (dir item key offsets, extref key offsets), which is why the JDK's
 * {@link java.util.zip.CRC32C} (always seeded with ~0 and inverted at the end) does not fit here.
 */
public final class Crc32c {
    private static final int[] TABLE = new int[256];

    static {
        for (int n = 0; n < 256; n++) {
            int c = n;
            for (int k = 0; k < 8; k++) {
                c = (c & 1) != 0 ? (c >>> 1) ^ 0x82F63B78 : c >>> 1;
            }
            TABLE[n] = c;
        }
    }

    private Crc32c() {
    }

    public static int raw(int seed, byte[] b, int off, int len) {
        int c = seed;
        for (int i = off; i < off + len; i++) {
            c = TABLE[(c ^ b[i]) & 0xff] ^ (c >>> 8);
        }
        return c;
    }

    /** btrfs_name_hash(): the key offset of a DIR_ITEM (and XATTR_ITEM) for that name. */
    public static long nameHash(byte[] name) {
        return raw(~1, name, 0, name.length) & 0xffffffffL;
    }

    /** btrfs_extref_hash(): the key offset of an INODE_EXTREF for that parent and name. */
    public static long extrefHash(long parentObjectid, byte[] name) {
        return raw((int) parentObjectid, name, 0, name.length) & 0xffffffffL;
    }
}
