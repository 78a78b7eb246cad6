package org.jbtrfs.fuzz;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.jbtrfs.format.CsumType;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.Header;
import org.jbtrfs.format.ItemType;
import org.jbtrfs.format.Le;
import org.jbtrfs.format.Superblock;

/**
 * Damages a working copy of a real image in place, one seeded case at a time, and undoes it
 * afterwards from the pristine bytes (cheaper than copying 100+ MiB per case).
 *
 * <h2>Kinds of damage</h2>
 * <ul>
 *   <li><b>flip</b>: random bytes of a tree block; half with the checksum recomputed on every copy,
 *       half with it left stale, mostly on one DUP copy only (which the reader must repair
 *       invisibly from the other).</li>
 *   <li><b>struct</b>: a targeted edit of a tree block with the checksum recomputed, so that the
 *       structural checks and the item decoders are what stand between the bytes and the API:
 *       nritems, level, header fields, item offsets and sizes (absurd, or shifted so that the
 *       packing still adds up), keys (extreme values, swaps, duplicates), item data (random bytes,
 *       extreme values of 1/2/4/8-byte fields anywhere in the item), child pointers (to the block
 *       itself, its parent, another block of any level with or without the generation and first
 *       key the reader checks, data, zero, unaligned), pointer generations. Several blocks at once
 *       in some cases.</li>
 *   <li><b>super</b>: the primary superblock or every copy: random bytes, or a named field set to an
 *       extreme value, with or without a recomputed checksum.</li>
 *   <li><b>truncate</b>: the device cut at a random length (near the start, the superblock mirror,
 *       inside a tree block or data extent, or anywhere).</li>
 *   <li><b>data</b>: random bytes in a data extent (compressed ones included), read with and
 *       without data checksum verification.</li>
 * </ul>
 */
final class ImageMutator {
    /** A tree block as found by walking every tree of the pristine image. */
    record TreeBlock(long logical, long[] physical, long tree, int level, int nritems, long parent) {
        boolean isLeaf() {
            return level == 0;
        }
    }

    /** A data extent (regular, on disk) and where its bytes are. */
    record DataExtent(long logical, long physical, int length, int compression) {
    }

    /** What one case did: for messages, for undo, and for what the walk may show. */
    static final class Mutation {
        final String kind;
        final StringBuilder what = new StringBuilder();
        /** Damage the API must not show: the walk must equal the pristine walk. */
        boolean invisible;
        boolean verifyDataCsums;
        long deviceSize;
        private final List<long[]> touched = new ArrayList<>();

        Mutation(String kind) {
            this.kind = kind;
        }

        @Override
        public String toString() {
            return kind + ": " + what + (invisible ? " [must be invisible]" : "")
                    + (verifyDataCsums ? " [verifying data csums]" : "");
        }
    }

    private static final String[][] SUPER_FIELDS = {
        {"generation", "72", "8"}, {"root", "80", "8"}, {"chunk_root", "88", "8"}, {"log_root", "96", "8"},
        {"total_bytes", "112", "8"}, {"bytes_used", "120", "8"}, {"root_dir_objectid", "128", "8"},
        {"num_devices", "136", "8"}, {"sectorsize", "144", "4"}, {"nodesize", "148", "4"}, {"leafsize", "152", "4"},
        {"stripesize", "156", "4"}, {"sys_chunk_array_size", "160", "4"}, {"chunk_root_generation", "164", "8"},
        {"compat_flags", "172", "8"}, {"compat_ro_flags", "180", "8"}, {"incompat_flags", "188", "8"},
        {"csum_type", "196", "2"}, {"root_level", "198", "1"}, {"chunk_root_level", "199", "1"},
        {"log_root_level", "200", "1"}, {"dev_item.devid", "201", "8"}, {"dev_item.total_bytes", "209", "8"},
        {"dev_item.bytes_used", "217", "8"}, {"metadata_uuid", "571", "8"},
    };
    private static final long[] TREE_IDS = {1, 2, 3, 4, 5, 7, 9, 10, 11, 256, 257, 258, -9L, 0, -1L};
    private static final int[] KEY_TYPES = {ItemType.INODE_ITEM, ItemType.INODE_REF, ItemType.INODE_EXTREF,
        ItemType.XATTR_ITEM, ItemType.DIR_ITEM, ItemType.DIR_INDEX, ItemType.EXTENT_DATA, ItemType.EXTENT_CSUM,
        ItemType.ROOT_ITEM, ItemType.ROOT_BACKREF, ItemType.ROOT_REF, ItemType.EXTENT_ITEM, ItemType.METADATA_ITEM,
        ItemType.BLOCK_GROUP_ITEM, ItemType.DEV_EXTENT, ItemType.DEV_ITEM, ItemType.CHUNK_ITEM, 0, 255};

    private final byte[] pristine;
    private final byte[] img;
    private final List<TreeBlock> blocks;
    private final Map<Long, TreeBlock> byLogical;
    private final List<DataExtent> data;
    private final int nodesize;
    private final CsumType csum;
    /** Damage beyond this device offset (cutting the device there) touches nothing in use. */
    private final long usedEnd;

    ImageMutator(byte[] pristine, List<TreeBlock> blocks, Map<Long, TreeBlock> byLogical, List<DataExtent> data,
            int nodesize, CsumType csum) {
        this.pristine = pristine;
        this.img = pristine.clone();
        this.blocks = blocks;
        this.byLogical = byLogical;
        this.data = data;
        this.nodesize = nodesize;
        this.csum = csum;
        long end = 0;
        for (TreeBlock b : blocks) {
            for (long p : b.physical()) {
                end = Math.max(end, p + nodesize);
            }
        }
        for (DataExtent d : data) {
            end = Math.max(end, d.physical() + d.length());
        }
        for (long off : Superblock.MIRROR_OFFSETS) {
            if (off + Superblock.SIZE <= pristine.length) {
                end = Math.max(end, off + Superblock.SIZE);
            }
        }
        this.usedEnd = end;
    }

    /** The working image the cases read (damaged during a case, pristine between cases). */
    byte[] image() {
        return img;
    }

    Mutation apply(Random rnd) {
        int k = rnd.nextInt(100);
        Mutation m;
        if (k < 22) {
            m = flipTreeBlock(rnd);
        } else if (k < 60) {
            m = structural(rnd, 1);
        } else if (k < 65) {
            m = structural(rnd, 2 + rnd.nextInt(4));
        } else if (k < 77) {
            m = superblock(rnd);
        } else if (k < 88) {
            m = truncate(rnd);
        } else {
            m = dataExtent(rnd);
        }
        if (m.deviceSize == 0) {
            m.deviceSize = img.length;
        }
        m.verifyDataCsums |= rnd.nextInt(4) == 0;
        return m;
    }

    void undo(Mutation m) {
        for (long[] t : m.touched) {
            System.arraycopy(pristine, (int) t[0], img, (int) t[0], (int) t[1]);
        }
        m.touched.clear();
    }

    /** True when the working image equals the pristine one again (checked now and then). */
    boolean isPristine() {
        return Arrays.equals(img, pristine);
    }

    // ---------------------------------------------------------------- tree blocks

    private Mutation flipTreeBlock(Random rnd) {
        Mutation m = new Mutation("flip");
        TreeBlock tb = blocks.get(rnd.nextInt(blocks.size()));
        byte[] b = read(tb.physical()[0]);
        int n = 1 + rnd.nextInt(8);
        m.what.append(describe(tb)).append(": ").append(n).append(" random byte(s) at");
        for (int i = 0; i < n; i++) {
            int at = rnd.nextInt(nodesize);
            if (rnd.nextBoolean()) {
                b[at] ^= (byte) (1 << rnd.nextInt(8));
            } else {
                b[at] = (byte) rnd.nextInt(256);
            }
            m.what.append(' ').append(at);
        }
        // Half the flips get a valid checksum (on every copy), so that random damage reaches the
        // tree checker and the decoders; of the rest most hit one DUP copy, which must not show.
        boolean fix = rnd.nextBoolean();
        boolean oneCopy = !fix && tb.physical().length > 1 && rnd.nextInt(10) < 7;
        if (fix) {
            Header.updateCsum(b, csum);
        }
        m.invisible = oneCopy;
        m.what.append(oneCopy ? ", first copy only" : ", every copy").append(fix ? ", csum fixed" : ", csum stale");
        write(tb, b, !oneCopy, m);
        return m;
    }

    private Mutation structural(Random rnd, int count) {
        Mutation m = new Mutation(count == 1 ? "struct" : "struct x" + count);
        for (int i = 0; i < count; i++) {
            TreeBlock tb = blocks.get(rnd.nextInt(blocks.size()));
            byte[] b = read(tb.physical()[0]);
            if (i > 0) {
                m.what.append("; ");
            }
            m.what.append(describe(tb)).append(": ");
            editBlock(rnd, tb, b, m.what);
            boolean fix = rnd.nextInt(20) != 0;
            if (fix) {
                Header.updateCsum(b, csum);
            }
            boolean all = rnd.nextInt(10) != 0;
            m.what.append(fix ? ", csum fixed" : ", csum stale").append(all ? ", every copy" : ", first copy only");
            write(tb, b, all, m);
        }
        return m;
    }

    private void editBlock(Random rnd, TreeBlock tb, byte[] b, StringBuilder what) {
        int n = (int) Header.nritems(b);
        int choice = rnd.nextInt(tb.isLeaf() ? 14 : 10);
        switch (choice) {
            case 0 -> {
                long v = extreme(rnd, n, 4, tb.isLeaf() ? Header.leafDataSize(nodesize) / Header.ITEM_SIZE
                        : Header.maxKeyPtrs(nodesize));
                Le.putU32(b, Header.OFF_NRITEMS, v);
                what.append("nritems ").append(n).append(" := ").append(v);
            }
            case 1 -> {
                int v = new int[] {0, 1, tb.level() + 1, Math.max(0, tb.level() - 1), 7, 8, 255}[rnd.nextInt(7)];
                Le.putU8(b, Header.OFF_LEVEL, v);
                what.append("level ").append(tb.level()).append(" := ").append(v);
            }
            case 2 -> header(rnd, b, what);
            case 3, 4 -> key(rnd, tb, b, n, what);
            case 5, 6, 7 -> {
                if (tb.isLeaf()) {
                    itemHeader(rnd, b, n, what);
                } else {
                    pointer(rnd, tb, b, n, what);
                }
            }
            case 8 -> {
                if (tb.isLeaf()) {
                    resizeConsistently(rnd, b, n, what);
                } else {
                    pointerGeneration(rnd, b, n, what);
                }
            }
            case 9 -> {
                if (tb.isLeaf()) {
                    itemData(rnd, b, n, what);
                } else {
                    pointer(rnd, tb, b, n, what);
                }
            }
            default -> itemData(rnd, b, n, what); // leaves only: the decoders get most of the cases
        }
    }

    private void header(Random rnd, byte[] b, StringBuilder what) {
        switch (rnd.nextInt(6)) {
            case 0 -> {
                long v = rnd.nextBoolean() ? blocks.get(rnd.nextInt(blocks.size())).logical() : rnd.nextLong();
                what.append("header bytenr := ").append(Le.u64s(v));
                Header.setBytenr(b, v);
            }
            case 1 -> {
                long v = TREE_IDS[rnd.nextInt(TREE_IDS.length)];
                what.append("header owner := ").append(Le.u64s(v));
                Header.setOwner(b, v);
            }
            case 2 -> {
                long g = Header.generation(b);
                long v = extreme(rnd, g, 8, g);
                what.append("header generation ").append(g).append(" := ").append(Le.u64s(v));
                Header.setGeneration(b, v);
            }
            case 3 -> {
                long v = rnd.nextLong();
                what.append("header flags := 0x").append(Long.toHexString(v));
                Header.setFlags(b, v);
            }
            case 4 -> {
                int at = Header.OFF_FSID + rnd.nextInt(16);
                b[at] ^= (byte) (1 + rnd.nextInt(255));
                what.append("header fsid byte ").append(at - Header.OFF_FSID).append(" changed");
            }
            default -> {
                int at = Header.OFF_CHUNK_TREE_UUID + rnd.nextInt(16);
                b[at] ^= (byte) (1 + rnd.nextInt(255));
                what.append("header chunk_tree_uuid byte changed");
            }
        }
    }

    private void key(Random rnd, TreeBlock tb, byte[] b, int n, StringBuilder what) {
        if (n == 0) {
            what.append("(empty block, key edit skipped)");
            return;
        }
        int s = rnd.nextInt(n);
        int ko = tb.isLeaf() ? Header.itemOffset(s) : Header.keyPtrOffset(s);
        DiskKey before = DiskKey.read(b, ko);
        switch (rnd.nextInt(6)) {
            case 0 -> Le.putU64(b, ko + DiskKey.OFF_OBJECTID, extreme(rnd, before.objectid(), 8, 256));
            case 1 -> Le.putU8(b, ko + DiskKey.OFF_TYPE, KEY_TYPES[rnd.nextInt(KEY_TYPES.length)]);
            case 2 -> Le.putU64(b, ko + DiskKey.OFF_OFFSET, extreme(rnd, before.offset(), 8, 4096));
            case 3 -> Le.putU64(b, ko + DiskKey.OFF_OFFSET, offsetKeepingOrder(rnd, b, tb.isLeaf(), s, n, before));
            case 4 -> {
                if (n > 1) {
                    int t = (s + 1) % n;
                    int to = tb.isLeaf() ? Header.itemOffset(t) : Header.keyPtrOffset(t);
                    byte[] tmp = Arrays.copyOfRange(b, ko, ko + DiskKey.SIZE);
                    System.arraycopy(b, to, b, ko, DiskKey.SIZE);
                    System.arraycopy(tmp, 0, b, to, DiskKey.SIZE);
                    what.append("swap keys of slots ").append(s).append(" and ").append(t);
                    return;
                }
            }
            default -> {
                int t = rnd.nextInt(n);
                int to = tb.isLeaf() ? Header.itemOffset(t) : Header.keyPtrOffset(t);
                System.arraycopy(b, to, b, ko, DiskKey.SIZE);
            }
        }
        what.append("slot ").append(s).append(" key ").append(before).append(" := ").append(DiskKey.read(b, ko));
    }

    /**
     * A new offset for the key in slot s that keeps the block's keys in order, so that the damage
     * passes the tree checker and reaches the code that interprets keys (a DIR_INDEX of -1, an
     * EXTENT_DATA at 2^63, an inode ref to another parent): anything between the neighbours when
     * they share objectid and type, an extreme value when they do not.
     */
    private static long offsetKeepingOrder(Random rnd, byte[] b, boolean leaf, int s, int n, DiskKey cur) {
        DiskKey prev = s > 0 ? DiskKey.read(b, leaf ? Header.itemOffset(s - 1) : Header.keyPtrOffset(s - 1)) : null;
        DiskKey next = s + 1 < n ? DiskKey.read(b, leaf ? Header.itemOffset(s + 1) : Header.keyPtrOffset(s + 1)) : null;
        long lo = prev != null && prev.objectid() == cur.objectid() && prev.type() == cur.type() ? prev.offset() + 1 : 0;
        long hi = next != null && next.objectid() == cur.objectid() && next.type() == cur.type() ? next.offset() - 1 : -1L;
        long[] picks = {lo, hi, -1L, Long.MIN_VALUE, Long.MAX_VALUE, cur.offset() + 1, cur.offset() - 1, 1L << 32,
            (1L << 32) - 1, 2, 0};
        for (int tries = 0; tries < 8; tries++) {
            long v = picks[rnd.nextInt(picks.length)];
            if (Long.compareUnsigned(v, lo) >= 0 && Long.compareUnsigned(v, hi) <= 0) {
                return v;
            }
        }
        return cur.offset();
    }

    private void itemHeader(Random rnd, byte[] b, int n, StringBuilder what) {
        if (n == 0) {
            what.append("(empty leaf, item edit skipped)");
            return;
        }
        int s = rnd.nextInt(n);
        boolean size = rnd.nextBoolean();
        int at = Header.itemOffset(s) + (size ? Header.ITEM_OFF_SIZE : Header.ITEM_OFF_OFFSET);
        long cur = Le.u32(b, at);
        long v = extreme(rnd, cur, 4, nodesize);
        Le.putU32(b, at, v);
        what.append("slot ").append(s).append(" item ").append(size ? "size " : "offset ").append(cur).append(" := ")
                .append(v);
    }

    /**
     * Moves the start of item s's data forward by d (the item shrinks at the front) and grows
     * item s+1 at its end by d, so the packing check still passes and only the decoders see
     * wrong lengths (s+1 gets trailing junk, s loses its head).
     */
    private void resizeConsistently(Random rnd, byte[] b, int n, StringBuilder what) {
        if (n == 0) {
            what.append("(empty leaf, resize skipped)");
            return;
        }
        int s = rnd.nextInt(n);
        int io = Header.itemOffset(s);
        long size = Le.u32(b, io + Header.ITEM_OFF_SIZE);
        if (size == 0) {
            what.append("(slot ").append(s).append(" is empty, resize skipped)");
            return;
        }
        long d = 1 + rnd.nextInt((int) Math.min(size, 64));
        Le.putU32(b, io + Header.ITEM_OFF_OFFSET, Le.u32(b, io + Header.ITEM_OFF_OFFSET) + d);
        Le.putU32(b, io + Header.ITEM_OFF_SIZE, size - d);
        if (s + 1 < n) {
            int next = Header.itemOffset(s + 1);
            Le.putU32(b, next + Header.ITEM_OFF_SIZE, Le.u32(b, next + Header.ITEM_OFF_SIZE) + d);
        }
        what.append("slot ").append(s).append(" ").append(DiskKey.read(b, io)).append(" loses its first ").append(d)
                .append(" bytes").append(s + 1 < n ? " to the end of slot " + (s + 1) : "");
    }

    private void itemData(Random rnd, byte[] b, int n, StringBuilder what) {
        if (n == 0) {
            what.append("(empty leaf, data edit skipped)");
            return;
        }
        int s = rnd.nextInt(n);
        int io = Header.itemOffset(s);
        int start = Header.SIZE + (int) Le.u32(b, io + Header.ITEM_OFF_OFFSET);
        int size = (int) Le.u32(b, io + Header.ITEM_OFF_SIZE);
        what.append("slot ").append(s).append(" ").append(DiskKey.read(b, io)).append(" (").append(size)
                .append(" bytes): ");
        if (size == 0) {
            what.append("empty, nothing changed");
            return;
        }
        if (rnd.nextInt(3) == 0) {
            int k = 1 + rnd.nextInt(4);
            what.append(k).append(" random byte(s) at");
            for (int i = 0; i < k; i++) {
                int at = rnd.nextInt(size);
                b[start + at] = (byte) rnd.nextInt(256);
                what.append(' ').append(at);
            }
            return;
        }
        int width = new int[] {1, 2, 4, 8}[rnd.nextInt(4)];
        if (width > size) {
            width = 1;
        }
        int at = rnd.nextInt(size - width + 1);
        long cur = read(b, start + at, width);
        long v = extreme(rnd, cur, width, 4096);
        put(b, start + at, width, v);
        what.append(width).append("-byte field at ").append(at).append(" ").append(Le.u64s(cur)).append(" := ")
                .append(Le.u64s(v));
    }

    private void pointer(Random rnd, TreeBlock tb, byte[] b, int n, StringBuilder what) {
        int s = rnd.nextInt(Math.max(1, n));
        int po = Header.keyPtrOffset(s);
        int choice = rnd.nextInt(8);
        TreeBlock target = switch (choice) {
            case 0 -> tb;
            case 1 -> tb.parent() >= 0 ? byLogical.get(tb.parent()) : tb;
            case 2, 3 -> blocks.get(rnd.nextInt(blocks.size()));
            default -> null;
        };
        long v;
        if (target != null) {
            v = target.logical();
            what.append("slot ").append(s).append(" child pointer := ").append(choice == 0 ? "the block itself"
                    : choice == 1 ? "its parent" : "another block").append(" (").append(describe(target)).append(')');
            if (rnd.nextBoolean()) {
                // Make the pointer look right to the reader: the target's generation and first key.
                byte[] t = read(target.physical()[0]);
                Le.putU64(b, po + Header.KEY_PTR_OFF_GENERATION, Header.generation(t));
                if (Header.nritems(t) > 0) {
                    int tk = Header.level(t) == 0 ? Header.itemOffset(0) : Header.keyPtrOffset(0);
                    System.arraycopy(t, tk, b, po, DiskKey.SIZE);
                }
                what.append(" with its generation and first key");
            }
        } else {
            long cur = Le.u64(b, po + Header.KEY_PTR_OFF_BLOCKPTR);
            v = switch (choice) {
                case 4 -> data.isEmpty() ? 0 : data.get(rnd.nextInt(data.size())).logical();
                case 5 -> cur + nodesize;
                case 6 -> cur + 1 + rnd.nextInt(4095);
                default -> extreme(rnd, cur, 8, 4096);
            };
            what.append("slot ").append(s).append(" child pointer ").append(Le.u64s(cur)).append(" := ").append(Le.u64s(v));
        }
        Le.putU64(b, po + Header.KEY_PTR_OFF_BLOCKPTR, v);
    }

    private void pointerGeneration(Random rnd, byte[] b, int n, StringBuilder what) {
        int s = rnd.nextInt(Math.max(1, n));
        int at = Header.keyPtrOffset(s) + Header.KEY_PTR_OFF_GENERATION;
        long cur = Le.u64(b, at);
        long v = extreme(rnd, cur, 8, cur);
        Le.putU64(b, at, v);
        what.append("slot ").append(s).append(" pointer generation ").append(cur).append(" := ").append(Le.u64s(v));
    }

    // ---------------------------------------------------------------- superblock, truncation, data

    private Mutation superblock(Random rnd) {
        Mutation m = new Mutation("super");
        boolean all = rnd.nextInt(5) < 2;
        boolean targeted = rnd.nextBoolean();
        boolean fix = targeted ? rnd.nextInt(10) != 0 : rnd.nextBoolean();
        byte[] edit = new byte[Superblock.SIZE];
        System.arraycopy(pristine, (int) Superblock.MIRROR_OFFSETS[0], edit, 0, edit.length);
        int at;
        int width;
        long v;
        if (targeted) {
            if (rnd.nextInt(4) == 0) {
                int arraySize = (int) Math.min(Le.u32(edit, 160), Superblock.SYS_CHUNK_ARRAY_MAX);
                width = new int[] {1, 2, 4, 8}[rnd.nextInt(4)];
                at = Superblock.OFF_SYS_CHUNK_ARRAY + rnd.nextInt(Math.max(1, arraySize - width));
                m.what.append("sys_chunk_array byte ").append(at - Superblock.OFF_SYS_CHUNK_ARRAY);
            } else {
                String[] f = SUPER_FIELDS[rnd.nextInt(SUPER_FIELDS.length)];
                at = Integer.parseInt(f[1]);
                width = Integer.parseInt(f[2]);
                m.what.append(f[0]);
            }
            long cur = read(edit, at, width);
            v = at == 188 && rnd.nextBoolean() ? cur ^ (1L << rnd.nextInt(64)) : extreme(rnd, cur, width, 4096);
            m.what.append(" (").append(width).append(" bytes) ").append(Le.u64s(cur)).append(" := ").append(Le.u64s(v));
        } else {
            at = -1;
            width = 0;
            v = 0;
            m.what.append("random bytes");
        }
        long[] flips = new long[targeted ? 0 : 1 + rnd.nextInt(8)];
        for (int i = 0; i < flips.length; i++) {
            flips[i] = ((long) rnd.nextInt(Superblock.SIZE) << 8) | rnd.nextInt(256);
            m.what.append(' ').append(flips[i] >>> 8);
        }
        for (int i = 0; i < Superblock.MIRROR_OFFSETS.length; i++) {
            long off = Superblock.MIRROR_OFFSETS[i];
            if (off + Superblock.SIZE > pristine.length || (i > 0 && !all)) {
                continue;
            }
            byte[] b = Arrays.copyOfRange(pristine, (int) off, (int) off + Superblock.SIZE);
            if (at >= 0) {
                put(b, at, width, v);
            }
            for (long f : flips) {
                b[(int) (f >>> 8)] = (byte) f;
            }
            if (fix) {
                fixSuperCsum(b);
            }
            writeRaw(off, b, m);
        }
        m.invisible = !all && !fix && !targeted;
        m.what.append(all ? ", every copy" : ", primary only").append(fix ? ", csum fixed" : ", csum stale");
        return m;
    }

    /** Superblock.updateCsum() with the image's own algorithm, even when csum_type was damaged. */
    private void fixSuperCsum(byte[] b) {
        Arrays.fill(b, 0, CsumType.CSUM_FIELD_SIZE, (byte) 0);
        csum.compute(b, CsumType.CSUM_FIELD_SIZE, Superblock.SIZE - CsumType.CSUM_FIELD_SIZE, b, 0);
        assert new Superblock(b).csumType() != csum || Arrays.equals(b, withUpdateCsum(b)) : "csum recomputation differs";
    }

    private static byte[] withUpdateCsum(byte[] b) {
        Superblock sb = new Superblock(b.clone());
        sb.updateCsum();
        return sb.bytes();
    }

    private Mutation truncate(Random rnd) {
        Mutation m = new Mutation("truncate");
        long len = switch (rnd.nextInt(5)) {
            case 0 -> rnd.nextInt(128 << 10);
            case 1 -> Superblock.MIRROR_OFFSETS[1] - (64 << 10) + rnd.nextInt(72 << 10);
            case 2 -> {
                TreeBlock tb = blocks.get(rnd.nextInt(blocks.size()));
                yield tb.physical()[rnd.nextInt(tb.physical().length)] + rnd.nextInt(nodesize);
            }
            case 3 -> data.isEmpty() ? rnd.nextInt(img.length) : data.get(rnd.nextInt(data.size())).physical() + 1;
            default -> (long) (rnd.nextDouble() * img.length);
        };
        m.deviceSize = Math.max(0, Math.min(len, img.length - 1));
        m.invisible = m.deviceSize >= usedEnd;
        m.what.append("device cut to ").append(m.deviceSize).append(" of ").append(img.length).append(" bytes");
        return m;
    }

    private Mutation dataExtent(Random rnd) {
        Mutation m = new Mutation("data");
        if (data.isEmpty()) {
            m.what.append("no data extents");
            return m;
        }
        DataExtent d = data.get(rnd.nextInt(data.size()));
        int n = 1 + rnd.nextInt(8);
        m.what.append("data extent ").append(d.logical()).append(" (").append(d.length()).append(" bytes, compression ")
                .append(d.compression()).append("): ").append(n).append(" random byte(s)");
        for (int i = 0; i < n; i++) {
            long at = d.physical() + rnd.nextInt(d.length());
            writeRaw(at, new byte[] {(byte) rnd.nextInt(256)}, m);
        }
        m.verifyDataCsums = rnd.nextBoolean();
        return m;
    }

    // ---------------------------------------------------------------- directed damage

    /** Edits one leaf item in place: its key bytes at {@code keyOff}, its data at [dataOff, dataOff+size). */
    @FunctionalInterface
    interface ItemEdit {
        void edit(byte[] block, int keyOff, int dataOff, int size);
    }

    /**
     * Directed damage: the first leaf item (in tree {@code tree}) whose key matches, and whose key
     * the following item does not share objectid and type with when {@code lastOfRun}, is edited
     * by {@code edit}; the block checksum is recomputed and every copy written. Returns null when
     * no item matches.
     */
    Mutation editItem(String what, long tree, java.util.function.Predicate<DiskKey> match, boolean lastOfRun,
            ItemEdit edit) {
        for (TreeBlock tb : blocks) {
            if (!tb.isLeaf() || tb.tree() != tree) {
                continue;
            }
            byte[] b = read(tb.physical()[0]);
            int n = (int) Header.nritems(b);
            for (int s = 0; s < n; s++) {
                DiskKey k = DiskKey.read(b, Header.itemOffset(s));
                if (!match.test(k)) {
                    continue;
                }
                if (lastOfRun && s + 1 < n) {
                    DiskKey next = DiskKey.read(b, Header.itemOffset(s + 1));
                    if (next.objectid() == k.objectid() && next.type() == k.type()) {
                        continue;
                    }
                }
                int io = Header.itemOffset(s);
                edit.edit(b, io, Header.SIZE + (int) Le.u32(b, io + Header.ITEM_OFF_OFFSET),
                        (int) Le.u32(b, io + Header.ITEM_OFF_SIZE));
                Header.updateCsum(b, csum);
                Mutation m = new Mutation("directed");
                m.deviceSize = img.length;
                m.what.append(what).append(": ").append(describe(tb)).append(" slot ").append(s).append(' ').append(k)
                        .append(" -> ").append(DiskKey.read(b, io));
                write(tb, b, true, m);
                return m;
            }
        }
        return null;
    }

    // ---------------------------------------------------------------- helpers

    /**
     * An extreme or nearby value for a field of {@code width} bytes currently {@code cur}:
     * 0, 1, all ones, top bit, cur +/- 1, a random value, or near {@code scale}.
     */
    static long extreme(Random rnd, long cur, int width, long scale) {
        long mask = width == 8 ? -1L : (1L << (8 * width)) - 1;
        long v = switch (rnd.nextInt(10)) {
            case 0 -> 0;
            case 1 -> 1;
            case 2 -> -1L;
            case 3 -> 1L << (8 * width - 1);
            case 4 -> cur + 1;
            case 5 -> cur - 1;
            case 6 -> rnd.nextLong();
            case 7 -> scale + rnd.nextInt(3) - 1;
            case 8 -> scale * (2 + rnd.nextInt(1000));
            default -> cur ^ (1L << rnd.nextInt(8 * width));
        };
        return v & mask;
    }

    private static long read(byte[] b, int at, int width) {
        return switch (width) {
            case 1 -> Le.u8(b, at);
            case 2 -> Le.u16(b, at);
            case 4 -> Le.u32(b, at);
            default -> Le.u64(b, at);
        };
    }

    private static void put(byte[] b, int at, int width, long v) {
        switch (width) {
            case 1 -> Le.putU8(b, at, (int) (v & 0xff));
            case 2 -> Le.putU16(b, at, (int) (v & 0xffff));
            case 4 -> Le.putU32(b, at, v & 0xffffffffL);
            default -> Le.putU64(b, at, v);
        }
    }

    private byte[] read(long physical) {
        return Arrays.copyOfRange(pristine, (int) physical, (int) physical + nodesize);
    }

    private void write(TreeBlock tb, byte[] b, boolean allCopies, Mutation m) {
        for (int i = 0; i < (allCopies ? tb.physical().length : 1); i++) {
            writeRaw(tb.physical()[i], b, m);
        }
    }

    private void writeRaw(long physical, byte[] b, Mutation m) {
        System.arraycopy(b, 0, img, (int) physical, b.length);
        m.touched.add(new long[] {physical, b.length});
    }

    private static String describe(TreeBlock tb) {
        return "tree block " + tb.logical() + " (tree " + Le.u64s(tb.tree()) + ", level " + tb.level() + ", "
                + tb.nritems() + " items)";
    }
}
