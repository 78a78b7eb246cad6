package org.jbtrfs.tools.inspect;

import java.nio.charset.StandardCharsets;
import java.time.DateTimeException;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.ItemType;
import org.jbtrfs.format.ObjectIds;
import org.jbtrfs.format.Qgroups;

/**
 * The small formatting rules of btrfs-progs 6.2 {@code kernel-shared/print-tree.c}
 * (print_objectid, print_key_type, btrfs_print_key, print_timespec, the flag stringifiers), kept
 * apart from the item printers so that every tool that prints keys (dump-tree, check, send) prints
 * them the same way and a user can diff our output against {@code btrfs inspect-internal}.
 *
 * <p>Why not {@link DiskKey#toString()}: that form is for our own error messages and knows newer
 * item types; this one follows progs 6.2 to the character, including its quirks (ROOT_ITEM
 * offsets printed as plain u64, {@code UNTYPED} for free-space-cache headers, {@code LOG_FIXUP}).
 */
public final class ProgsFormat {
    /** BTRFS_NAME_LEN: progs copies names and xattr values into a buffer this big before printing. */
    public static final int NAME_BUF_LEN = 255;

    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss");

    private ProgsFormat() {
    }

    /** print_objectid(): an objectid as progs prints it in a key of {@code type}. */
    public static String objectid(long id, int type) {
        switch (type) {
            case ItemType.PERSISTENT_ITEM:
                return id == ObjectIds.DEV_STATS ? "DEV_STATS" : u64(id);
            case ItemType.DEV_EXTENT:
                return u64(id);
            case ItemType.QGROUP_RELATION:
                return Qgroups.idString(id);
            case ItemType.UUID_KEY_SUBVOL:
            case ItemType.UUID_KEY_RECEIVED_SUBVOL:
                return String.format("0x%016x", id);
            default:
                break;
        }
        if (id == ObjectIds.ROOT_TREE) {
            return type == ItemType.DEV_ITEM ? "DEV_ITEMS" : "ROOT_TREE";
        }
        if (id == ObjectIds.FIRST_CHUNK_TREE && type == ItemType.CHUNK_ITEM) {
            return "FIRST_CHUNK_TREE";
        }
        if (id == -1L) {
            return "-1";
        }
        if (id == ObjectIds.TREE_LOG_FIXUP) {
            return "LOG_FIXUP";
        }
        if (id == ObjectIds.RAID_STRIPE_TREE) {
            return u64(id); // progs 6.2 predates the raid stripe tree
        }
        String n = ObjectIds.treeName(id);
        return n != null ? n : u64(id);
    }

    /** print_key_type(): the type names progs 6.2 knows, UNKNOWN.n for the rest. */
    public static String keyType(long objectid, int type) {
        if (type == 0 && objectid == ObjectIds.FREE_SPACE) {
            return "UNTYPED";
        }
        if (type == CSUM_ITEM) {
            return "CSUM_ITEM";
        }
        if (!isKnownType(type)) {
            return "UNKNOWN." + type;
        }
        return ItemType.name(type);
    }

    /** The obsolete per-sector csum item type, still named by progs. */
    static final int CSUM_ITEM = 120;

    /**
     * Whether progs 6.2 has a name for this key type: every type {@link ItemType} names but the
     * two that came later (simple-quota owner refs, the raid stripe tree), plus CSUM_ITEM.
     */
    public static boolean isKnownType(int type) {
        if (type == ItemType.EXTENT_OWNER_REF || type == ItemType.RAID_STRIPE) {
            return false;
        }
        return type == CSUM_ITEM || !ItemType.name(type).startsWith("UNKNOWN.");
    }

    /** btrfs_print_key(): {@code key (objectid TYPE offset)}. */
    public static String key(DiskKey k) {
        return key(k.objectid(), k.type(), k.offset());
    }

    public static String key(long objectid, int type, long offset) {
        StringBuilder sb = new StringBuilder(48);
        sb.append("key (").append(objectid(objectid, type)).append(' ').append(keyType(objectid, type)).append(' ');
        switch (type) {
            case ItemType.QGROUP_RELATION, ItemType.QGROUP_INFO, ItemType.QGROUP_LIMIT -> sb.append(Qgroups.idString(offset));
            case ItemType.UUID_KEY_SUBVOL, ItemType.UUID_KEY_RECEIVED_SUBVOL -> sb.append(String.format("0x%016x", offset));
            case ItemType.ROOT_ITEM -> sb.append(objectid == ObjectIds.TREE_RELOC ? objectid(offset, type) : u64(offset));
            default -> sb.append(offset == -1L ? "-1" : u64(offset));
        }
        return sb.append(')').toString();
    }

    public static String u64(long v) {
        return Long.toUnsignedString(v);
    }

    /**
     * print_timespec(): {@code sec.nsec (local time)}, seconds as u64 and nanoseconds unpadded,
     * the date in the local time zone the way localtime_r() and strftime() give it.
     */
    public static String timespec(long sec, long nsec) {
        String when;
        try {
            when = TIME.format(Instant.ofEpochSecond(sec).atZone(ZoneId.systemDefault()));
        } catch (DateTimeException | ArithmeticException e) {
            when = "out of range"; // glibc cannot format such a year either
        }
        return u64(sec) + "." + Long.toUnsignedString(nsec & 0xffffffffL) + " (" + when + ")";
    }

    /**
     * A name or value as printf("%.*s") shows it: at most {@link #NAME_BUF_LEN} bytes (progs'
     * buffer), cut at the first NUL, bytes decoded as UTF-8 (progs writes them raw).
     */
    public static String cString(byte[] b, int off, int len) {
        return cString(b, off, len, NAME_BUF_LEN);
    }

    /** As {@link #cString(byte[], int, int)} with another cap (STRING_ITEM prints the whole item). */
    public static String cString(byte[] b, int off, int len, int max) {
        int n = Math.min(len, max);
        int end = off;
        while (end < off + n && b[end] != 0) {
            end++;
        }
        return new String(b, off, end - off, StandardCharsets.UTF_8);
    }

    /** Label and magic: isprint() or '.', as dump-super prints them. */
    public static String printable(byte[] b, int off, int max, boolean stopAtNul) {
        StringBuilder sb = new StringBuilder(max);
        for (int i = 0; i < max; i++) {
            int c = b[off + i] & 0xff;
            if (stopAtNul && c == 0) {
                break;
            }
            sb.append(c >= 0x20 && c < 0x7f ? (char) c : '.');
        }
        return sb.toString();
    }

    /** bg_flags_to_str(): DATA, METADATA|DUP, SYSTEM|DUP, DATA|single ... */
    public static String blockGroupFlags(long flags) {
        StringBuilder sb = new StringBuilder();
        if ((flags & 1) != 0) {
            sb.append("DATA");
        }
        if ((flags & 4) != 0) {
            sb.append(sb.length() > 0 ? "|" : "").append("METADATA");
        }
        if ((flags & 2) != 0) {
            sb.append(sb.length() > 0 ? "|" : "").append("SYSTEM");
        }
        return sb.append('|').append(profileName(flags)).toString();
    }

    /** btrfs_bg_type_to_raid_name(), upper case but for "single", in progs' lookup order. */
    private static String profileName(long flags) {
        long[] bits = {1L << 6, 1L << 4, 1L << 9, 1L << 10, 1L << 5, 1L << 3, 1L << 7, 1L << 8};
        String[] names = {"RAID10", "RAID1", "RAID1C3", "RAID1C4", "DUP", "RAID0", "RAID5", "RAID6"};
        for (int i = 0; i < bits.length; i++) {
            if ((flags & bits[i]) != 0) {
                return names[i];
            }
        }
        long unknown = flags & ~0x7ffL;
        return unknown != 0 ? "UNKNOWN.0x" + Long.toHexString(unknown) : "single";
    }

    /** inode_flags_to_str(). */
    public static String inodeFlags(long flags) {
        String[] names = {"NODATASUM", "NODATACOW", "READONLY", "NOCOMPRESS", "PREALLOC", "SYNC", "IMMUTABLE",
            "APPEND", "NODUMP", "NOATIME", "DIRSYNC", "COMPRESS"};
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < names.length; i++) {
            if ((flags & (1L << i)) != 0) {
                sb.append(sb.length() > 0 ? "|" : "").append(names[i]);
            }
        }
        return sb.length() > 0 ? sb.toString() : "none";
    }

    /** extent_flags_to_str(): DATA, TREE_BLOCK, and |FULL_BACKREF appended with its bar. */
    public static String extentFlags(long flags) {
        StringBuilder sb = new StringBuilder();
        if ((flags & 1) != 0) {
            sb.append("DATA");
        }
        if ((flags & 2) != 0) {
            sb.append(sb.length() > 0 ? "|" : "").append("TREE_BLOCK");
        }
        if ((flags & (1L << 8)) != 0) {
            sb.append("|FULL_BACKREF");
        }
        return sb.toString();
    }

    /** header_flags_to_str(). */
    public static String headerFlags(long flags) {
        StringBuilder sb = new StringBuilder();
        if ((flags & 1) != 0) {
            sb.append("WRITTEN");
        }
        if ((flags & 2) != 0) {
            sb.append(sb.length() > 0 ? "|" : "").append("RELOC");
        }
        return sb.toString();
    }

    /** compress_type_to_str(). */
    public static String compression(int type) {
        return switch (type) {
            case 0 -> "none";
            case 1 -> "zlib";
            case 2 -> "lzo";
            case 3 -> "zstd";
            default -> "UNKNOWN." + type;
        };
    }

    /** file_extent_type_to_str(). */
    public static String fileExtentType(int type) {
        return switch (type) {
            case 0 -> "inline";
            case 1 -> "regular";
            case 2 -> "prealloc";
            default -> "unknown";
        };
    }

    /** print_dir_item_type(). */
    public static String dirType(int type) {
        String[] names = {null, "FILE", "DIR", "CHRDEV", "BLKDEV", "FIFO", "SOCK", "SYMLINK", "XATTR"};
        return type < names.length && names[type] != null ? names[type] : "DIR_ITEM." + type;
    }

    /** qgroup_flags_to_str(). */
    public static String qgroupStatusFlags(long flags) {
        StringBuilder sb = new StringBuilder((flags & 1) != 0 ? "ON" : "OFF");
        if ((flags & 2) != 0) {
            sb.append("|SCANNING");
        }
        if ((flags & 4) != 0) {
            sb.append("|INCONSISTENT");
        }
        return sb.toString();
    }

    /** Lower-case hex of {@code len} bytes, no prefix. */
    public static String hex(byte[] b, int off, int len) {
        StringBuilder sb = new StringBuilder(len * 2);
        for (int i = 0; i < len; i++) {
            sb.append(Character.forDigit((b[off + i] >> 4) & 0xf, 16)).append(Character.forDigit(b[off + i] & 0xf, 16));
        }
        return sb.toString();
    }
}
