package org.jbtrfs.format;

/**
 * struct btrfs_disk_key (17 bytes, packed): the key every item and node pointer is sorted by.
 *
 * <pre>
 * offset size field     kernel name
 *      0    8 objectid  objectid   (u64)
 *      8    1 type      type       (u8)
 *      9    8 offset    offset     (u64)
 * </pre>
 *
 * Ordering is btrfs_comp_cpu_keys() in ctree.c: objectid, then type, then offset, all unsigned.
 */
public record DiskKey(long objectid, int type, long offset) implements Comparable<DiskKey> {
    public static final int SIZE = 17;
    public static final int OFF_OBJECTID = 0;
    public static final int OFF_TYPE = 8;
    public static final int OFF_OFFSET = 9;

    /** Smallest and largest keys, for range searches. */
    public static final DiskKey MIN = new DiskKey(0, 0, 0);
    public static final DiskKey MAX = new DiskKey(-1L, 0xff, -1L);

    public DiskKey {
        assert (type & ~0xff) == 0 : "key type out of range: " + type;
    }

    public static DiskKey read(byte[] b, int off) {
        return new DiskKey(Le.u64(b, off + OFF_OBJECTID), Le.u8(b, off + OFF_TYPE), Le.u64(b, off + OFF_OFFSET));
    }

    public void write(byte[] b, int off) {
        Le.putU64(b, off + OFF_OBJECTID, objectid);
        Le.putU8(b, off + OFF_TYPE, type);
        Le.putU64(b, off + OFF_OFFSET, offset);
    }

    /** Compares the key stored at {@code off} in {@code b} with this one without allocating. */
    public static int compare(byte[] b, int off, DiskKey k) {
        int c = Long.compareUnsigned(Le.u64(b, off + OFF_OBJECTID), k.objectid);
        if (c != 0) {
            return c;
        }
        c = Integer.compare(Le.u8(b, off + OFF_TYPE), k.type);
        if (c != 0) {
            return c;
        }
        return Long.compareUnsigned(Le.u64(b, off + OFF_OFFSET), k.offset);
    }

    @Override
    public int compareTo(DiskKey o) {
        int c = Long.compareUnsigned(objectid, o.objectid);
        if (c != 0) {
            return c;
        }
        c = Integer.compare(type, o.type);
        if (c != 0) {
            return c;
        }
        return Long.compareUnsigned(offset, o.offset);
    }

    /** The key as btrfs-progs prints it: (objectid TYPE offset). */
    @Override
    public String toString() {
        return "(" + ObjectIds.name(objectid, type) + " " + ItemType.name(type) + " " + ItemType.offsetString(type, offset) + ")";
    }
}
