package org.jbtrfs.tools.inspect;

import java.util.List;
import org.jbtrfs.CorruptImageException;
import org.jbtrfs.format.BlockGroupItem;
import org.jbtrfs.format.ChunkItem;
import org.jbtrfs.format.DevExtent;
import org.jbtrfs.format.DevItem;
import org.jbtrfs.format.DirItem;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.ExtentDataRef;
import org.jbtrfs.format.ExtentItem;
import org.jbtrfs.format.FileExtentItem;
import org.jbtrfs.format.FreeSpaceInfo;
import org.jbtrfs.format.InodeExtref;
import org.jbtrfs.format.InodeItem;
import org.jbtrfs.format.InodeRef;
import org.jbtrfs.format.ItemType;
import org.jbtrfs.format.Le;
import org.jbtrfs.format.ObjectIds;
import org.jbtrfs.format.QgroupItems;
import org.jbtrfs.format.RootItem;
import org.jbtrfs.format.RootRef;
import org.jbtrfs.format.Timespec;
import org.jbtrfs.format.U64Array;
import org.jbtrfs.format.Uuids;

/**
 * Prints the decoded fields of one leaf item the way btrfs-progs 6.2 btrfs_print_leaf() does, so
 * that {@code jbtrfs inspect dump-tree} can be diffed line by line against
 * {@code btrfs inspect-internal dump-tree}. It is its own class because other tools (check
 * reports, send debugging) print items too and must print them identically.
 *
 * <p>Every item is decoded through the {@code org.jbtrfs.format} codecs, not by reading offsets
 * here: the printer is then also a check that our codecs read real images the way progs does. An
 * item a codec rejects is not fatal to the dump: its lines end with an {@code invalid item} line
 * and {@link #printItem} returns the problem, so the caller can finish the tree and fail at the
 * end (progs prints garbage in that case; we say what is wrong).
 *
 * <p>Lines use {@code \n} and two tabs of indent exactly as progs, whatever the platform.
 */
public final class ItemPrinter {
    /**
     * What printing needs to know beyond the item: sector size and checksum size for csum items,
     * and the progs options {@code --hide-names} and {@code --csum-items}.
     */
    public record Options(int sectorsize, int csumSize, boolean hideNames, boolean printCsumItems) {
        public Options {
            if (sectorsize <= 0 || csumSize <= 0) {
                throw new IllegalArgumentException("sectorsize " + sectorsize + " and csum size " + csumSize + " must be > 0");
            }
        }
    }

    /** Bytes of an item of unknown type shown in hex; the rest is elided, a dump is not a hexdump. */
    static final int UNKNOWN_HEX_MAX = 64;
    /** struct btrfs_disk_balance_args. */
    private static final int BALANCE_ARGS_SIZE = 136;
    /** struct btrfs_free_space_header (space cache v1): key, generation, entries, bitmaps. */
    private static final int FREE_SPACE_HEADER_SIZE = DiskKey.SIZE + 24;
    private static final int DEV_STAT_VALUES_MAX = 5;

    private final Options options;

    public ItemPrinter(Options options) {
        this.options = options;
    }

    public Options options() {
        return options;
    }

    /** The line progs prints before an item's fields: {@code \titem N key (...) itemoff X itemsize Y}. */
    public static String itemLine(int slot, DiskKey key, int itemoff, int itemsize) {
        return "\titem " + slot + " " + ProgsFormat.key(key) + " itemoff " + itemoff + " itemsize " + itemsize + "\n";
    }

    /**
     * Appends the field lines of the item {@code key} whose data is {@code b[off, off+len)}.
     * Returns null when the item decoded, or a one-line description of why it did not (the lines
     * then end with {@code \t\tinvalid item: ...}).
     */
    public String printItem(StringBuilder out, DiskKey key, byte[] b, int off, int len) {
        try {
            printFields(out, key, b, off, len);
            return null;
        } catch (CorruptImageException | RuntimeException e) {
            // RuntimeException too: a codec that indexes outside the item is a bug, but one bad
            // item must not hide the rest of the dump.
            String msg = e.getMessage() != null ? e.getMessage() : e.toString();
            out.append("\t\tinvalid item: ").append(msg).append('\n');
            return msg;
        }
    }

    private void printFields(StringBuilder out, DiskKey key, byte[] b, int off, int len) throws CorruptImageException {
        if (key.type() == 0 && key.objectid() == ObjectIds.FREE_SPACE) {
            freeSpaceHeader(out, b, off, len);
            return;
        }
        switch (key.type()) {
            case ItemType.INODE_ITEM -> inodeItem(out, InodeItem.decode(b, off, len));
            case ItemType.INODE_REF -> inodeRefs(out, InodeRef.decodeAll(b, off, len));
            case ItemType.INODE_EXTREF -> inodeExtrefs(out, InodeExtref.decodeAll(b, off, len));
            case ItemType.DIR_ITEM, ItemType.DIR_INDEX, ItemType.XATTR_ITEM -> dirItems(out, DirItem.decodeAll(b, off, len));
            case ItemType.DIR_LOG_ITEM, ItemType.DIR_LOG_INDEX -> {
                need(len, 8, "dir log item");
                out.append("\t\tdir log end ").append(u64(Le.u64(b, off))).append('\n');
            }
            case ItemType.ORPHAN_ITEM -> out.append("\t\torphan item\n");
            case ItemType.ROOT_ITEM -> rootItem(out, RootItem.decode(b, off, len));
            case ItemType.ROOT_REF -> rootRef(out, "ref", RootRef.decode(b, off, len));
            case ItemType.ROOT_BACKREF -> rootRef(out, "backref", RootRef.decode(b, off, len));
            case ItemType.EXTENT_ITEM, ItemType.METADATA_ITEM -> extentItem(out, key, b, off, len);
            case ItemType.TREE_BLOCK_REF -> out.append("\t\ttree block backref\n");
            case ItemType.SHARED_BLOCK_REF -> out.append("\t\tshared block backref\n");
            case ItemType.EXTENT_DATA_REF -> extentDataRef(out, ExtentDataRef.decode(b, off, len));
            case ItemType.SHARED_DATA_REF ->
                out.append("\t\tshared data backref count ").append(U64Array.decodeSharedDataRefCount(b, off, len)).append('\n');
            case ItemType.EXTENT_REF_V0 -> out.append("\t\textent ref v0 (deprecated)\n");
            case ProgsFormat.CSUM_ITEM -> out.append("\t\tcsum item\n");
            case ItemType.EXTENT_CSUM -> extentCsum(out, key.offset(), b, off, len);
            case ItemType.EXTENT_DATA -> fileExtent(out, FileExtentItem.decode(b, off, len), len);
            case ItemType.BLOCK_GROUP_ITEM -> blockGroup(out, BlockGroupItem.decode(b, off, len));
            case ItemType.FREE_SPACE_INFO -> freeSpaceInfo(out, FreeSpaceInfo.decode(b, off, len));
            case ItemType.FREE_SPACE_EXTENT -> out.append("\t\tfree space extent\n");
            case ItemType.FREE_SPACE_BITMAP -> out.append("\t\tfree space bitmap\n");
            case ItemType.CHUNK_ITEM -> chunkItem(out, ChunkItem.decode(b, off, len));
            case ItemType.DEV_ITEM -> {
                need(len, DevItem.SIZE, "DEV_ITEM");
                devItem(out, DevItem.read(b, off));
            }
            case ItemType.DEV_EXTENT -> devExtent(out, DevExtent.decode(b, off, len));
            case ItemType.QGROUP_STATUS -> qgroupStatus(out, QgroupItems.Status.decode(b, off, len));
            case ItemType.QGROUP_RELATION -> { } // the key says it all
            case ItemType.QGROUP_INFO -> qgroupInfo(out, QgroupItems.Info.decode(b, off, len));
            case ItemType.QGROUP_LIMIT -> qgroupLimit(out, QgroupItems.Limit.decode(b, off, len));
            case ItemType.UUID_KEY_SUBVOL, ItemType.UUID_KEY_RECEIVED_SUBVOL -> uuidItem(out, b, off, len);
            case ItemType.STRING_ITEM -> out.append("\t\titem data ").append(ProgsFormat.cString(b, off, len, len)).append('\n');
            case ItemType.PERSISTENT_ITEM -> persistentItem(out, key, b, off, len);
            case ItemType.TEMPORARY_ITEM -> temporaryItem(out, key, b, off, len);
            case ItemType.VERITY_DESC_ITEM, ItemType.VERITY_MERKLE_ITEM, ItemType.DEV_REPLACE -> { } // progs prints none
            default -> unknownItem(out, key, b, off, len);
        }
    }

    private static void need(int have, int expect, String what) throws CorruptImageException {
        if (have < expect) {
            throw new CorruptImageException(what + " item too small: have " + have + " bytes, expect at least " + expect);
        }
    }

    private static String u64(long v) {
        return Long.toUnsignedString(v);
    }

    private String name(byte[] name) {
        return options.hideNames() ? "HIDDEN" : ProgsFormat.cString(name, 0, name.length);
    }

    private static void time(StringBuilder out, String label, Timespec t) {
        out.append("\t\t").append(label).append(' ').append(ProgsFormat.timespec(t.sec(), t.nsec())).append('\n');
    }

    static void inodeItem(StringBuilder out, InodeItem i) {
        out.append("\t\tgeneration ").append(u64(i.generation())).append(" transid ").append(u64(i.transid()))
                .append(" size ").append(u64(i.size())).append(" nbytes ").append(u64(i.nbytes())).append('\n');
        out.append("\t\tblock group ").append(u64(i.blockGroup())).append(" mode ").append(Long.toOctalString(i.mode()))
                .append(" links ").append(i.nlink()).append(" uid ").append(i.uid()).append(" gid ").append(i.gid())
                .append(" rdev ").append(u64(i.rdev())).append('\n');
        out.append("\t\tsequence ").append(u64(i.sequence())).append(" flags 0x").append(Long.toHexString(i.flags()))
                .append('(').append(ProgsFormat.inodeFlags(i.flags())).append(")\n");
        time(out, "atime", i.atime());
        time(out, "ctime", i.ctime());
        time(out, "mtime", i.mtime());
        time(out, "otime", i.otime());
    }

    private void inodeRefs(StringBuilder out, List<InodeRef> refs) {
        for (InodeRef r : refs) {
            out.append("\t\tindex ").append(u64(r.index())).append(" namelen ").append(r.name().length)
                    .append(" name: ").append(name(r.name())).append('\n');
        }
    }

    private void inodeExtrefs(StringBuilder out, List<InodeExtref> refs) {
        for (InodeExtref r : refs) {
            out.append("\t\tindex ").append(u64(r.index())).append(" parent ").append(u64(r.parent()))
                    .append(" namelen ").append(r.name().length).append(" name: ").append(name(r.name())).append('\n');
        }
    }

    private void dirItems(StringBuilder out, List<DirItem> items) {
        for (DirItem d : items) {
            out.append("\t\tlocation ").append(ProgsFormat.key(d.location())).append(" type ")
                    .append(ProgsFormat.dirType(d.type())).append('\n');
            out.append("\t\ttransid ").append(u64(d.transid())).append(" data_len ").append(d.data().length)
                    .append(" name_len ").append(d.name().length).append('\n');
            out.append("\t\tname: ").append(name(d.name())).append('\n');
            if (d.data().length > 0) {
                out.append("\t\tdata ").append(options.hideNames() ? "HIDDEN" : ProgsFormat.cString(d.data(), 0, d.data().length))
                        .append('\n');
            }
        }
    }

    static void rootItem(StringBuilder out, RootItem r) {
        out.append("\t\tgeneration ").append(u64(r.generation())).append(" root_dirid ").append(u64(r.rootDirid()))
                .append(" bytenr ").append(u64(r.bytenr())).append(" byte_limit ").append(u64(r.byteLimit()))
                .append(" bytes_used ").append(u64(r.bytesUsed())).append('\n');
        out.append("\t\tlast_snapshot ").append(u64(r.lastSnapshot())).append(" flags 0x").append(Long.toHexString(r.flags()))
                .append('(').append(r.isReadOnly() ? "RDONLY" : "none").append(") refs ").append(r.refs()).append('\n');
        out.append("\t\tdrop_progress ").append(ProgsFormat.key(r.dropProgress())).append(" drop_level ")
                .append(r.dropLevel()).append('\n');
        out.append("\t\tlevel ").append(r.level()).append(" generation_v2 ").append(u64(r.generationV2())).append('\n');
        if (r.generation() != r.generationV2()) {
            return; // written by a kernel that did not know the fields below: progs hides them
        }
        out.append("\t\tuuid ").append(Uuids.toString(r.uuid())).append('\n');
        out.append("\t\tparent_uuid ").append(Uuids.toString(r.parentUuid())).append('\n');
        out.append("\t\treceived_uuid ").append(Uuids.toString(r.receivedUuid())).append('\n');
        out.append("\t\tctransid ").append(u64(r.ctransid())).append(" otransid ").append(u64(r.otransid()))
                .append(" stransid ").append(u64(r.stransid())).append(" rtransid ").append(u64(r.rtransid())).append('\n');
        time(out, "ctime", r.ctime());
        time(out, "otime", r.otime());
        time(out, "stime", r.stime());
        time(out, "rtime", r.rtime());
    }

    private void rootRef(StringBuilder out, String tag, RootRef r) {
        out.append("\t\troot ").append(tag).append(" key dirid ").append(u64(r.dirid())).append(" sequence ")
                .append(u64(r.sequence())).append(" name ").append(name(r.name())).append('\n');
    }

    /**
     * print_extent_item(). An item shorter than struct btrfs_extent_item (the v0 format of 2008)
     * prints nothing, as in progs.
     */
    private static void extentItem(StringBuilder out, DiskKey key, byte[] b, int off, int len) throws CorruptImageException {
        if (len < ExtentItem.SIZE) {
            return;
        }
        boolean skinny = key.type() == ItemType.METADATA_ITEM;
        ExtentItem e = ExtentItem.decode(b, off, len, skinny);
        out.append("\t\trefs ").append(u64(e.refs())).append(" gen ").append(u64(e.generation())).append(" flags ")
                .append(ProgsFormat.extentFlags(e.flags())).append('\n');
        if (e.treeBlockKey() != null) {
            out.append("\t\ttree block ").append(ProgsFormat.key(e.treeBlockKey())).append(" level ")
                    .append(e.treeBlockLevel()).append('\n');
        } else if (skinny) {
            out.append("\t\ttree block skinny level ").append((int) key.offset()).append('\n');
        }
        for (ExtentItem.InlineRef r : e.inlineRefs()) {
            switch (r.type()) {
                case ItemType.TREE_BLOCK_REF -> out.append("\t\ttree block backref root ")
                        .append(ProgsFormat.objectid(r.root(), 0)).append('\n');
                case ItemType.SHARED_BLOCK_REF -> out.append("\t\tshared block backref parent ").append(u64(r.parent()))
                        .append('\n');
                case ItemType.EXTENT_DATA_REF -> out.append("\t\textent data backref root ")
                        .append(ProgsFormat.objectid(r.root(), 0)).append(" objectid ").append(u64(r.objectid()))
                        .append(" offset ").append(u64(r.offset())).append(" count ").append(r.count()).append('\n');
                case ItemType.SHARED_DATA_REF -> out.append("\t\tshared data backref parent ").append(u64(r.parent()))
                        .append(" count ").append(r.count()).append('\n');
                case ItemType.EXTENT_OWNER_REF -> out.append("\t\textent owner root ").append(u64(r.root())).append('\n');
                default -> throw new AssertionError("decoder returned inline ref type " + r.type());
            }
        }
    }

    private static void extentDataRef(StringBuilder out, ExtentDataRef d) {
        out.append("\t\textent data backref root ").append(ProgsFormat.objectid(d.root(), 0)).append(" objectid ")
                .append(u64(d.objectid())).append(" offset ").append(u64(d.offset())).append(" count ").append(d.count())
                .append('\n');
    }

    /**
     * print_extent_csum(): the file range the checksums cover, and with --csum-items the
     * checksums themselves, as many per line as fill 32 bytes of checksum (4 crc32c, 2 xxhash, 1
     * sha256 or blake2b), each prefixed with the logical address of its sector.
     */
    private void extentCsum(StringBuilder out, long start, byte[] b, int off, int len) {
        int csumSize = options.csumSize();
        long size = (long) (len / csumSize) * options.sectorsize();
        out.append("\t\trange start ").append(u64(start)).append(" end ").append(u64(start + size))
                .append(" length ").append(size & 0xffffffffL).append('\n');
        if (!options.printCsumItems()) {
            return;
        }
        int perLine = Math.max(1, 32 / csumSize / 2);
        long addr = start;
        int n = len / csumSize;
        for (int i = 0; i < n; i++) {
            out.append(i == 0 ? "\t\t" : i % perLine == 0 ? "\n\t\t" : " ");
            out.append('[').append(u64(addr)).append("] 0x").append(ProgsFormat.hex(b, off + i * csumSize, csumSize));
            addr += options.sectorsize();
        }
        out.append('\n');
    }

    private static void fileExtent(StringBuilder out, FileExtentItem f, int len) {
        String comp = f.compression() + " (" + ProgsFormat.compression(f.compression()) + ")";
        out.append("\t\tgeneration ").append(u64(f.generation())).append(" type ").append(f.type()).append(" (")
                .append(ProgsFormat.fileExtentType(f.type())).append(")\n");
        if (f.isInline()) {
            out.append("\t\tinline extent data size ").append(len - FileExtentItem.INLINE_DATA_START)
                    .append(" ram_bytes ").append(u64(f.ramBytes())).append(" compression ").append(comp).append('\n');
            return;
        }
        String kind = f.type() == FileExtentItem.TYPE_PREALLOC ? "prealloc" : "extent";
        out.append("\t\t").append(kind).append(" data disk byte ").append(u64(f.diskBytenr())).append(" nr ")
                .append(u64(f.diskNumBytes())).append('\n');
        out.append("\t\t").append(kind).append(" data offset ").append(u64(f.offset())).append(" nr ")
                .append(u64(f.numBytes()));
        if (f.type() == FileExtentItem.TYPE_PREALLOC) {
            out.append('\n');
            return;
        }
        out.append(" ram ").append(u64(f.ramBytes())).append('\n');
        out.append("\t\textent compression ").append(comp).append('\n');
    }

    private static void blockGroup(StringBuilder out, BlockGroupItem g) {
        out.append("\t\tblock group used ").append(u64(g.used())).append(" chunk_objectid ").append(u64(g.chunkObjectid()))
                .append(" flags ").append(ProgsFormat.blockGroupFlags(g.flags())).append('\n');
    }

    private static void freeSpaceInfo(StringBuilder out, FreeSpaceInfo f) {
        out.append("\t\tfree space info extent count ").append(f.extentCount()).append(" flags ").append(f.flags())
                .append('\n');
    }

    /** print_chunk_item(); also used by dump-super for the sys_chunk_array. */
    public static void chunkItem(StringBuilder out, ChunkItem c) {
        out.append("\t\tlength ").append(u64(c.length())).append(" owner ").append(u64(c.owner()))
                .append(" stripe_len ").append(u64(c.stripeLen())).append(" type ")
                .append(ProgsFormat.blockGroupFlags(c.type())).append('\n');
        out.append("\t\tio_align ").append(c.ioAlign()).append(" io_width ").append(c.ioWidth())
                .append(" sector_size ").append(c.sectorSize()).append('\n');
        out.append("\t\tnum_stripes ").append(c.stripes().size()).append(" sub_stripes ").append(c.subStripes()).append('\n');
        for (int i = 0; i < c.stripes().size(); i++) {
            ChunkItem.Stripe s = c.stripes().get(i);
            out.append("\t\t\tstripe ").append(i).append(" devid ").append(u64(s.devid())).append(" offset ")
                    .append(u64(s.offset())).append('\n');
            out.append("\t\t\tdev_uuid ").append(Uuids.toString(s.devUuid())).append('\n');
        }
    }

    private static void devItem(StringBuilder out, DevItem d) {
        out.append("\t\tdevid ").append(u64(d.devid())).append(" total_bytes ").append(u64(d.totalBytes()))
                .append(" bytes_used ").append(u64(d.bytesUsed())).append('\n');
        out.append("\t\tio_align ").append(d.ioAlign()).append(" io_width ").append(d.ioWidth()).append(" sector_size ")
                .append(d.sectorSize()).append(" type ").append(u64(d.type())).append('\n');
        out.append("\t\tgeneration ").append(u64(d.generation())).append(" start_offset ").append(u64(d.startOffset()))
                .append(" dev_group ").append(d.devGroup()).append('\n');
        out.append("\t\tseek_speed ").append(d.seekSpeed()).append(" bandwidth ").append(d.bandwidth()).append('\n');
        out.append("\t\tuuid ").append(Uuids.toString(d.uuid())).append('\n');
        out.append("\t\tfsid ").append(Uuids.toString(d.fsid())).append('\n');
    }

    private static void devExtent(StringBuilder out, DevExtent d) {
        out.append("\t\tdev extent chunk_tree ").append(u64(d.chunkTree())).append('\n');
        out.append("\t\tchunk_objectid ").append(u64(d.chunkObjectid())).append(" chunk_offset ")
                .append(u64(d.chunkOffset())).append(" length ").append(u64(d.length())).append('\n');
        out.append("\t\tchunk_tree_uuid ").append(Uuids.toString(d.chunkTreeUuid())).append('\n');
    }

    private static void qgroupStatus(StringBuilder out, QgroupItems.Status s) {
        out.append("\t\tversion ").append(u64(s.version())).append(" generation ").append(u64(s.generation()))
                .append(" flags ").append(ProgsFormat.qgroupStatusFlags(s.flags())).append(" scan ").append(u64(s.rescan()));
        if (s.hasEnableGen() && (s.flags() & QgroupItems.STATUS_FLAG_SIMPLE_MODE) != 0) {
            // Simple quotas (newer than progs 6.2). Kernels since 6.7 write the 40-byte item
            // always; progs shows enable_gen only in simple mode, where it means something.
            out.append(" enable_gen ").append(u64(s.enableGen()));
        }
        out.append('\n');
    }

    private static void qgroupInfo(StringBuilder out, QgroupItems.Info q) {
        out.append("\t\tgeneration ").append(u64(q.generation())).append('\n');
        out.append("\t\treferenced ").append(u64(q.rfer())).append(" referenced_compressed ").append(u64(q.rferCmpr()))
                .append('\n');
        out.append("\t\texclusive ").append(u64(q.excl())).append(" exclusive_compressed ").append(u64(q.exclCmpr()))
                .append('\n');
    }

    /** print_qgroup_limit(): flags in hex without 0x, the limits signed (-1 would mean none). */
    private static void qgroupLimit(StringBuilder out, QgroupItems.Limit q) {
        out.append("\t\tflags ").append(Long.toHexString(q.flags())).append('\n');
        out.append("\t\tmax_referenced ").append(q.maxRfer()).append(" max_exclusive ").append(q.maxExcl()).append('\n');
        out.append("\t\trsv_referenced ").append(q.rsvRfer()).append(" rsv_exclusive ").append(q.rsvExcl()).append('\n');
    }

    private static void uuidItem(StringBuilder out, byte[] b, int off, int len) throws CorruptImageException {
        if (len % 8 != 0) {
            out.append("btrfs: uuid item with illegal size ").append(len).append("!\n");
        }
        for (long id : U64Array.decode(b, off, len, "UUID")) {
            out.append("\t\tsubvol_id ").append(u64(id)).append('\n');
        }
    }

    private static void persistentItem(StringBuilder out, DiskKey key, byte[] b, int off, int len)
            throws CorruptImageException {
        out.append("\t\tpersistent item objectid ").append(ProgsFormat.objectid(key.objectid(), ItemType.PERSISTENT_ITEM))
                .append(" offset ").append(u64(key.offset())).append('\n');
        if (key.objectid() != ObjectIds.DEV_STATS) {
            out.append("\t\tunknown persistent item objectid ").append(u64(key.objectid())).append('\n');
            return;
        }
        need(len, DEV_STAT_VALUES_MAX * 8, "dev stats");
        long[] v = U64Array.decode(b, off, len - len % 8, "dev stats");
        out.append("\t\tdevice stats\n");
        out.append("\t\twrite_errs ").append(u64(v[0])).append(" read_errs ").append(u64(v[1])).append(" flush_errs ")
                .append(u64(v[2])).append(" corruption_errs ").append(u64(v[3])).append(" generation ").append(u64(v[4]))
                .append('\n');
        if (len > DEV_STAT_VALUES_MAX * 8) {
            // progs forgets the newline after this line; kept, so diffs stay quiet.
            out.append("\t\tunknown stats item bytes ").append(len - DEV_STAT_VALUES_MAX * 8);
            for (int i = DEV_STAT_VALUES_MAX; i < v.length; i++) {
                out.append("\t\tunknown item ").append(i).append(" offset ").append(i * 8).append(" value ")
                        .append(u64(v[i])).append('\n');
            }
        }
    }

    private static void temporaryItem(StringBuilder out, DiskKey key, byte[] b, int off, int len)
            throws CorruptImageException {
        out.append("\t\ttemporary item objectid ").append(ProgsFormat.objectid(key.objectid(), ItemType.TEMPORARY_ITEM))
                .append(" offset ").append(u64(key.offset())).append('\n');
        if (key.objectid() != ObjectIds.BALANCE) {
            out.append("\t\tunknown temporary item objectid ").append(u64(key.objectid())).append('\n');
            return;
        }
        need(len, 8 + 3 * BALANCE_ARGS_SIZE, "balance");
        out.append("\t\tbalance status flags ").append(u64(Le.u64(b, off))).append('\n');
        String[] kinds = {"DATA", "METADATA", "SYSTEM"};
        for (int i = 0; i < kinds.length; i++) {
            out.append("\t\t").append(kinds[i]).append('\n');
            balanceArgs(out, b, off + 8 + i * BALANCE_ARGS_SIZE);
        }
    }

    /** struct btrfs_disk_balance_args, read in place: no codec yet, balance is a later issue. */
    private static void balanceArgs(StringBuilder out, byte[] b, int a) {
        out.append("\t\tprofiles ").append(u64(Le.u64(b, a))).append(" devid ").append(u64(Le.u64(b, a + 16)))
                .append(" target ").append(u64(Le.u64(b, a + 56))).append(" flags ").append(u64(Le.u64(b, a + 64)))
                .append('\n');
        out.append("\t\tusage_min ").append(Le.u32(b, a + 8)).append(" usage_max ").append(Le.u32(b, a + 12))
                .append(" pstart ").append(u64(Le.u64(b, a + 24))).append(" pend ").append(u64(Le.u64(b, a + 32)))
                .append('\n');
        out.append("\t\tvstart ").append(u64(Le.u64(b, a + 40))).append(" vend ").append(u64(Le.u64(b, a + 48)))
                .append(" limit_min ").append(Le.u32(b, a + 72)).append(" limit_max ").append(Le.u32(b, a + 76)).append('\n');
        out.append("\t\tstripes_min ").append(Le.u32(b, a + 80)).append(" stripes_max ").append(Le.u32(b, a + 84))
                .append('\n');
    }

    /** print_free_space_header(): the v1 space cache's (FREE_SPACE UNTYPED bg_start) item. */
    private static void freeSpaceHeader(StringBuilder out, byte[] b, int off, int len) throws CorruptImageException {
        need(len, FREE_SPACE_HEADER_SIZE, "free space header");
        out.append("\t\tlocation ").append(ProgsFormat.key(DiskKey.read(b, off))).append('\n');
        out.append("\t\tcache generation ").append(u64(Le.u64(b, off + 17))).append(" entries ")
                .append(u64(Le.u64(b, off + 25))).append(" bitmaps ").append(u64(Le.u64(b, off + 33))).append('\n');
    }

    /**
     * A type we have no printer for. progs prints nothing; we show the size and the first bytes,
     * because a dump is where one goes to find out what an unexpected item holds.
     */
    private static void unknownItem(StringBuilder out, DiskKey key, byte[] b, int off, int len) {
        int n = Math.min(len, UNKNOWN_HEX_MAX);
        out.append("\t\tunknown item type ").append(key.type()).append(" size ").append(len);
        if (len > 0) {
            out.append(" data 0x").append(ProgsFormat.hex(b, off, n)).append(len > n ? "..." : "");
        }
        out.append('\n');
    }
}
