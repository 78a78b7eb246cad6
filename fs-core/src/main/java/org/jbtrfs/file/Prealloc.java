package org.jbtrfs.file;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.jbtrfs.ctree.Item;
import org.jbtrfs.extent.DelayedRefs;
import org.jbtrfs.format.BlockGroupItem;
import org.jbtrfs.format.FileExtentItem;
import org.jbtrfs.format.InodeItem;
import org.jbtrfs.format.Timespec;
import org.jbtrfs.transaction.FsTrees;

/**
 * fallocate(2)'s allocating modes: mode 0 / FALLOC_FL_KEEP_SIZE (btrfs_fallocate in file.c,
 * __btrfs_prealloc_file_range and insert_prealloc_file_extent in inode.c) and
 * FALLOC_FL_ZERO_RANGE (btrfs_zero_range), called through {@link FileWriter} under the
 * subvolume root's write lock.
 *
 * <h2>How a fallocate goes</h2>
 * <ol>
 *   <li>An inline file whose range stays in the first sector and still fits inline is rewritten
 *       inline (zero-padded to the new size). Any other inline file becomes a one-sector regular
 *       extent first, so that an inline extent stays the file's only item (the kernel would keep
 *       it next to the new prealloc extent; our write path assumes it alone).</li>
 *   <li>When the range reaches past i_size, the old last sector is zeroed past i_size
 *       (btrfs_truncate_block / btrfs_cont_expand; the kernel does it with KEEP_SIZE too).</li>
 *   <li>Mode 0 / KEEP_SIZE: every hole of the sector-aligned range — and any regular extent lying
 *       at or past the old i_size, which the kernel replaces as well — gets PREALLOC extents;
 *       regular and prealloc extents stay. ZERO_RANGE: the whole sectors of the range lose their
 *       extents and get one new prealloc run, partial sectors under a written extent are
 *       rewritten with zeros (btrfs_zero_range's boundary rules, see {@link #zeroRange}).</li>
 *   <li>Each prealloc extent is at most {@link #MAX_PREALLOC_EXTENT_BYTES}; when the allocator
 *       finds no free run that long the size halves down to one sector (btrfs_reserve_extent's
 *       retry), and later extents ask for no more than the last one got.</li>
 *   <li>The INODE_ITEM: size = max(size, pos + len) unless KEEP_SIZE, nbytes + the prealloc bytes
 *       (the kernel counts them: inode_add_bytes in insert_reserved_file_extent), the PREALLOC
 *       flag once a prealloc extent was made, mtime = ctime = now (file_modified).</li>
 * </ol>
 *
 * <h2>The prealloc item</h2>
 * type 2 (BTRFS_FILE_EXTENT_PREALLOC), generation = transid, disk_bytenr/disk_num_bytes = the new
 * extent, offset 0, num_bytes = ram_bytes = disk_num_bytes, no compression; an ADD of its
 * EXTENT_DATA_REF (root, ino, file offset), newly allocated. No checksums: btrfs has none for a
 * prealloc range until it is written (btrfs check accepts that). A write over it is copy on write
 * here ({@link FileExtents#drop} trims or splits the prealloc item like a regular one, same offsets
 * and refs) where the kernel writes in place (btrfs_mark_extent_written); both leave valid layouts.
 */
final class Prealloc {
    /**
     * The largest prealloc extent we make. The kernel's __btrfs_prealloc_file_range asks for up to
     * SZ_256M (a kernel image shows 268435456-byte prealloc extents); we stop at 128 MiB,
     * BTRFS_MAX_EXTENT_SIZE, the same bound as written extents.
     */
    static final long MAX_PREALLOC_EXTENT_BYTES = FileWriter.MAX_EXTENT_BYTES;

    private final FileWriter w;
    private final FsTrees trees;
    private final FileExtents extents;
    private final int sectorsize;

    Prealloc(FileWriter w, FsTrees trees, FileExtents extents, int sectorsize) {
        this.w = w;
        this.trees = trees;
        this.extents = extents;
        this.sectorsize = sectorsize;
    }

    /** The running change of the inode: nbytes and whether a prealloc extent was made. */
    private static final class Tally {
        long nbytes;
        boolean made;

        Tally(long nbytes) {
            this.nbytes = nbytes;
        }
    }

    /** fallocate mode 0 or KEEP_SIZE over [pos, pos+len). */
    void allocate(FileWriter.Op op, long pos, long len, boolean keepSize, Timespec now) throws IOException {
        long end = pos + len;
        long oldSize = op.inode().size();
        long newSize = keepSize ? oldSize : Math.max(oldSize, end);
        Tally t = new Tally(op.inode().nbytes());
        if (!prepare(op, pos, end, newSize, t, null)) {
            long aStart = w.alignDown(pos);
            long aEnd = w.alignUp(end);
            for (long[] gap : gaps(op, aStart, aEnd, oldSize)) {
                fill(op, gap[0], gap[1], t);
            }
        }
        finish(op, newSize, t, now);
    }

    /**
     * FALLOC_FL_ZERO_RANGE over [pos, pos+len), as btrfs_zero_range: a range already inside one
     * prealloc extent only changes the size; otherwise it starts after a prealloc extent covering
     * its first sector; a range inside one sector is left alone when that sector is prealloc,
     * has its bytes zeroed when it is written and the range is less than the sector, else becomes
     * prealloc; a longer range zeroes the written part of a partial first or last sector, takes a
     * partial sector that is a hole into the prealloc run, and leaves a prealloc one alone; the
     * whole sectors between lose every extent and get new prealloc extents.
     */
    void zeroRange(FileWriter.Op op, long pos, long len, boolean keepSize, Timespec now) throws IOException {
        long end = pos + len;
        long oldSize = op.inode().size();
        long newSize = keepSize ? oldSize : Math.max(oldSize, end);
        Tally t = new Tally(op.inode().nbytes());
        if (!prepare(op, pos, end, newSize, t, new long[] {pos, end})) {
            long[] run = zeroRun(op, pos, end, t);
            if (run != null) {
                op.h().markChanged(); // the drop below changes the tree: a failure after it must abort
                t.nbytes -= extents.drop(op.transid(), op.root(), op.ino(), run[0], run[1], w.refs(op));
                fill(op, run[0], run[1], t);
            }
        }
        finish(op, newSize, t, now);
    }

    /**
     * Steps 1 and 2 of the class comment. Returns true when the file stays inline (all done but
     * the inode item); {@code zero} is the range a zero-range clears in the inline bytes.
     */
    private boolean prepare(FileWriter.Op op, long pos, long end, long newSize, Tally t, long[] zero)
            throws IOException {
        long oldSize = op.inode().size();
        if (w.inlineItem(op) != null) {
            if (w.alignUp(end) <= sectorsize && w.fitsInline(newSize)) {
                byte[] content = w.readCurrent(op, 0, (int) newSize);
                if (zero != null) {
                    java.util.Arrays.fill(content, (int) Math.min(zero[0], newSize), (int) Math.min(zero[1], newSize),
                            (byte) 0);
                }
                if (newSize != oldSize || zero != null) {
                    t.nbytes += w.writeInline(op, content);
                }
                return true;
            }
            t.nbytes += w.convertInline(op);
        } else if (end > oldSize) {
            t.nbytes += w.zeroPartialSector(op, oldSize, w.alignUp(oldSize));
        }
        return false;
    }

    /**
     * The sector-aligned run a zero-range makes prealloc (null for none), after zeroing the
     * written parts of its partial end sectors.
     */
    private long[] zeroRun(FileWriter.Op op, long pos, long end, Tally t) throws IOException {
        Item first = at(op, w.alignDown(pos));
        if (first != null && isPrealloc(first)) {
            long fe = FileExtents.extentEnd(first.key().offset(), FileExtents.decode(first));
            if (fe >= end) {
                return null; // already prealloc throughout
            }
            pos = fe; // sector-aligned: extents are
        }
        if (w.alignDown(pos) == w.alignDown(end - 1)) {
            long s = w.alignDown(pos);
            Item it = at(op, s);
            if (it != null && isPrealloc(it)) {
                return null;
            }
            if (end - pos < sectorsize && it != null && !FileExtents.decode(it).isHole()) {
                t.nbytes += w.zeroPartialSector(op, pos, end);
                return null;
            }
            return new long[] {s, s + sectorsize};
        }
        long runStart = w.alignUp(pos);
        long runEnd = w.alignDown(end);
        if (runStart != pos) {
            switch (boundary(op, pos)) {
                case HOLE -> runStart = w.alignDown(pos);
                case WRITTEN -> t.nbytes += w.zeroPartialSector(op, pos, runStart);
                case PREALLOC -> { }
            }
        }
        if (runEnd != end) {
            switch (boundary(op, end)) {
                case HOLE -> runEnd = w.alignUp(end);
                case WRITTEN -> t.nbytes += w.zeroPartialSector(op, runEnd, end);
                case PREALLOC -> { }
            }
        }
        return runStart < runEnd ? new long[] {runStart, runEnd} : null;
    }

    /** btrfs_zero_range_check_range_boundary's answers for the sector holding an offset. */
    private enum Boundary { HOLE, PREALLOC, WRITTEN }

    private Boundary boundary(FileWriter.Op op, long offset) throws IOException {
        Item it = at(op, w.alignDown(offset));
        if (it == null || FileExtents.decode(it).isHole()) {
            return Boundary.HOLE;
        }
        return isPrealloc(it) ? Boundary.PREALLOC : Boundary.WRITTEN;
    }

    /** The extent item covering the sector at {@code s}, or null (a hole). */
    private Item at(FileWriter.Op op, long s) throws IOException {
        assert s % sectorsize == 0 : "unaligned sector " + s;
        return extents.firstOverlap(op.root(), op.ino(), s, s + sectorsize);
    }

    private static boolean isPrealloc(Item it) throws IOException {
        return FileExtents.decode(it).type() == FileExtentItem.TYPE_PREALLOC;
    }

    /**
     * The ranges of [aStart, aEnd) that get prealloc extents, in order and merged: holes (none, or
     * a hole item), and regular extents from the old i_size on (btrfs_fallocate allocates where
     * {@code cur_offset >= i_size} and the extent is not prealloc).
     */
    private List<long[]> gaps(FileWriter.Op op, long aStart, long aEnd, long oldSize) throws IOException {
        List<long[]> out = new ArrayList<>();
        long cur = aStart;
        while (cur < aEnd) {
            Item it = extents.firstOverlap(op.root(), op.ino(), cur, aEnd);
            long gapEnd = it == null ? aEnd : Math.max(cur, it.key().offset());
            if (gapEnd > cur) {
                addGap(out, cur, gapEnd);
                cur = gapEnd;
                continue;
            }
            FileExtentItem fe = FileExtents.decode(it);
            assert !fe.isInline() : "inline extent of inode " + op.ino() + " left in a fallocate range";
            long ke = Math.min(aEnd, FileExtents.extentEnd(it.key().offset(), fe));
            assert ke > cur : "extent " + it.key() + " ends at " + ke + " before " + cur;
            if (fe.isHole() || (fe.type() == FileExtentItem.TYPE_REG && cur >= oldSize)) {
                addGap(out, cur, ke);
            }
            cur = ke;
        }
        return out;
    }

    private static void addGap(List<long[]> out, long s, long e) {
        long[] last = out.isEmpty() ? null : out.get(out.size() - 1);
        if (last != null && last[1] == s) {
            last[1] = e;
        } else {
            out.add(new long[] {s, e});
        }
    }

    /**
     * Replaces [s, e) (sector-aligned) with new prealloc extents (__btrfs_prealloc_file_range):
     * what is there is dropped first (hole items, regular extents past EOF; nothing otherwise).
     */
    private void fill(FileWriter.Op op, long s, long e, Tally t) throws IOException {
        assert s % sectorsize == 0 && e % sectorsize == 0 && s < e : "prealloc of " + s + ".." + e;
        DelayedRefs refs = w.refs(op);
        long maxBytes = MAX_PREALLOC_EXTENT_BYTES;
        long hint = 0;
        for (long cur = s; cur < e; ) {
            // A fragmented allocator may give less (halving down to a sector): ask for no more next time.
            long[] got = trees.reserveDataExtent(op.transid(), Math.min(e - cur, maxBytes), sectorsize, hint);
            long bytenr = got[0];
            long want = got[1];
            maxBytes = want;
            // Reserved: from here on the trees change, and a failure must abort the transaction.
            op.h().markChanged();
            long dropped = extents.drop(op.transid(), op.root(), op.ino(), cur, cur + want, refs);
            FileExtentItem fe = FileExtentItem.regular(op.transid(), FileExtentItem.TYPE_PREALLOC, want, 0, bytenr,
                    want, 0, want);
            extents.insert(op.transid(), op.root(), op.ino(), cur, fe);
            // Backref key offset: file offset minus extent offset (0).
            refs.addDataRef(bytenr, want, op.root().id(), op.ino(), cur, 0, DelayedRefs.Action.ADD, 1, true,
                    op.transid());
            t.nbytes += want - dropped;
            t.made = true;
            hint = bytenr + want;
            cur += want;
        }
    }

    private void finish(FileWriter.Op op, long newSize, Tally t, Timespec now) throws IOException {
        long flags = op.inode().flags() | (t.made ? InodeItem.FLAG_PREALLOC : 0);
        w.updateInode(op, newSize, t.nbytes, flags, now);
    }
}
