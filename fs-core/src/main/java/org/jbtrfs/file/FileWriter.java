package org.jbtrfs.file;

import java.io.IOException;
import org.jbtrfs.Attr;
import org.jbtrfs.Errno;
import org.jbtrfs.FsException;
import org.jbtrfs.InodeId;
import org.jbtrfs.ctree.CowRoot;
import org.jbtrfs.ctree.Item;
import org.jbtrfs.ctree.Path;
import org.jbtrfs.disk.FsInfo;
import org.jbtrfs.extent.CsumItems;
import org.jbtrfs.extent.DelayedRefs;
import org.jbtrfs.format.BlockGroupItem;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.FileExtentItem;
import org.jbtrfs.format.InodeItem;
import org.jbtrfs.format.ItemType;
import org.jbtrfs.format.Le;
import org.jbtrfs.format.ObjectIds;
import org.jbtrfs.format.Timespec;
import org.jbtrfs.inode.FileDataReader;
import org.jbtrfs.transaction.FsTrees;
import org.jbtrfs.transaction.TransHandle;

/**
 * The write path of regular files: pwrite, truncate, punch hole, and dropping a deleted inode's
 * extents (the kernel's buffered write plus writeback in inode.c — cow_file_range,
 * cow_file_range_inline, insert_reserved_file_extent —, btrfs_setsize / btrfs_truncate_inode_items,
 * btrfs_punch_hole, and evict's truncate), done synchronously inside the caller's transaction.
 *
 * <h2>How a write goes</h2>
 * <ol>
 *   <li>Take the subvolume root's write lock (the caller holds the inode's own lock) and read the
 *       INODE_ITEM of the current tree.</li>
 *   <li>If the file after the write fits inline ({@link #fitsInline}: the kernel's
 *       cow_file_range_inline rule), its whole content is read, patched and stored as one inline
 *       EXTENT_DATA item at offset 0, replacing what was in the first sector.</li>
 *   <li>Else the written range is widened to whole sectors; the old bytes of a partly written first
 *       or last sector are read through the read path ({@link FileDataReader} on the current
 *       uncommitted trees, checksums verified when the filesystem verifies them). An inline file
 *       that outgrows the inline limit becomes a regular extent: either the widened range starts
 *       at 0 and carries the old bytes, or the first sector is rewritten as a regular extent
 *       first. Then, per extent of at most {@link #MAX_EXTENT_BYTES} (copy on write, never in
 *       place): reserve a new DATA extent, write the bytes to its mapped address, insert one
 *       checksum per sector into the csum tree ({@link CsumItems#insert}), drop the old extents of
 *       the range ({@link FileExtents#drop}), insert the new regular EXTENT_DATA item and queue the
 *       ADD of its EXTENT_DATA_REF (newly allocated: the extent item is created when refs run).</li>
 *   <li>Update the INODE_ITEM: size when extended, nbytes by what was added minus what was
 *       dropped, transid, sequence, mtime = ctime = now.</li>
 * </ol>
 * A data extent whose last reference is dropped loses its checksums when the refs run at commit
 * ({@code FsTrees} wires the runner's {@link org.jbtrfs.extent.DataExtentFreedListener} to
 * {@link CsumItems#delete}).
 *
 * <h2>Invariants</h2>
 * <ol>
 *   <li>Growing i_size never exposes stale bytes. On disk, the last sector may hold old bytes
 *       past i_size (the kernel's shrinking truncate leaves them, seen on kernel images, and so
 *       do we), so before a file grows past its last partial sector — a truncate up, or a write
 *       starting in a later sector — that sector is rewritten with zeros past the old i_size
 *       (btrfs_cont_expand → btrfs_truncate_block). Writes read old data only up to i_size, so
 *       a sector they rewrite is clean already. Otherwise a grow sets the size only
 *       (NO_HOLES).</li>
 *   <li>An inline extent is the file's only item in [0, sectorsize), holds the whole file
 *       (ram_bytes == i_size, uncompressed) and counts ram_bytes in nbytes; a file outgrowing it
 *       converts to regular, as the kernel does.</li>
 *   <li>nbytes == num_bytes summed over non-hole regular and prealloc extents, plus inline
 *       ram_bytes (btrfs check's rule; asserted non-negative here, checked by the checkers).</li>
 *   <li>Every sector of a new data extent has exactly one checksum, unless the inode is
 *       NODATASUM.</li>
 * </ol>
 *
 * <h2>Locks</h2>
 * Per operation: the subvolume root's write lock, then the csum root's lock (read to verify old
 * data, write to insert checksums), never the other way round, and never while running delayed
 * refs (which take the extent root lock and then the csum root lock).
 */
public final class FileWriter implements org.jbtrfs.inode.FileData {
    /** BTRFS_MAX_EXTENT_SIZE: the largest uncompressed data extent the kernel writes. */
    public static final long MAX_EXTENT_BYTES = 128L << 20;
    /** BTRFS_DEFAULT_MAX_INLINE: the max_inline mount option's default. */
    public static final int DEFAULT_MAX_INLINE = 2048;
    /**
     * The largest file end we accept: the kernel's s_maxbytes (MAX_LFS_FILESIZE, Long.MAX_VALUE on
     * 64-bit) less a 64 KiB margin so that rounding an end up to a sector never overflows.
     */
    public static final long MAX_FILE_BYTES = Long.MAX_VALUE - (64L << 10);

    private final FsTrees trees;
    private final FsInfo fs;
    private final int sectorsize;
    private final int maxInline;
    private final FileDataReader reader;
    private final FileExtents extents;
    private final Prealloc prealloc;

    public FileWriter(FsTrees trees) {
        this(trees, DEFAULT_MAX_INLINE);
    }

    /** With another max_inline (the mount option; 0 disables inline extents). */
    public FileWriter(FsTrees trees, int maxInline) {
        this.trees = trees;
        this.fs = trees.fsInfo();
        this.sectorsize = fs.sectorsize();
        // BTRFS_MAX_INLINE_DATA_SIZE: one item filling a leaf, less the extent item header.
        int maxInlineData = trees.cow().maxItemSize() - FileExtentItem.INLINE_DATA_START;
        this.maxInline = Math.min(maxInline, maxInlineData);
        this.reader = new FileDataReader(fs, trees.reads());
        this.extents = new FileExtents(trees.cow());
        this.prealloc = new Prealloc(this, trees, extents, sectorsize);
    }

    /** What one operation works on: the handle, the locked tree, the inode and its item. */
    record Op(TransHandle h, CowRoot root, long ino, InodeItem inode) {
        long transid() {
            return h.transid();
        }
    }

    /**
     * pwrite: writes {@code len} bytes at {@code pos} into regular file {@code ino} of subvolume
     * tree {@code root}, within the running transaction of {@code h}. Updates the INODE_ITEM: size
     * (if extended), nbytes, transid, sequence, mtime = ctime = now. The caller holds the inode's
     * own lock (serializing operations on one inode) but no tree lock.
     */
    public void write(TransHandle h, long root, long ino, long pos, byte[] buf, int off, int len, Timespec now)
            throws IOException {
        java.util.Objects.checkFromIndexSize(off, len, buf.length);
        if (pos < 0 || pos + len < 0) {
            throw new FsException(pos < 0 ? Errno.EINVAL : Errno.EFBIG, "write of " + len + " bytes at " + pos);
        }
        if (len == 0) {
            return;
        }
        CowRoot r = trees.root(root);
        r.lock.writeLock().lock();
        try {
            Op op = open(h, r, ino);
            long oldSize = op.inode.size();
            long newSize = Math.max(oldSize, pos + len);
            long nbytes = op.inode.nbytes();
            if (fitsInline(newSize)) {
                byte[] content = readCurrent(op, 0, (int) newSize);
                System.arraycopy(buf, off, content, (int) pos, len);
                nbytes += writeInline(op, content);
            } else {
                long converted = pos >= sectorsize ? convertInline(op, newSize) : 0;
                nbytes += converted;
                if (converted == 0 && alignDown(pos) > alignDown(oldSize)) {
                    nbytes += zeroPartialSector(op, oldSize, alignUp(oldSize)); // btrfs_cont_expand
                }
                nbytes += writeRegular(op, pos, buf, off, len);
            }
            updateInode(op, newSize, nbytes, now);
        } finally {
            r.lock.writeLock().unlock();
        }
    }

    /**
     * truncate(2): shrinking drops or trims the extents beyond {@code newSize}
     * (btrfs_truncate_inode_items: an extent across it keeps its sector-aligned part; an inline
     * extent is cut to the new size); growing zeroes the rest of the old last sector and sets the
     * size (NO_HOLES), except that an inline file that no longer fits inline becomes a regular
     * extent. mtime = ctime = now either way.
     */
    public void truncate(TransHandle h, long root, long ino, long newSize, Timespec now) throws IOException {
        if (newSize < 0) {
            throw new FsException(Errno.EINVAL, "truncate to " + newSize);
        }
        CowRoot r = trees.root(root);
        r.lock.writeLock().lock();
        try {
            Op op = open(h, r, ino);
            long oldSize = op.inode.size();
            long nbytes = op.inode.nbytes();
            Item inline = inlineItem(op);
            if (inline != null && newSize > 0 && newSize != oldSize) {
                // An inline file is rewritten whole: cut or zero-padded when it still fits, else the
                // first sector becomes regular (a shrink always fits: it was inline before).
                if (fitsInline(newSize)) {
                    nbytes += writeInline(op, readCurrent(op, 0, (int) newSize));
                } else {
                    nbytes += convertInline(op, newSize);
                }
            }
            if (newSize < oldSize) {
                // The bytes of the new last sector past newSize stay on disk, as the kernel leaves
                // them; a later grow zeroes them.
                op.h.markChanged();
                nbytes -= extents.drop(op.transid(), r, ino, alignUp(newSize), Long.MAX_VALUE, refs(op));
            } else if (newSize > oldSize && inline == null) {
                nbytes += zeroPartialSector(op, oldSize, alignUp(oldSize)); // btrfs_cont_expand
            }
            updateInode(op, newSize, nbytes, now);
        } finally {
            r.lock.writeLock().unlock();
        }
    }

    /**
     * fallocate(PUNCH_HOLE | KEEP_SIZE): the range reads as zeros afterwards. Whole sectors lose
     * their extents (no hole items: NO_HOLES), partial sectors at either end are rewritten with
     * zeros; a range reaching i_size takes the last sector whole. Nothing happens at or past
     * i_size (as btrfs_punch_hole), except that whole sectors past the last one lose their
     * extents (the prealloc of a KEEP_SIZE fallocate), as btrfs_punch_hole drops them too. An
     * inline file is rewritten inline with the zeros.
     */
    public void punchHole(TransHandle h, long root, long ino, long start, long len, Timespec now) throws IOException {
        if (start < 0 || len <= 0 || start + len < 0) {
            throw new FsException(Errno.EINVAL, "punch hole " + start + "+" + len);
        }
        CowRoot r = trees.root(root);
        r.lock.writeLock().lock();
        try {
            Op op = open(h, r, ino);
            long size = op.inode.size();
            long nbytes = op.inode.nbytes();
            long beyondStart = Math.max(alignUp(size), alignUp(start));
            long beyondEnd = alignDown(start + len);
            if (beyondStart < beyondEnd) {
                nbytes -= extents.drop(op.transid(), r, ino, beyondStart, beyondEnd, refs(op));
            }
            if (start >= size) {
                if (nbytes != op.inode.nbytes()) {
                    updateInode(op, size, nbytes, now);
                }
                return;
            }
            long end = Math.min(start + len, size);
            if (inlineItem(op) != null) {
                byte[] content = readCurrent(op, 0, (int) size);
                java.util.Arrays.fill(content, (int) start, (int) end, (byte) 0);
                nbytes += writeInline(op, content);
            } else {
                if (end == size) {
                    end = alignUp(size); // past i_size the sector is zeros already
                }
                long aStart = alignUp(start);
                if (aStart >= end) {
                    nbytes += zeroPartialSector(op, start, end); // inside one sector
                } else {
                    long aEnd = alignDown(end);
                    nbytes += zeroPartialSector(op, start, aStart);
                    nbytes += zeroPartialSector(op, aEnd, end);
                    if (aStart < aEnd) {
                        op.h.markChanged();
                        nbytes -= extents.drop(op.transid(), r, ino, aStart, aEnd, refs(op));
                    }
                }
            }
            updateInode(op, size, nbytes, now);
        } finally {
            r.lock.writeLock().unlock();
        }
    }

    /**
     * fallocate(2) mode 0 ({@code keepSize} false) or FALLOC_FL_KEEP_SIZE: every hole of the
     * sector-aligned range [pos, pos+len) gets PREALLOC extents (no data written, no checksums),
     * existing extents stay; the size grows to pos+len unless {@code keepSize}; nbytes counts the
     * new extents and the inode gets the PREALLOC flag when one was made (see {@link Prealloc}).
     * The caller reserved the aligned length as data space.
     */
    @Override
    public void fallocate(TransHandle h, long root, long ino, long pos, long len, boolean keepSize, Timespec now)
            throws IOException {
        checkRange("fallocate", pos, len);
        CowRoot r = trees.root(root);
        r.lock.writeLock().lock();
        try {
            prealloc.allocate(open(h, r, ino), pos, len, keepSize, now);
        } finally {
            r.lock.writeLock().unlock();
        }
    }

    /**
     * fallocate(FALLOC_FL_ZERO_RANGE [| KEEP_SIZE]): [pos, pos+len) reads as zeros afterwards; its
     * whole sectors become PREALLOC extents, partial sectors under written data are rewritten with
     * zeros (btrfs_zero_range; see {@link Prealloc#zeroRange}); the size grows unless
     * {@code keepSize}.
     */
    @Override
    public void zeroRange(TransHandle h, long root, long ino, long pos, long len, boolean keepSize, Timespec now)
            throws IOException {
        checkRange("zero range", pos, len);
        CowRoot r = trees.root(root);
        r.lock.writeLock().lock();
        try {
            prealloc.zeroRange(open(h, r, ino), pos, len, keepSize, now);
        } finally {
            r.lock.writeLock().unlock();
        }
    }

    /** vfs_fallocate's range checks: EINVAL for a negative offset or an empty range, EFBIG past the largest offset. */
    private void checkRange(String what, long pos, long len) throws FsException {
        if (pos < 0 || len <= 0) {
            throw new FsException(Errno.EINVAL, what + " " + pos + "+" + len);
        }
        if (pos + len < 0 || pos + len > MAX_FILE_BYTES) {
            throw new FsException(Errno.EFBIG, what + " " + pos + "+" + len + " past the largest file size");
        }
    }

    /**
     * Drops every extent of an inode that is being deleted (its last link is gone), before its
     * items are removed: each extent item goes with a DROP of its ref, and the INODE_ITEM's nbytes
     * becomes 0 (size and times stay; the caller removes the item next).
     */
    public void dropAllExtents(TransHandle h, long root, long ino) throws IOException {
        CowRoot r = trees.root(root);
        r.lock.writeLock().lock();
        try {
            Op op = open(h, r, ino);
            h.markChanged();
            long dropped = extents.drop(op.transid(), r, ino, 0, Long.MAX_VALUE, refs(op));
            assert dropped == op.inode.nbytes() : "inode " + ino + " had nbytes " + op.inode.nbytes()
                    + " but its extents counted " + dropped;
            InodeItem i = op.inode;
            writeInodeItem(op, new InodeItem(i.generation(), op.transid(), i.size(), 0, i.blockGroup(), i.nlink(),
                    i.uid(), i.gid(), i.mode(), i.rdev(), i.flags(), i.sequence(), i.atime(), i.ctime(), i.mtime(),
                    i.otime()));
        } finally {
            r.lock.writeLock().unlock();
        }
    }

    // ---- inline extents ---------------------------------------------------------------------

    /**
     * Whether a file of {@code size} bytes written from offset 0 is stored inline: the kernel's
     * cow_file_range_inline / can_cow_file_range_inline refuse when the range does not start at
     * 0, reaches past one sector, is a whole sector (uncompressed), exceeds
     * BTRFS_MAX_INLINE_DATA_SIZE or max_inline. Our writes always rewrite from offset 0 (the
     * first sector covers the whole file), so only the size matters.
     */
    boolean fitsInline(long size) {
        return size > 0 && size < sectorsize && size <= maxInline;
    }

    /** The inline extent item of the inode, or null when it has none. */
    Item inlineItem(Op op) throws IOException {
        Item it = extents.firstOverlap(op.root, op.ino, 0, 1);
        return it != null && FileExtents.decode(it).isInline() ? it : null;
    }

    /**
     * Replaces the first sector with one inline extent holding {@code content}, the file's whole
     * data (insert_inline_extent after btrfs_drop_extents). Returns the change of nbytes.
     */
    long writeInline(Op op, byte[] content) throws IOException {
        assert fitsInline(content.length) : "inline write of " + content.length + " bytes";
        op.h.markChanged();
        long dropped = extents.drop(op.transid(), op.root, op.ino, 0, sectorsize, refs(op));
        FileExtentItem fe = FileExtentItem.inline(op.transid(), content.length, 0, content);
        extents.insert(op.transid(), op.root, op.ino, 0, fe);
        // nbytes counts the uncompressed inline size (btrfs_update_inode_bytes(inode, size, ...)).
        return content.length - dropped;
    }

    /**
     * An inline file that no longer fits: its first sector becomes a regular extent holding the old
     * bytes and zeros (the kernel's btrfs_cont_expand zeroes the tail of that page, and writeback
     * then finds i_size beyond the page). Returns the change of nbytes; 0 when there is no inline.
     */
    private long convertInline(Op op, long newSize) throws IOException {
        assert !fitsInline(newSize) : "converting an inline extent that still fits";
        return convertInline(op);
    }

    /**
     * Rewrites an inline extent as a regular one-sector extent (old bytes, then zeros), whatever
     * the size: fallocate needs it before putting extents after the first sector. Returns the
     * change of nbytes; 0 when there is no inline extent.
     */
    long convertInline(Op op) throws IOException {
        Item it = inlineItem(op);
        if (it == null) {
            return 0;
        }
        byte[] sector = readCurrent(op, 0, sectorsize);
        return writeRegular(op, 0, sector, 0, sectorsize);
    }

    // ---- regular extents --------------------------------------------------------------------

    /**
     * Writes {@code buf[off, off+len)} at file offset {@code pos} as new regular extents of whole
     * sectors, the partial sectors at either end completed with the current bytes. Returns the
     * change of nbytes.
     */
    private long writeRegular(Op op, long pos, byte[] buf, int off, int len) throws IOException {
        long aStart = alignDown(pos);
        long aEnd = alignUp(pos + len);
        long delta = 0;
        long cs = aStart;
        while (cs < aEnd) {
            long want = Math.min(aEnd - cs, MAX_EXTENT_BYTES);
            // A full or fragmented filesystem may have no contiguous room for all of it: then the
            // extent is as large as a free run allows (btrfs_reserve_extent halving to min_alloc_size).
            long[] got = trees.reserveDataExtent(op.transid(), want, sectorsize, 0);
            delta += writeExtent(op, cs, cs + got[1], got[0], pos, buf, off, len);
            cs += got[1];
        }
        return delta;
    }

    /**
     * One new extent for file range [cs, ce) (sector-aligned), taking the write's bytes where it
     * covers the range and the current bytes elsewhere (only in the first and last sector).
     */
    private long writeExtent(Op op, long cs, long ce, long bytenr, long pos, byte[] buf, int off, int len)
            throws IOException {
        int n = (int) (ce - cs);
        long wEnd = pos + len;
        byte[] head;
        byte[] tail = null;
        try {
            head = cs < pos ? patchedSector(op, cs, pos, buf, off, len) : null;
            if (ce > wEnd) {
                tail = head != null && ce - sectorsize == cs ? head : patchedSector(op, ce - sectorsize, pos, buf, off, len);
            }
        } catch (IOException | RuntimeException e) {
            trees.unreserveExtent(bytenr, n);
            throw e;
        }
        // The extent is reserved: from here on the trees change, and a failure must abort.
        op.h.markChanged();
        boolean nodatasum = (op.inode.flags() & InodeItem.FLAG_NODATASUM) != 0;
        CsumItems csums = trees.csums();
        int csize = csums.type().size();
        byte[] sums = new byte[n / sectorsize * csize];
        try {
            long mid0 = head != null ? cs + sectorsize : cs;
            long mid1 = tail != null ? ce - sectorsize : ce;
            if (head != null) {
                writeData(bytenr, head, 0, sectorsize, sums, 0, csums);
            }
            if (mid1 > mid0) {
                int from = off + (int) (mid0 - pos);
                writeData(bytenr + (mid0 - cs), buf, from, (int) (mid1 - mid0), sums, (int) ((mid0 - cs) / sectorsize) * csize,
                        csums);
            }
            if (tail != null && tail != head) {
                writeData(bytenr + (n - sectorsize), tail, 0, sectorsize, sums, (n / sectorsize - 1) * csize, csums);
            }
        } catch (IOException | RuntimeException e) {
            trees.unreserveExtent(bytenr, n); // nothing refers to it yet
            throw e;
        }
        if (!nodatasum) {
            CowRoot csumRoot = trees.root(ObjectIds.CSUM_TREE);
            csumRoot.lock.writeLock().lock();
            try {
                csums.insert(op.transid(), csumRoot, bytenr, sums);
            } finally {
                csumRoot.lock.writeLock().unlock();
            }
        }
        long dropped = extents.drop(op.transid(), op.root, op.ino, cs, ce, refs(op));
        FileExtentItem fe = FileExtentItem.regular(op.transid(), FileExtentItem.TYPE_REG, n, 0, bytenr, n, 0, n);
        extents.insert(op.transid(), op.root, op.ino, cs, fe);
        // The backref key offset is file offset minus extent offset: cs - 0.
        refs(op).addDataRef(bytenr, n, op.root.id(), op.ino, cs, 0, DelayedRefs.Action.ADD, 1, true, op.transid());
        return n - dropped;
    }

    /** The sector at {@code s} as it reads now, with the part of the write that falls in it copied over. */
    private byte[] patchedSector(Op op, long s, long pos, byte[] buf, int off, int len) throws IOException {
        byte[] sector = readCurrent(op, s, sectorsize);
        long from = Math.max(s, pos);
        long to = Math.min(s + sectorsize, pos + len);
        if (from < to) {
            System.arraycopy(buf, off + (int) (from - pos), sector, (int) (from - s), (int) (to - from));
        }
        return sector;
    }

    /** Writes sector-aligned data at logical {@code bytenr} on every mirror and fills in its checksums. */
    private void writeData(long bytenr, byte[] data, int off, int len, byte[] sums, int sumsOff, CsumItems csums)
            throws IOException {
        assert len % sectorsize == 0 && len > 0 : "unaligned data write of " + len;
        for (long phys : fs.chunkMap().map(bytenr, len)) {
            fs.device().write(phys, data, off, len);
        }
        byte[] s = csums.compute(data, off, len);
        System.arraycopy(s, 0, sums, sumsOff, s.length);
    }

    /**
     * Rewrites the sector holding [from, to) (both in one sector) with zeros there, when any extent
     * covers that sector (without one, or under a PREALLOC extent, it reads as zeros already): the
     * partial sectors of a punched hole, and btrfs_truncate_block(old i_size) before a file grows.
     * Returns the change of nbytes.
     */
    long zeroPartialSector(Op op, long from, long to) throws IOException {
        if (from >= to) {
            return 0;
        }
        long s = alignDown(from);
        assert to <= s + sectorsize : "zeroing " + from + ".." + to + " crosses a sector";
        Item it = extents.firstOverlap(op.root, op.ino, s, s + sectorsize);
        if (it == null || FileExtents.decode(it).type() == FileExtentItem.TYPE_PREALLOC) {
            return 0; // a prealloc sector stays unwritten: it reads zeros and the kernel's nocow would keep its extent
        }
        return writeRegular(op, from, new byte[(int) (to - from)], 0, (int) (to - from));
    }

    // ---- reading the current state ----------------------------------------------------------

    /**
     * Reads [pos, pos+len) of the file as the running transaction sees it, zeros past i_size: the
     * current roots of the subvolume tree (write-locked by the caller) and of the csum tree (read
     * lock taken here, after the subvolume's: the lock order).
     */
    byte[] readCurrent(Op op, long pos, int len) throws IOException {
        byte[] out = new byte[len];
        // The reader resolves both trees through FsTrees: their current roots, each search under
        // the tree's read lock (reentrant for the subvolume tree this thread holds for writing).
        reader.read(op.root.id(), new InodeId(op.root.id(), op.ino), op.inode, pos, out, 0, len);
        return out;
    }

    // ---- the inode item ---------------------------------------------------------------------

    Op open(TransHandle h, CowRoot root, long ino) throws IOException {
        Item it = trees.cow().reader().lookup(root.current(), inodeKey(ino));
        if (it == null) {
            throw new FsException(Errno.ENOENT, "no inode " + Le.u64s(ino) + " in tree " + root.id());
        }
        InodeItem inode = InodeItem.decode(it.data(), 0, it.size());
        if ((inode.mode() & Attr.S_IFMT) != Attr.S_IFREG) {
            throw new FsException((inode.mode() & Attr.S_IFMT) == Attr.S_IFDIR ? Errno.EISDIR : Errno.EINVAL,
                    "inode " + Le.u64s(ino) + " of tree " + root.id() + " is not a regular file");
        }
        return new Op(h, root, ino, inode);
    }

    private static DiskKey inodeKey(long ino) {
        return new DiskKey(ino, ItemType.INODE_ITEM, 0);
    }

    DelayedRefs refs(Op op) {
        return trees.refs(op.transid());
    }

    /** Writes size, nbytes, transid, sequence + 1 and mtime = ctime = now (fill_inode_item). */
    private void updateInode(Op op, long size, long nbytes, Timespec now) throws IOException {
        updateInode(op, size, nbytes, op.inode.flags(), now);
    }

    /** As {@link #updateInode(Op, long, long, Timespec)}, with new inode flags (fallocate adds PREALLOC). */
    void updateInode(Op op, long size, long nbytes, long flags, Timespec now) throws IOException {
        assert nbytes >= 0 : "inode " + op.ino + " nbytes went negative: " + nbytes;
        assert (flags & op.inode.flags()) == op.inode.flags() : "inode flags only grow here";
        InodeItem i = op.inode;
        writeInodeItem(op, new InodeItem(i.generation(), op.transid(), size, nbytes, i.blockGroup(), i.nlink(), i.uid(),
                i.gid(), i.mode(), i.rdev(), flags, i.sequence() + 1, i.atime(), now, now, i.otime()));
    }

    private void writeInodeItem(Op op, InodeItem updated) throws IOException {
        op.h.markChanged();
        try (Path p = new Path()) {
            if (!trees.cow().searchForWrite(op.transid(), op.root, inodeKey(op.ino), p, 0, 0)) {
                throw new AssertionError("INODE_ITEM of " + op.ino + " vanished");
            }
            assert p.leaf().itemSize(p.slot()) >= InodeItem.SIZE : "short INODE_ITEM";
            updated.write(p.leaf().data(), p.leaf().itemDataOffset(p.slot()));
        }
    }

    long alignDown(long v) {
        return v - Long.remainderUnsigned(v, sectorsize);
    }

    long alignUp(long v) {
        long r = Long.remainderUnsigned(v, sectorsize);
        return r == 0 ? v : v + sectorsize - r;
    }
}
