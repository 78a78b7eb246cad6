package org.jbtrfs.tools.inspect;

import java.util.Arrays;
import java.util.List;
import org.jbtrfs.CorruptImageException;
import org.jbtrfs.format.ChunkItem;
import org.jbtrfs.format.CsumType;
import org.jbtrfs.format.DevItem;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.Features;
import org.jbtrfs.format.ItemType;
import org.jbtrfs.format.Le;
import org.jbtrfs.format.RootBackup;
import org.jbtrfs.format.Superblock;
import org.jbtrfs.format.Uuids;

/**
 * Prints a superblock the way btrfs-progs 6.2 btrfs_print_superblock() does: one
 * {@code name<tabs>value} line per field, readable names under the flag words, and with
 * {@code full} the sys_chunk_array and the backup roots.
 *
 * <p>It prints whatever the bytes say, checksum and magic included ({@code [match]} or
 * {@code [DON'T MATCH]}), because dump-super is the tool for looking at a superblock that does
 * not validate. Only the sys_chunk_array can be malformed in a way that stops printing; that is
 * returned as a problem rather than thrown, so the fields before it are still shown.
 */
final class SuperPrinter {
    private static final long SUPER_FLAG_SEEDING = 1L << 32;
    private static final long SUPER_FLAG_METADUMP = 1L << 33;
    private static final long SUPER_FLAG_METADUMP_V2 = 1L << 34;
    private static final long SUPER_FLAG_CHANGING_FSID = 1L << 35;
    private static final long SUPER_FLAG_CHANGING_FSID_V2 = 1L << 36;

    /** Flag words and their names, in progs' print order. */
    private record Flag(long bit, String name) {
    }

    private static final List<Flag> SUPER_FLAGS = List.of(new Flag(1, "WRITTEN"), new Flag(2, "RELOC"),
            new Flag(SUPER_FLAG_CHANGING_FSID, "CHANGING_FSID"), new Flag(SUPER_FLAG_SEEDING, "SEEDING"),
            new Flag(SUPER_FLAG_METADUMP, "METADUMP"), new Flag(SUPER_FLAG_METADUMP_V2, "METADUMP_V2"),
            new Flag(SUPER_FLAG_CHANGING_FSID_V2, "CHANGING_FSID_V2"));
    private static final List<Flag> COMPAT_RO_FLAGS = List.of(
            new Flag(Features.COMPAT_RO_FREE_SPACE_TREE, "FREE_SPACE_TREE"),
            new Flag(Features.COMPAT_RO_FREE_SPACE_TREE_VALID, "FREE_SPACE_TREE_VALID"),
            new Flag(Features.COMPAT_RO_VERITY, "VERITY"),
            new Flag(Features.COMPAT_RO_BLOCK_GROUP_TREE, "BLOCK_GROUP_TREE"));
    private static final List<Flag> INCOMPAT_FLAGS = incompatFlags();

    private SuperPrinter() {
    }

    private static List<Flag> incompatFlags() {
        String[] names = {"MIXED_BACKREF", "DEFAULT_SUBVOL", "MIXED_GROUPS", "COMPRESS_LZO", "COMPRESS_ZSTD",
            "BIG_METADATA", "EXTENDED_IREF", "RAID56", "SKINNY_METADATA", "NO_HOLES", "METADATA_UUID", "RAID1C34",
            "ZONED", "EXTENT_TREE_V2", "RAID_STRIPE_TREE", null, "SIMPLE_QUOTA"};
        List<Flag> out = new java.util.ArrayList<>(names.length);
        for (int bit = 0; bit < names.length; bit++) {
            if (names[bit] != null) {
                out.add(new Flag(1L << bit, names[bit]));
            }
        }
        return List.copyOf(out);
    }

    /**
     * Appends the superblock's lines to {@code out}. Returns null, or a description of why the
     * sys_chunk_array could not be printed to its end.
     */
    static String print(StringBuilder out, Superblock sb, boolean full) {
        byte[] b = sb.bytes();
        boolean metadataUuid = (sb.incompatFlags() & Features.INCOMPAT_METADATA_UUID) != 0;
        CsumType type = sb.csumType();
        int csumSize = type != null ? type.size() : CsumType.CSUM_FIELD_SIZE;
        line(out, "csum_type\t\t", sb.csumTypeCode() + " (" + (type == null ? "INVALID" : type == CsumType.BLAKE2B ? "blake2"
                : type.displayName()) + ")"); // btrfs_super_csum_name() says blake2
        line(out, "csum_size\t\t", csumSize);
        String verdict = type == null ? " [UNKNOWN CSUM TYPE OR SIZE]"
                : type.matches(b, CsumType.CSUM_FIELD_SIZE, Superblock.SIZE - CsumType.CSUM_FIELD_SIZE, b, Superblock.OFF_CSUM)
                ? " [match]" : " [DON'T MATCH]";
        line(out, "csum\t\t\t", "0x" + ProgsFormat.hex(b, Superblock.OFF_CSUM, csumSize) + verdict);
        line(out, "bytenr\t\t\t", Le.u64s(sb.bytenr()));
        line(out, "flags\t\t\t", "0x" + Long.toHexString(sb.flags()));
        readableFlags(out, sb.flags(), SUPER_FLAGS);
        line(out, "magic\t\t\t", ProgsFormat.printable(b, Superblock.OFF_MAGIC, 8, false)
                + (sb.magic() == Superblock.MAGIC ? " [match]" : " [DON'T MATCH]"));
        line(out, "fsid\t\t\t", Uuids.toString(sb.fsid()));
        line(out, "metadata_uuid\t\t", Uuids.toString(metadataUuid ? sb.metadataUuid() : sb.fsid()));
        line(out, "label\t\t\t", ProgsFormat.printable(b, Superblock.OFF_LABEL, Superblock.LABEL_SIZE, true));
        line(out, "generation\t\t", Le.u64s(sb.generation()));
        line(out, "root\t\t\t", Le.u64s(sb.root()));
        line(out, "sys_array_size\t\t", sb.sysChunkArraySize());
        line(out, "chunk_root_generation\t", Le.u64s(sb.chunkRootGeneration()));
        line(out, "root_level\t\t", sb.rootLevel());
        line(out, "chunk_root\t\t", Le.u64s(sb.chunkRoot()));
        line(out, "chunk_root_level\t", sb.chunkRootLevel());
        line(out, "log_root\t\t", Le.u64s(sb.logRoot()));
        line(out, "log_root_transid (deprecated)\t", Le.u64s(sb.logRootTransid()));
        line(out, "log_root_level\t\t", sb.logRootLevel());
        line(out, "total_bytes\t\t", Le.u64s(sb.totalBytes()));
        line(out, "bytes_used\t\t", Le.u64s(sb.bytesUsed()));
        line(out, "sectorsize\t\t", sb.sectorsize());
        line(out, "nodesize\t\t", sb.nodesize());
        line(out, "leafsize (deprecated)\t", sb.leafsize());
        line(out, "stripesize\t\t", sb.stripesize());
        line(out, "root_dir\t\t", Le.u64s(sb.rootDirObjectid()));
        line(out, "num_devices\t\t", Le.u64s(sb.numDevices()));
        line(out, "compat_flags\t\t", "0x" + Long.toHexString(sb.compatFlags()));
        line(out, "compat_ro_flags\t\t", "0x" + Long.toHexString(sb.compatRoFlags()));
        readableFlags(out, sb.compatRoFlags(), COMPAT_RO_FLAGS);
        line(out, "incompat_flags\t\t", "0x" + Long.toHexString(sb.incompatFlags()));
        readableFlags(out, sb.incompatFlags(), INCOMPAT_FLAGS);
        line(out, "cache_generation\t", Le.u64s(sb.cacheGeneration()));
        line(out, "uuid_tree_generation\t", Le.u64s(sb.uuidTreeGeneration()));
        devItem(out, sb.devItem(), metadataUuid ? sb.metadataUuid() : sb.fsid());
        if (!full) {
            return null;
        }
        out.append("sys_chunk_array[").append(Superblock.SYS_CHUNK_ARRAY_MAX).append("]:\n");
        String problem = sysChunkArray(out, sb);
        out.append("backup_roots[").append(Superblock.NUM_BACKUP_ROOTS).append("]:\n");
        boolean v2 = (sb.incompatFlags() & Features.INCOMPAT_EXTENT_TREE_V2) != 0;
        for (int i = 0; i < Superblock.NUM_BACKUP_ROOTS; i++) {
            RootBackup r = sb.backupRoot(i);
            if (r.treeRoot() != 0 || r.treeRootGen() != 0) {
                out.append("\tbackup ").append(i).append(":\n");
                backupRoot(out, r, v2);
            }
        }
        return problem;
    }

    private static void line(StringBuilder out, String label, Object value) {
        out.append(label).append(value).append('\n');
    }

    /** __print_readable_flag(): "( NAME |" one per line, then unknown bits in hex, then ")". */
    private static void readableFlags(StringBuilder out, long flags, List<Flag> known) {
        if (flags == 0) {
            return;
        }
        out.append("\t\t\t( ");
        boolean first = true;
        long rest = flags;
        for (Flag f : known) {
            if ((flags & f.bit()) != 0) {
                out.append(first ? "" : "|\n\t\t\t  ").append(f.name()).append(' ');
                first = false;
                rest &= ~f.bit();
            }
        }
        if (rest != 0) {
            out.append(first ? "" : "|\n\t\t\t  ").append("unknown flag: 0x").append(Long.toHexString(rest)).append(' ');
        }
        out.append(")\n");
    }

    private static void devItem(StringBuilder out, DevItem d, byte[] expectFsid) {
        line(out, "dev_item.uuid\t\t", Uuids.toString(d.uuid()));
        line(out, "dev_item.fsid\t\t", Uuids.toString(d.fsid()) + (Arrays.equals(d.fsid(), expectFsid) ? " [match]"
                : " [DON'T MATCH]"));
        line(out, "dev_item.type\t\t", Le.u64s(d.type()));
        line(out, "dev_item.total_bytes\t", Le.u64s(d.totalBytes()));
        line(out, "dev_item.bytes_used\t", Le.u64s(d.bytesUsed()));
        line(out, "dev_item.io_align\t", d.ioAlign());
        line(out, "dev_item.io_width\t", d.ioWidth());
        line(out, "dev_item.sector_size\t", d.sectorSize());
        line(out, "dev_item.devid\t\t", Le.u64s(d.devid()));
        line(out, "dev_item.dev_group\t", d.devGroup());
        line(out, "dev_item.seek_speed\t", d.seekSpeed());
        line(out, "dev_item.bandwidth\t", d.bandwidth());
        line(out, "dev_item.generation\t", Le.u64s(d.generation()));
    }

    /** print_sys_chunk_array(): (key, chunk) pairs; stops at the first thing that does not fit. */
    private static String sysChunkArray(StringBuilder out, Superblock sb) {
        long size = sb.sysChunkArraySize();
        if (size > Superblock.SYS_CHUNK_ARRAY_MAX) {
            return "sys_array_size " + size + " shouldn't exceed " + Superblock.SYS_CHUNK_ARRAY_MAX + " bytes";
        }
        byte[] a = sb.sysChunkArray();
        int p = 0;
        for (int item = 0; p < a.length; item++) {
            if (p + DiskKey.SIZE > a.length) {
                return "sys_array too short to read " + DiskKey.SIZE + " bytes at offset " + p;
            }
            DiskKey key = DiskKey.read(a, p);
            p += DiskKey.SIZE;
            out.append("\titem ").append(item).append(' ').append(ProgsFormat.key(key)).append('\n');
            if (key.type() != ItemType.CHUNK_ITEM) {
                return "unexpected item type " + key.type() + " in sys_array at offset " + p;
            }
            if (p + ChunkItem.sizeFor(1) > a.length) {
                return "sys_array too short to read " + ChunkItem.sizeFor(1) + " bytes at offset " + p;
            }
            int stripes = ChunkItem.numStripesAt(a, p);
            int len = ChunkItem.sizeFor(stripes);
            if (stripes == 0 || p + len > a.length) {
                return stripes == 0 ? "invalid number of stripes 0 in sys_array at offset " + p
                        : "sys_array too short to read " + len + " bytes at offset " + p;
            }
            try {
                ItemPrinter.chunkItem(out, ChunkItem.decode(a, p, len));
            } catch (CorruptImageException e) {
                return "sys_array chunk at offset " + p + ": " + e.getMessage();
            }
            p += len;
        }
        return null;
    }

    private static void backupRoot(StringBuilder out, RootBackup r, boolean extentTreeV2) {
        root(out, "backup_tree_root:\t", r.treeRoot(), r.treeRootGen(), r.treeRootLevel());
        root(out, "backup_chunk_root:\t", r.chunkRoot(), r.chunkRootGen(), r.chunkRootLevel());
        root(out, extentTreeV2 ? "backup_block_group_root:\t" : "backup_extent_root:\t", r.extentRoot(),
                r.extentRootGen(), r.extentRootLevel());
        root(out, "backup_fs_root:\t\t", r.fsRoot(), r.fsRootGen(), r.fsRootLevel());
        root(out, "backup_dev_root:\t", r.devRoot(), r.devRootGen(), r.devRootLevel());
        root(out, "csum_root:\t", r.csumRoot(), r.csumRootGen(), r.csumRootLevel());
        out.append("\t\tbackup_total_bytes:\t").append(Le.u64s(r.totalBytes())).append('\n');
        out.append("\t\tbackup_bytes_used:\t").append(Le.u64s(r.bytesUsed())).append('\n');
        out.append("\t\tbackup_num_devices:\t").append(Le.u64s(r.numDevices())).append('\n');
        out.append('\n');
    }

    private static void root(StringBuilder out, String label, long bytenr, long gen, int level) {
        out.append("\t\t").append(label).append(Le.u64s(bytenr)).append("\tgen: ").append(Le.u64s(gen))
                .append("\tlevel: ").append(level).append('\n');
    }
}
