package org.jbtrfs.format;

/** Qgroup ids: a 16-bit level above a 48-bit subvolume or group id, printed as level/id. */
public final class Qgroups {
    public static final int LEVEL_SHIFT = 48;

    private Qgroups() {
    }

    public static int level(long qgroupId) {
        return (int) (qgroupId >>> LEVEL_SHIFT);
    }

    public static long subvolId(long qgroupId) {
        return qgroupId & ((1L << LEVEL_SHIFT) - 1);
    }

    public static String idString(long qgroupId) {
        return level(qgroupId) + "/" + subvolId(qgroupId);
    }
}
