package org.jbtrfs.fuse.protocol;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The generic mount options that are mount(2) flags (MS_* in include/uapi/linux/mount.h), both
 * ways: option name → flag for mount(2), flag → option name for fusermount's {@code -o}.
 */
public final class MountFlags {
    private MountFlags() {
    }

    public static final long MS_RDONLY = 1;
    public static final long MS_NOSUID = 2;
    public static final long MS_NODEV = 4;
    public static final long MS_NOEXEC = 8;
    public static final long MS_SYNCHRONOUS = 16;
    public static final long MS_DIRSYNC = 128;
    public static final long MS_NOATIME = 1024;
    public static final long MS_NODIRATIME = 2048;
    public static final long MS_RELATIME = 1 << 21;
    public static final long MS_STRICTATIME = 1 << 24;
    public static final long MS_LAZYTIME = 1 << 25;

    /** Options that set a flag. */
    private static final Map<String, Long> SETS = new LinkedHashMap<>();
    /** Options that clear one (the default of mount(8)). */
    private static final Map<String, Long> CLEARS = new LinkedHashMap<>();

    static {
        SETS.put("ro", MS_RDONLY);
        SETS.put("nosuid", MS_NOSUID);
        SETS.put("nodev", MS_NODEV);
        SETS.put("noexec", MS_NOEXEC);
        SETS.put("sync", MS_SYNCHRONOUS);
        SETS.put("dirsync", MS_DIRSYNC);
        SETS.put("noatime", MS_NOATIME);
        SETS.put("nodiratime", MS_NODIRATIME);
        SETS.put("relatime", MS_RELATIME);
        SETS.put("strictatime", MS_STRICTATIME);
        SETS.put("lazytime", MS_LAZYTIME);
        CLEARS.put("rw", MS_RDONLY);
        CLEARS.put("suid", MS_NOSUID);
        CLEARS.put("dev", MS_NODEV);
        CLEARS.put("exec", MS_NOEXEC);
        CLEARS.put("async", MS_SYNCHRONOUS);
        CLEARS.put("atime", MS_NOATIME);
        CLEARS.put("diratime", MS_NODIRATIME);
        CLEARS.put("norelatime", MS_RELATIME);
        CLEARS.put("nostrictatime", MS_STRICTATIME);
        CLEARS.put("nolazytime", MS_LAZYTIME);
    }

    /** Whether {@code option} is one of the flag options. */
    public static boolean isFlag(String option) {
        return SETS.containsKey(option) || CLEARS.containsKey(option);
    }

    /** {@code flags} with {@code option} applied (set or cleared). */
    public static long apply(long flags, String option) {
        Long set = SETS.get(option);
        if (set != null) {
            return flags | set;
        }
        Long clear = CLEARS.get(option);
        if (clear != null) {
            return flags & ~clear;
        }
        throw new IllegalArgumentException("not a mount flag option: " + option);
    }

    /** The option names of the flags set in {@code flags} (for fusermount's {@code -o}). */
    public static List<String> names(long flags) {
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, Long> e : SETS.entrySet()) {
            if ((flags & e.getValue()) != 0) {
                out.add(e.getKey());
            }
        }
        return out;
    }
}
