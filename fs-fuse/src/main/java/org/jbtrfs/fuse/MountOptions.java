package org.jbtrfs.fuse;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The {@code -o} options of {@code jbtrfs mount} and {@code mount -t fuse.jbtrfs}, sorted into
 * what jbtrfs acts on, what libfuse acts on, and what mount(8) and fstab use and we drop.
 *
 * <p>Every mount gets {@code hard_remove} (an unlinked open file is gone from the namespace at
 * once; fs-core keeps it as an orphan until release, so no .fuse_hidden files), {@code big_writes}
 * (writes up to 128 KiB), {@code use_ino} (st_ino and d_ino are btrfs inode numbers),
 * {@code fsname=IMG} (the source mountinfo shows), {@code subtype=jbtrfs} (type fuse.jbtrfs) and
 * {@code attr_timeout=0}: libfuse2's path API gives every name its own kernel inode, so the
 * kernel cannot know that two hard links share one; cached attributes would show a stale link
 * count (or size) through the other name. With no attribute caching every stat asks fs-core.
 *
 * @param readOnly    {@code ro}: open the image read-only
 * @param fuseOptions options passed on to libfuse (mount flags, default_permissions, allow_other)
 * @param ignored     accepted but with no effect yet, for a warning
 * @param commitSeconds {@code commit=N}: the transaction thread's interval (default 30)
 */
public record MountOptions(boolean readOnly, List<String> fuseOptions, List<String> ignored, int commitSeconds) {
    /** Mount flags libfuse2's mount code understands (lib/mount.c), and the permission options. */
    private static final Set<String> FUSE_FLAGS = Set.of("ro", "rw", "suid", "nosuid", "dev", "nodev", "exec",
            "noexec", "async", "sync", "dirsync", "atime", "noatime", "default_permissions", "allow_other",
            "allow_root", "auto_unmount");
    /** What mount(8) and fstab pass or use themselves: dropped without a word. */
    private static final Set<String> MOUNT8_ONLY = Set.of("defaults", "auto", "noauto", "user", "nouser", "users",
            "owner", "group", "_netdev", "nofail", "loop");
    /** Accepted for compatibility with btrfs and mount(8), without effect yet. */
    private static final Set<String> NO_EFFECT = Set.of("relatime", "strictatime", "nodiratime", "diratime",
            "lazytime", "nolazytime", "iversion", "noiversion");
    private static final List<String> NO_EFFECT_PREFIXES = List.of("compress=", "compress-force=",
            "space_cache", "ssd", "nossd", "discard", "nodiscard", "autodefrag", "noautodefrag", "datacow", "datasum",
            "subvol=", "subvolid=");

    public static MountOptions parse(List<String> optionLists) {
        boolean ro = false;
        int commit = org.jbtrfs.OpenOptions.DEFAULT_COMMIT_SECONDS;
        List<String> fuse = new ArrayList<>();
        List<String> ignored = new ArrayList<>();
        for (String list : optionLists) {
            for (String o : list.split(",")) {
                if (o.isEmpty() || MOUNT8_ONLY.contains(o) || o.startsWith("x-") || o.startsWith("comment=")) {
                    continue;
                }
                if (o.startsWith("commit=")) {
                    try {
                        commit = Integer.parseInt(o.substring("commit=".length()));
                    } catch (NumberFormatException e) {
                        commit = -1;
                    }
                    if (commit <= 0) {
                        throw new IllegalArgumentException("bad mount option '" + o + "': commit=N takes a positive number of seconds");
                    }
                    continue;
                }
                if (o.equals("ro")) {
                    ro = true;
                } else if (o.equals("rw")) {
                    ro = false;
                }
                if (FUSE_FLAGS.contains(o)) {
                    if (!o.equals("ro") && !o.equals("rw")) {
                        fuse.add(o);
                    }
                } else if (NO_EFFECT.contains(o) || NO_EFFECT_PREFIXES.stream().anyMatch(o::startsWith)) {
                    ignored.add(o);
                } else {
                    throw new IllegalArgumentException("unknown mount option '" + o + "'");
                }
            }
        }
        return new MountOptions(ro, List.copyOf(fuse), List.copyOf(ignored), commit);
    }

    /** The libfuse command line options for a mount of {@code image}: {@code -o a,b,c}. */
    public List<String> fuseArgs(Path image) {
        List<String> o = new ArrayList<>(List.of("hard_remove", "big_writes", "use_ino", "attr_timeout=0",
                "fsname=" + escape(image.toAbsolutePath().toString()), "subtype=" + FuseMount.SUBTYPE));
        if (readOnly) {
            o.add("ro");
        }
        o.addAll(fuseOptions);
        return List.of("-o", String.join(",", o));
    }

    /** fuse_opt_parse reads a backslash as an escape and a comma as a separator. */
    private static String escape(String s) {
        return s.replace("\\", "\\\\").replace(",", "\\,");
    }
}
