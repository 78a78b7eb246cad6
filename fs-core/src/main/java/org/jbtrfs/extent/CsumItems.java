package org.jbtrfs.extent;

import java.io.IOException;
import java.util.Arrays;
import org.jbtrfs.ctree.BTree;
import org.jbtrfs.ctree.CowBTree;
import org.jbtrfs.ctree.CowRoot;
import org.jbtrfs.ctree.ExtentBuffer;
import org.jbtrfs.ctree.Item;
import org.jbtrfs.ctree.Path;
import org.jbtrfs.format.CsumType;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.Header;
import org.jbtrfs.format.ItemType;
import org.jbtrfs.format.Le;
import org.jbtrfs.format.ObjectIds;

/**
 * The data checksum items of the csum tree (tree 7): the csum half of the kernel's file-item.c,
 * btrfs_csum_file_blocks (insert) and btrfs_del_csums (delete).
 *
 * <h2>Format</h2>
 * An item is keyed (EXTENT_CSUM_OBJECTID -10, EXTENT_CSUM 128, logical) and its data is an array of
 * checksums of {@link CsumType#size()} bytes, one per sector, for the consecutive sectors starting
 * at {@code logical}: item {@code i} covers [offset + i * sectorsize, offset + (i+1) * sectorsize).
 * An item holds at most {@link #maxCsumsPerItem()} checksums (MAX_CSUM_ITEMS: two item headers
 * less than a leaf, in checksums, minus one, capped at PAGE_SIZE = 4096).
 *
 * <h2>Invariants</h2>
 * <ol>
 *   <li>Items never overlap, and each sector of a live data extent has exactly one checksum
 *       (btrfs check --check-data-csum). {@link #insert} refuses to add a checksum where one is
 *       (the range of a freshly allocated extent has none: the checksums of a freed extent go when
 *       its last ref runs, see {@link DataExtentFreedListener}, and the space stays pinned until
 *       the commit).</li>
 *   <li>An insert that starts where the preceding item ends grows that item while it stays under
 *       the maximum, as the kernel does, so a file written in pieces does not leave one item per
 *       write.</li>
 * </ol>
 *
 * <p>Every method needs the csum root's write lock, held by the caller (lock order: a subvolume
 * tree, then the extent tree when refs run, then the csum tree).
 */
public final class CsumItems {
    /** PAGE_SIZE in MAX_CSUM_ITEMS: the kernel caps a csum item at this many checksums. */
    static final int KERNEL_MAX_CSUMS_PER_ITEM = 4096;

    private final CowBTree cow;
    private final CsumType type;
    private final int csize;
    private final int sectorsize;
    private final int maxCsums;

    public CsumItems(CowBTree cow, CsumType type, int sectorsize, int nodesize) {
        this.cow = cow;
        this.type = type;
        this.csize = type.size();
        this.sectorsize = sectorsize;
        int leafData = nodesize - Header.SIZE;
        this.maxCsums = Math.min((leafData - 2 * Header.ITEM_SIZE) / csize - 1, KERNEL_MAX_CSUMS_PER_ITEM);
        assert maxCsums * csize <= cow.maxItemSize() : "csum item of " + maxCsums + " sums cannot fit a leaf";
    }

    public CsumType type() {
        return type;
    }

    /** MAX_CSUM_ITEMS for this node size and checksum type. */
    public int maxCsumsPerItem() {
        return maxCsums;
    }

    /** The checksums of sector-aligned {@code data[off, off+len)}, concatenated. */
    public byte[] compute(byte[] data, int off, int len) {
        assert len % sectorsize == 0 : "unaligned csum range " + len;
        int n = len / sectorsize;
        byte[] out = new byte[n * csize];
        byte[] one = new byte[CsumType.CSUM_FIELD_SIZE];
        for (int i = 0; i < n; i++) {
            type.compute(data, off + i * sectorsize, sectorsize, one, 0);
            System.arraycopy(one, 0, out, i * csize, csize);
        }
        return out;
    }

    private static DiskKey key(long logical) {
        return new DiskKey(ObjectIds.EXTENT_CSUM, ItemType.EXTENT_CSUM, logical);
    }

    private static boolean isCsum(Item it) {
        return it != null && it.key().objectid() == ObjectIds.EXTENT_CSUM && it.key().type() == ItemType.EXTENT_CSUM;
    }

    private long itemEnd(Item it) {
        return it.key().offset() + (long) (it.size() / csize) * sectorsize;
    }

    /**
     * btrfs_csum_file_blocks(): adds {@code sums} (one checksum per sector, as {@link #compute}
     * gives) for the sectors starting at {@code logical}, growing the preceding item when it ends
     * exactly there, else inserting new items of at most {@link #maxCsumsPerItem()} checksums.
     */
    public void insert(long transid, CowRoot csumRoot, long logical, byte[] sums) throws IOException {
        assert csumRoot.lock.isWriteLockedByCurrentThread() : "csum root not write locked";
        assert csumRoot.id() == ObjectIds.CSUM_TREE : csumRoot.id();
        assert sums.length % csize == 0 && sums.length > 0 : "csum array of " + sums.length + " bytes";
        assert Long.remainderUnsigned(logical, sectorsize) == 0 : "unaligned csum start " + logical;
        int total = sums.length / csize;
        long end = logical + (long) total * sectorsize;
        checkNoneIn(csumRoot, logical, end);
        BTree bt = cow.reader();
        int done = 0;
        while (done < total) {
            long pos = logical + (long) done * sectorsize;
            Item prev = bt.findAtOrBefore(csumRoot.current(), key(pos));
            int n;
            if (isCsum(prev) && itemEnd(prev) == pos && prev.size() / csize < maxCsums) {
                n = Math.min(total - done, maxCsums - prev.size() / csize);
                try (Path p = new Path()) {
                    boolean found = cow.searchForWrite(transid, csumRoot, prev.key(), p, 0, n * csize);
                    assert found : prev.key() + " vanished";
                    cow.extendItem(p, n * csize);
                    ExtentBuffer leaf = p.leaf();
                    int at = leaf.itemDataOffset(p.slot()) + prev.size();
                    System.arraycopy(sums, done * csize, leaf.data(), at, n * csize);
                }
            } else {
                n = Math.min(total - done, maxCsums);
                byte[] data = Arrays.copyOfRange(sums, done * csize, (done + n) * csize);
                if (!cow.insertItem(transid, csumRoot, key(pos), data)) {
                    throw new AssertionError("csum item " + key(pos) + " already there");
                }
            }
            done += n;
        }
    }

    /** Throws when a checksum for a sector of [start, end) exists already (would overlap). */
    private void checkNoneIn(CowRoot csumRoot, long start, long end) throws IOException {
        BTree bt = cow.reader();
        Item last = bt.findAtOrBefore(csumRoot.current(), key(end - 1));
        if (isCsum(last) && Long.compareUnsigned(itemEnd(last), start) > 0) {
            throw new IllegalStateException("data checksums of " + Le.u64s(start) + ".." + Le.u64s(end)
                    + " exist already: item " + last.key() + " covers up to " + Le.u64s(itemEnd(last)));
        }
    }

    /**
     * btrfs_del_csums(): removes the checksums of [logical, logical + len): items inside go, items
     * reaching into it are trimmed at either end, and an item covering it with room on both sides
     * is split in two.
     */
    public void delete(long transid, CowRoot csumRoot, long logical, long len) throws IOException {
        assert csumRoot.lock.isWriteLockedByCurrentThread() : "csum root not write locked";
        assert Long.remainderUnsigned(logical, sectorsize) == 0 && len % sectorsize == 0 && len > 0
                : "unaligned csum delete " + logical + "+" + len;
        long end = logical + len;
        BTree bt = cow.reader();
        // Walk down from the end: each step removes the tail of the range that the last item covers.
        while (true) {
            Item it = bt.findAtOrBefore(csumRoot.current(), key(end - 1));
            if (!isCsum(it)) {
                return;
            }
            long s = it.key().offset();
            long e = itemEnd(it);
            if (Long.compareUnsigned(e, logical) <= 0) {
                return;
            }
            int count = it.size() / csize;
            int keepHead = s < logical ? (int) ((logical - s) / sectorsize) : 0;
            int keepTail = e > end ? (int) ((e - end) / sectorsize) : 0;
            assert keepHead + keepTail < count : it.key() + " does not overlap " + logical + "+" + len;
            try (Path p = new Path()) {
                boolean found = cow.searchForWrite(transid, csumRoot, it.key(), p, keepHead == 0 && keepTail == 0 ? -1 : 0, 0);
                assert found : it.key() + " vanished";
                if (keepHead == 0 && keepTail == 0) {
                    cow.deleteItems(transid, csumRoot, p, p.slot(), 1);
                } else if (keepHead == 0) {
                    cow.truncateItem(p, keepTail * csize, false);
                    cow.setItemKey(p, key(end));
                } else {
                    cow.truncateItem(p, keepHead * csize, true);
                }
            }
            if (keepHead > 0 && keepTail > 0) {
                byte[] tail = Arrays.copyOfRange(it.data(), (count - keepTail) * csize, count * csize);
                if (!cow.insertItem(transid, csumRoot, key(end), tail)) {
                    throw new AssertionError("csum item " + key(end) + " already there while splitting " + it.key());
                }
            }
            if (keepHead > 0) {
                return; // the item began before the range: nothing earlier overlaps
            }
        }
    }
}
