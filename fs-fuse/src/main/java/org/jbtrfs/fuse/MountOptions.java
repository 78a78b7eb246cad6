package org.jbtrfs.fuse;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.jbtrfs.fuse.protocol.MountFlags;

/**
 * The {@code -o} options of {@code jbtrfs mount} and {@code mount -t fuse.jbtrfs}, sorted into
 * mount(2) flags, FUSE options for the kernel, what jbtrfs acts on, and what mount(8) and fstab
 * use and we drop.
 *
 * <p>Every mount gets {@code default_permissions}: the kernel checks permissions against the
 * mode, owner and group we report, as it does for btrfs. The kernel caches names and attributes
 * for {@code entry_timeout}, {@code attr_timeout} and {@code negative_timeout} seconds (libfuse's
 * option names; default {@link JbtrfsFuse.Timeouts#DEFAULT}). {@code cache_size} bounds the tree
 * block cache (default {@link org.jbtrfs.OpenOptions#DEFAULT_CACHE_LIMIT_BYTES}).
 *
 * @param readOnly      {@code ro}: open the image read-only
 * @param mountFlags    MS_* flags for mount(2) (ro, nosuid, nodev, noexec, sync, atime family)
 * @param kernelOptions FUSE options for mount(2)'s data string (default_permissions, allow_other)
 * @param ignored       accepted but with no effect yet, for a warning
 * @param commitSeconds {@code commit=N}: the transaction thread's interval (default 30)
 * @param timeouts      how long the kernel may cache names and attributes
 * @param cacheBytes    {@code cache_size=SIZE} (k/m/g suffixes): the extent buffer cache's byte limit
 */
public record MountOptions(boolean readOnly, long mountFlags, List<String> kernelOptions, List<String> ignored,
        int commitSeconds, JbtrfsFuse.Timeouts timeouts, long cacheBytes) {
    /** The smallest cache_size: a few tree paths must fit, or every search would read the disk. */
    public static final long MIN_CACHE_BYTES = 1L << 20;

    /** FUSE options the kernel itself understands (fs/fuse/inode.c). */
    private static final Set<String> KERNEL = Set.of("default_permissions", "allow_other");
    /** What mount(8) and fstab pass or use themselves, and libfuse options that jbtrfs always applies. */
    private static final Set<String> DROPPED = Set.of("defaults", "auto", "noauto", "user", "nouser", "users",
            "owner", "group", "_netdev", "nofail", "loop", "hard_remove", "big_writes", "use_ino");
    /** Accepted for compatibility with btrfs, libfuse and mount(8), without effect yet. */
    private static final Set<String> NO_EFFECT = Set.of("iversion", "noiversion", "allow_root", "auto_unmount");
    private static final List<String> NO_EFFECT_PREFIXES = List.of("compress=", "compress-force=",
            "space_cache", "ssd", "nossd", "discard", "nodiscard", "autodefrag", "noautodefrag", "datacow", "datasum",
            "subvol=", "subvolid=");

    public static MountOptions parse(List<String> optionLists) {
        int commit = org.jbtrfs.OpenOptions.DEFAULT_COMMIT_SECONDS;
        long flags = 0;
        List<String> kernel = new ArrayList<>(List.of("default_permissions"));
        List<String> ignored = new ArrayList<>();
        JbtrfsFuse.Timeouts t = JbtrfsFuse.Timeouts.DEFAULT;
        long cache = org.jbtrfs.OpenOptions.DEFAULT_CACHE_LIMIT_BYTES;
        for (String list : optionLists) {
            for (String o : list.split(",")) {
                if (o.isEmpty() || DROPPED.contains(o) || o.startsWith("x-") || o.startsWith("comment=")) {
                    continue;
                }
                if (o.startsWith("commit=")) {
                    commit = (int) number(o, 1, Integer.MAX_VALUE);
                } else if (o.startsWith("cache_size=")) {
                    cache = size(o);
                } else if (o.startsWith("attr_timeout=")) {
                    t = new JbtrfsFuse.Timeouts(t.entrySeconds(), seconds(o), t.negativeSeconds());
                } else if (o.startsWith("entry_timeout=")) {
                    t = new JbtrfsFuse.Timeouts(seconds(o), t.attrSeconds(), t.negativeSeconds());
                } else if (o.startsWith("negative_timeout=")) {
                    t = new JbtrfsFuse.Timeouts(t.entrySeconds(), t.attrSeconds(), seconds(o));
                } else if (MountFlags.isFlag(o)) {
                    flags = MountFlags.apply(flags, o);
                } else if (KERNEL.contains(o)) {
                    if (!kernel.contains(o)) {
                        kernel.add(o);
                    }
                } else if (NO_EFFECT.contains(o) || NO_EFFECT_PREFIXES.stream().anyMatch(o::startsWith)) {
                    ignored.add(o);
                } else {
                    throw new IllegalArgumentException("unknown mount option '" + o + "'");
                }
            }
        }
        boolean ro = (flags & MountFlags.MS_RDONLY) != 0;
        return new MountOptions(ro, flags, List.copyOf(kernel), List.copyOf(ignored), commit, t, cache);
    }

    private static double seconds(String o) {
        String v = o.substring(o.indexOf('=') + 1);
        try {
            double s = Double.parseDouble(v);
            if (s >= 0 && s <= 1e6) {
                return s;
            }
        } catch (NumberFormatException e) {
            // fall through to the message
        }
        throw new IllegalArgumentException("bad mount option '" + o + "': takes seconds (0 to 1000000)");
    }

    private static long size(String o) {
        String v = o.substring(o.indexOf('=') + 1).toLowerCase(java.util.Locale.ROOT);
        int shift = v.endsWith("k") ? 10 : v.endsWith("m") ? 20 : v.endsWith("g") ? 30 : 0;
        try {
            long n = Long.parseLong(shift == 0 ? v : v.substring(0, v.length() - 1));
            if (n > 0 && n <= (Long.MAX_VALUE >> shift) && (n << shift) >= MIN_CACHE_BYTES) {
                return n << shift;
            }
        } catch (NumberFormatException e) {
            // fall through to the message
        }
        throw new IllegalArgumentException("bad mount option '" + o + "': cache_size takes a size of at least 1m (e.g. 256m)");
    }

    private static long number(String o, long min, long max) {
        String v = o.substring(o.indexOf('=') + 1);
        try {
            long n = Long.parseLong(v);
            if (n >= min && n <= max) {
                return n;
            }
        } catch (NumberFormatException e) {
            // fall through to the message
        }
        throw new IllegalArgumentException("bad mount option '" + o + "': commit=N takes a positive number of seconds");
    }
}
