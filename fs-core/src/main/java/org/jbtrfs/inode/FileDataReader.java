package org.jbtrfs.inode;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.jbtrfs.CorruptImageException;
import org.jbtrfs.Errno;
import org.jbtrfs.FsException;
import org.jbtrfs.InodeId;
import org.jbtrfs.compress.CompressionType;
import org.jbtrfs.compress.Decompressor;
import org.jbtrfs.ctree.Item;
import org.jbtrfs.ctree.TreeReads;
import org.jbtrfs.disk.FsInfo;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.FileExtentItem;
import org.jbtrfs.format.InodeItem;
import org.jbtrfs.format.ItemType;
import org.jbtrfs.format.Le;

/**
 * The read path of regular files and symlinks (btrfs_read_folio / extent_read_full_folio in
 * extent_io.c, uncompress_inline and the compressed read path in compression.c).
 *
 * <p>A file's bytes are described by its EXTENT_DATA items, keyed by file offset. A range that no
 * item covers (NO_HOLES) or that an item with disk_bytenr 0 covers is a hole and reads as zeros; a
 * PREALLOC extent reads as zeros; an INLINE extent holds the bytes in the item; a REGULAR extent
 * points at {@code disk_bytenr}, and the file range starts {@code offset} bytes into the
 * (uncompressed) extent. A compressed extent is read whole ({@code disk_num_bytes}) and decoded to
 * {@code ram_bytes} before the range is cut out of it. Nothing past i_size is read.
 *
 * <p>Allocation is bounded: uncompressed data is read straight into the caller's buffer, and a
 * compressed extent is at most {@link #MAX_COMPRESSED_EXTENT_BYTES} both ways (checked, since the
 * sizes come from disk).
 */
public final class FileDataReader {
    /** BTRFS_MAX_COMPRESSED / BTRFS_MAX_UNCOMPRESSED: 128 KiB. */
    public static final int MAX_COMPRESSED_EXTENT_BYTES = 128 * 1024;

    private final FsInfo fs;
    private final DataChecksums csums;

    private final TreeReads trees;

    public FileDataReader(FsInfo fs, TreeReads trees) {
        this.fs = fs;
        this.trees = trees;
        this.csums = new DataChecksums(fs, trees);
    }

    /**
     * Reads up to {@code len} bytes at file offset {@code pos} into {@code dst[off..]}; returns the
     * count read, which is short only at end of file.
     */
    public int read(long tree, InodeId id, InodeItem inode, long pos, byte[] dst, int off, int len) throws IOException {
        if (pos < 0 || len < 0) {
            throw new IllegalArgumentException("negative offset or length");
        }
        long size = inode.size();
        if (Long.compareUnsigned(pos, size) >= 0 || len == 0) {
            return 0;
        }
        // size comes from disk: compare unsigned (an i_size with the top bit set must not make n
        // negative), and stop at the largest file offset so that pos + n cannot overflow.
        long remaining = size - pos;
        if (Long.compareUnsigned(remaining, Long.MAX_VALUE - pos) > 0) {
            remaining = Long.MAX_VALUE - pos;
        }
        int n = Long.compareUnsigned(remaining, len) < 0 ? (int) remaining : len;
        if (n == 0) {
            return 0;
        }
        Arrays.fill(dst, off, off + n, (byte) 0);
        boolean verify = fs.options().verifyDataCsums() && (inode.flags() & InodeItem.FLAG_NODATASUM) == 0;
        for (Item it : extentsCovering(tree, id.ino(), pos, n)) {
            FileExtentItem fe = FileExtentItem.decode(it.data(), 0, it.size());
            long start = it.key().offset();
            long extLen = fe.isInline() ? fe.ramBytes() : fe.numBytes();
            // The scan keeps start <= pos + n - 1 < 2^63; a length from disk may still overflow.
            long extEnd = extLen < 0 || start + extLen < start ? Long.MAX_VALUE : start + extLen;
            long from = Math.max(start, pos);
            long to = Math.min(extEnd, pos + n);
            if (from >= to) {
                continue;
            }
            copyExtent(id, fe, start, from, (int) (to - from), dst, off + (int) (from - pos), verify);
        }
        return n;
    }

    /**
     * lseek(2) SEEK_DATA ({@code data}) or SEEK_HOLE from {@code pos}, as btrfs answers it
     * (find_desired_extent in file.c): data is an inline extent or a regular extent with a disk
     * location; a hole is a range no item covers, an extent with disk_bytenr 0, or a PREALLOC
     * extent (jbtrfs has no delalloc, so no dirty pages can make a prealloc range data). The end of
     * the file counts as a hole. ENXIO when {@code pos} is at or past i_size, or, for SEEK_DATA,
     * when no data follows.
     */
    public long seek(long tree, InodeId id, InodeItem inode, long pos, boolean data) throws IOException {
        long size = inode.size();
        if (pos < 0 || Long.compareUnsigned(pos, size) >= 0) {
            throw new FsException(Errno.ENXIO, "offset " + pos + " is at or past the end of " + id);
        }
        DiskKey first = new DiskKey(id.ino(), ItemType.EXTENT_DATA, pos);
        Item before = trees.findAtOrBefore(tree, first);
        DiskKey from = before != null && before.key().objectid() == id.ino()
                && before.key().type() == ItemType.EXTENT_DATA ? before.key() : first;
        // found: the answer once known; holeFrom: for SEEK_HOLE, the first offset not yet known to be data.
        long[] found = {-1};
        long[] holeFrom = {pos};
        trees.scan(tree, from, new DiskKey(id.ino(), ItemType.EXTENT_DATA, -1L), (key, b, o, l) -> {
            FileExtentItem fe = FileExtentItem.decode(b, o, l);
            long start = key.offset();
            long end = start + (fe.isInline() ? fe.ramBytes() : fe.numBytes());
            boolean isData = fe.isInline() || (fe.type() != FileExtentItem.TYPE_PREALLOC && fe.diskBytenr() != 0);
            if (end <= holeFrom[0]) {
                return true; // wholly before the offset asked for
            }
            if (data) {
                if (isData) {
                    found[0] = Math.max(start, pos);
                    return false;
                }
                return true;
            }
            if (!isData || start > holeFrom[0]) {
                found[0] = holeFrom[0]; // a hole extent, or a gap before this data extent
                return false;
            }
            holeFrom[0] = end;
            return start < size;
        });
        if (data) {
            if (found[0] < 0 || found[0] >= size) {
                throw new FsException(Errno.ENXIO, "no data after offset " + pos + " in " + id);
            }
            return found[0];
        }
        return Math.min(found[0] >= 0 ? found[0] : holeFrom[0], size);
    }

    /** EXTENT_DATA items that may overlap [pos, pos+len): the one at or before pos, then the rest. */
    private List<Item> extentsCovering(long tree, long ino, long pos, int len) throws IOException {
        List<Item> out = new ArrayList<>();
        DiskKey first = new DiskKey(ino, ItemType.EXTENT_DATA, pos);
        Item before = trees.findAtOrBefore(tree, first);
        DiskKey from = first;
        if (before != null && before.key().objectid() == ino && before.key().type() == ItemType.EXTENT_DATA) {
            from = before.key();
        }
        DiskKey to = new DiskKey(ino, ItemType.EXTENT_DATA, pos + len - 1);
        trees.scan(tree, from, to, (key, data, o, l) -> {
            out.add(new Item(key, Arrays.copyOfRange(data, o, o + l)));
            return true;
        });
        return out;
    }

    private void copyExtent(InodeId id, FileExtentItem fe, long start, long from, int len, byte[] dst, int dstOff,
            boolean verify) throws IOException {
        String where = "inode " + id + " extent at file offset " + Le.u64s(start);
        if (fe.encryption() != 0 || fe.otherEncoding() != 0) {
            throw new CorruptImageException(where + ": unsupported encryption " + fe.encryption() + "/" + fe.otherEncoding());
        }
        CompressionType ct = CompressionType.fromCode(fe.compression());
        if (fe.isInline()) {
            byte[] data = fe.inlineData();
            if (ct != CompressionType.NONE) {
                checkCompressedSize(where, fe.ramBytes(), data.length);
                data = Decompressor.decompress(ct, data, 0, data.length, (int) fe.ramBytes(), fs.sectorsize());
            } else if (fe.ramBytes() != data.length) {
                // tree-checker.c check_extent_data_item(): an uncompressed inline extent holds ram_bytes.
                throw new CorruptImageException(where + ": uncompressed inline extent has ram_bytes "
                        + Le.u64s(fe.ramBytes()) + " but holds " + data.length + " bytes");
            }
            if (Long.compareUnsigned(from - start, data.length) >= 0) {
                return; // past the inline bytes (ram_bytes of a compressed one may say more): zeros
            }
            int srcOff = (int) (from - start);
            int avail = Math.max(0, Math.min(len, data.length - srcOff));
            System.arraycopy(data, srcOff, dst, dstOff, avail);
            return;
        }
        if (fe.type() == FileExtentItem.TYPE_PREALLOC || fe.diskBytenr() == 0) {
            return; // zeros, already filled
        }
        long inExtent = fe.offset() + (from - start);
        if (Long.compareUnsigned(inExtent, fe.offset()) < 0) {
            throw new CorruptImageException(where + ": extent offset " + Le.u64s(fe.offset()) + " overflows");
        }
        if (ct == CompressionType.NONE) {
            if (rangeExceeds(inExtent, len, fe.diskNumBytes())) {
                throw new CorruptImageException(where + ": range " + Le.u64s(inExtent) + "+" + len
                        + " goes past disk_num_bytes " + Le.u64s(fe.diskNumBytes()));
            }
            readData(fe.diskBytenr(), inExtent, len, dst, dstOff, verify, where);
            return;
        }
        checkCompressedSize(where, fe.ramBytes(), fe.diskNumBytes());
        byte[] raw = new byte[(int) fe.diskNumBytes()];
        readData(fe.diskBytenr(), 0, raw.length, raw, 0, verify, where);
        byte[] plain = Decompressor.decompress(ct, raw, 0, raw.length, (int) fe.ramBytes(), fs.sectorsize());
        if (rangeExceeds(inExtent, len, plain.length)) {
            throw new CorruptImageException(where + ": range " + Le.u64s(inExtent) + "+" + len
                    + " goes past ram_bytes " + plain.length);
        }
        System.arraycopy(plain, (int) inExtent, dst, dstOff, len);
    }

    /** Whether [start, start + len) goes past limit, all unsigned, without overflowing. */
    private static boolean rangeExceeds(long start, int len, long limit) {
        return Long.compareUnsigned(start, limit) > 0 || Long.compareUnsigned(len, limit - start) > 0;
    }

    private static void checkCompressedSize(String where, long ramBytes, long diskBytes) throws CorruptImageException {
        if (ramBytes <= 0 || ramBytes > MAX_COMPRESSED_EXTENT_BYTES || diskBytes <= 0
                || diskBytes > MAX_COMPRESSED_EXTENT_BYTES) {
            throw new CorruptImageException(where + ": compressed extent sizes out of range (ram_bytes "
                    + Le.u64s(ramBytes) + ", on disk " + Le.u64s(diskBytes) + ", limit " + MAX_COMPRESSED_EXTENT_BYTES + ")");
        }
    }

    /**
     * Reads {@code len} bytes at {@code extentBytenr + inExtent}, trying each mirror; with
     * {@code verify}, the sectors touched are read whole and checked against the csum tree first.
     */
    private void readData(long extentBytenr, long inExtent, int len, byte[] dst, int dstOff, boolean verify,
            String where) throws IOException {
        long logical = extentBytenr + inExtent;
        if (!verify) {
            long[] phys = fs.chunkMap().map(logical, len);
            fs.device().read(phys[0], dst, dstOff, len);
            return;
        }
        int sector = fs.sectorsize();
        long alignedStart = logical - Long.remainderUnsigned(logical, sector);
        long alignedEnd = logical + len;
        long rem = Long.remainderUnsigned(alignedEnd, sector);
        if (rem != 0) {
            alignedEnd += sector - rem;
        }
        int alignedLen = (int) (alignedEnd - alignedStart);
        long[] phys = fs.chunkMap().map(alignedStart, alignedLen);
        byte[] buf = new byte[alignedLen];
        List<String> problems = new ArrayList<>();
        for (int mirror = 0; mirror < phys.length; mirror++) {
            fs.device().read(phys[mirror], buf, 0, alignedLen);
            String bad = csums.verify(alignedStart, buf, 0, alignedLen, mirror + 1);
            if (bad == null) {
                System.arraycopy(buf, (int) (logical - alignedStart), dst, dstOff, len);
                return;
            }
            problems.add(bad);
        }
        throw new CorruptImageException(where + ": " + String.join("; ", problems));
    }
}
