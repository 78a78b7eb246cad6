package org.jbtrfs.file;

import java.io.IOException;
import org.jbtrfs.ctree.BTree;
import org.jbtrfs.ctree.CowBTree;
import org.jbtrfs.ctree.CowRoot;
import org.jbtrfs.ctree.Item;
import org.jbtrfs.ctree.Path;
import org.jbtrfs.extent.DelayedRefs;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.FileExtentItem;
import org.jbtrfs.format.ItemType;
import org.jbtrfs.format.Le;

/**
 * The EXTENT_DATA items of one inode in a subvolume tree: finding them, inserting new ones and
 * btrfs_drop_extents() (file.c), which clears a file range of every extent item in it so that a
 * new extent can be put there.
 *
 * <h2>Dropping a range [start, end)</h2>
 * An item covering [ks, ke) that overlaps the range is
 * <ul>
 *   <li>split when it sticks out on both sides: it keeps [ks, start) and a copy keyed {@code end}
 *       covers [end, ke), its extent offset moved by {@code end - ks}. The copy is one more
 *       reference of the same data extent with the same EXTENT_DATA_REF key ({@code ks - offset},
 *       the file offset where the whole extent would start), so an ADD of that ref is queued;</li>
 *   <li>trimmed when it sticks out on one side: num_bytes shrinks, and when the front is cut the
 *       key moves to {@code end} and the extent offset grows by the same amount (the backref key
 *       {@code key.offset - offset} is unchanged, so no ref changes);</li>
 *   <li>deleted when it lies inside, with a DROP of its ref.</li>
 * </ul>
 * PREALLOC items are cut exactly like regular ones (the same offset arithmetic and refs; the
 * pieces stay PREALLOC), as btrfs_drop_extents does. Holes written as items (disk_bytenr 0,
 * images without NO_HOLES) are cut the same way, without refs. An inline extent can only be dropped whole (the kernel returns EOPNOTSUPP otherwise); the
 * callers ({@link FileWriter}) rewrite inline files whole, so a partial overlap is a bug (asserted).
 *
 * <p>Each call returns the bytes the dropped parts counted in the inode's nbytes (btrfs check's
 * rule: num_bytes of every non-hole regular or prealloc extent, ram_bytes of an inline one), for
 * the caller to subtract.
 *
 * <p>The caller holds the subvolume root's write lock for the whole call.
 */
final class FileExtents {
    private final CowBTree cow;

    FileExtents(CowBTree cow) {
        this.cow = cow;
    }

    static DiskKey key(long ino, long fileOffset) {
        return new DiskKey(ino, ItemType.EXTENT_DATA, fileOffset);
    }

    /** The end (exclusive file offset) of an extent item keyed at {@code start}. */
    static long extentEnd(long start, FileExtentItem fe) {
        return start + (fe.isInline() ? fe.ramBytes() : fe.numBytes());
    }

    /** Whether an extent counts in nbytes: inline data, or a regular/prealloc extent with disk bytes. */
    static boolean counted(FileExtentItem fe) {
        return fe.isInline() || fe.diskBytenr() != 0;
    }

    /** The first EXTENT_DATA item of {@code ino} overlapping [start, end), or null. */
    Item firstOverlap(CowRoot root, long ino, long start, long end) throws IOException {
        assert start < end : start + ".." + end;
        BTree bt = cow.reader();
        Item before = bt.findAtOrBefore(root.current(), key(ino, start));
        if (before != null && before.key().objectid() == ino && before.key().type() == ItemType.EXTENT_DATA
                && extentEnd(before.key().offset(), decode(before)) > start) {
            return before;
        }
        if (start + 1 >= end) {
            return null;
        }
        Item[] first = new Item[1];
        bt.scan(root.current(), key(ino, start + 1), key(ino, end - 1), (k, data, off, len) -> {
            first[0] = new Item(k, java.util.Arrays.copyOfRange(data, off, off + len));
            return false;
        });
        return first[0];
    }

    static FileExtentItem decode(Item it) throws IOException {
        return FileExtentItem.decode(it.data(), 0, it.size());
    }

    /**
     * btrfs_drop_extents(): removes every extent of {@code ino} from [start, end), as the class
     * comment says. Returns the nbytes the removed parts counted.
     */
    long drop(long transid, CowRoot root, long ino, long start, long end, DelayedRefs refs) throws IOException {
        assert root.lock.isWriteLockedByCurrentThread() : "tree " + root.id() + " not write locked";
        assert start >= 0 && start < end : "drop of " + start + ".." + end;
        long dropped = 0;
        Item it;
        while ((it = firstOverlap(root, ino, start, end)) != null) {
            FileExtentItem fe = decode(it);
            long ks = it.key().offset();
            long ke = extentEnd(ks, fe);
            boolean counted = counted(fe);
            if (fe.isInline()) {
                assert ks == 0 && start <= ks && ke <= end : "inline extent of inode " + ino + " [" + ks + ", " + ke
                        + ") only partly in the dropped range [" + start + ", " + end + ")";
                delete(transid, root, it.key());
                dropped += fe.ramBytes();
                continue;
            }
            long refOffset = ks - fe.offset();
            if (ks < start && ke > end) {
                rewrite(transid, root, it.key(), withRange(fe, fe.offset(), start - ks));
                FileExtentItem tail = withRange(fe, fe.offset() + (end - ks), ke - end);
                if (!cow.insertItem(transid, root, key(ino, end), tail.encode())) {
                    throw new AssertionError("EXTENT_DATA " + key(ino, end) + " exists inside extent " + it.key());
                }
                if (counted) {
                    refs.addDataRef(fe.diskBytenr(), fe.diskNumBytes(), root.id(), ino, refOffset, 0,
                            DelayedRefs.Action.ADD, 1, false, transid);
                    dropped += end - start;
                }
            } else if (ks < start) {
                rewrite(transid, root, it.key(), withRange(fe, fe.offset(), start - ks));
                dropped += counted ? ke - start : 0;
            } else if (ke > end) {
                trimFront(transid, root, it.key(), key(ino, end), withRange(fe, fe.offset() + (end - ks), ke - end));
                dropped += counted ? end - ks : 0;
            } else {
                delete(transid, root, it.key());
                if (counted) {
                    refs.addDataRef(fe.diskBytenr(), fe.diskNumBytes(), root.id(), ino, refOffset, 0,
                            DelayedRefs.Action.DROP, 1, false, transid);
                    dropped += fe.numBytes();
                }
            }
        }
        return dropped;
    }

    private static FileExtentItem withRange(FileExtentItem fe, long offset, long numBytes) {
        assert numBytes > 0 && Long.compareUnsigned(offset + numBytes, fe.ramBytes()) <= 0 || fe.diskBytenr() == 0
                : "extent range " + offset + "+" + numBytes + " outside ram_bytes " + fe.ramBytes();
        return FileExtentItem.regular(fe.generation(), fe.type(), fe.ramBytes(), fe.compression(), fe.diskBytenr(),
                fe.diskNumBytes(), offset, numBytes);
    }

    /** Overwrites the item at {@code key} with {@code fe} (same size). */
    void rewrite(long transid, CowRoot root, DiskKey key, FileExtentItem fe) throws IOException {
        try (Path p = new Path()) {
            if (!cow.searchForWrite(transid, root, key, p, 0, 0)) {
                throw new AssertionError("EXTENT_DATA " + key + " vanished");
            }
            byte[] b = fe.encode();
            assert p.leaf().itemSize(p.slot()) == b.length : "rewrite changes the size of " + key;
            System.arraycopy(b, 0, p.leaf().data(), p.leaf().itemDataOffset(p.slot()), b.length);
        }
    }

    private void trimFront(long transid, CowRoot root, DiskKey key, DiskKey newKey, FileExtentItem fe) throws IOException {
        try (Path p = new Path()) {
            if (!cow.searchForWrite(transid, root, key, p, 0, 0)) {
                throw new AssertionError("EXTENT_DATA " + key + " vanished");
            }
            byte[] b = fe.encode();
            System.arraycopy(b, 0, p.leaf().data(), p.leaf().itemDataOffset(p.slot()), b.length);
            cow.setItemKey(p, newKey);
        }
    }

    void delete(long transid, CowRoot root, DiskKey key) throws IOException {
        if (!cow.deleteItem(transid, root, key)) {
            throw new AssertionError("EXTENT_DATA " + key + " vanished");
        }
    }

    /** Inserts a new extent item; the range must be clear (dropped before). */
    void insert(long transid, CowRoot root, long ino, long fileOffset, FileExtentItem fe) throws IOException {
        if (!cow.insertItem(transid, root, key(ino, fileOffset), fe.encode())) {
            throw new AssertionError("EXTENT_DATA of inode " + ino + " at " + Le.u64s(fileOffset) + " exists after the drop");
        }
    }
}
