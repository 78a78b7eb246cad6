package org.jbtrfs.format;

import org.jbtrfs.CorruptImageException;

/**
 * Items that are a plain array of u64: UUID_KEY_SUBVOL and UUID_KEY_RECEIVED_SUBVOL (subvolume ids
 * carrying that uuid; key objectid and offset are the uuid's two little-endian halves),
 * dev stats (PERSISTENT_ITEM, 5 counters), and SHARED_DATA_REF keyed items (a single u32 count,
 * see {@link #decodeSharedDataRefCount}).
 */
public final class U64Array {
    private U64Array() {
    }

    public static long[] decode(byte[] b, int off, int len, String what) throws CorruptImageException {
        if (len % 8 != 0) {
            throw new CorruptImageException(what + " item size " + len + " is not a multiple of 8");
        }
        long[] v = new long[len / 8];
        for (int i = 0; i < v.length; i++) {
            v[i] = Le.u64(b, off + 8 * i);
        }
        return v;
    }

    public static byte[] encode(long... v) {
        return QgroupItems.u64s(v);
    }

    /** A keyed SHARED_DATA_REF (parent SHARED_DATA_REF ...) holds struct btrfs_shared_data_ref: u32 count. */
    public static long decodeSharedDataRefCount(byte[] b, int off, int len) throws CorruptImageException {
        ItemBounds.exact(len, 4, "SHARED_DATA_REF");
        return Le.u32(b, off);
    }

    /** The UUID tree key of a uuid: objectid = first 8 bytes LE, offset = last 8 bytes LE. */
    public static DiskKey uuidKey(byte[] uuid, int type) {
        return new DiskKey(Le.u64(uuid, 0), type, Le.u64(uuid, 8));
    }
}
