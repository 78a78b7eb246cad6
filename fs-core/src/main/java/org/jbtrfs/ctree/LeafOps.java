package org.jbtrfs.ctree;

import java.util.Arrays;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.Header;

/**
 * In-place changes of one leaf (setup_items_for_insert, btrfs_del_items, btrfs_extend_item,
 * btrfs_truncate_item in ctree.c). A leaf keeps item headers packed after the block header and
 * item data packed at the end of the block, in the same order reversed: item 0's data ends at the
 * end of the block, item 1's data ends where item 0's starts, and so on. Every change here moves
 * bytes with array copies and keeps that packing, which the tree checker verifies on read.
 *
 * <p>All offsets in this class are absolute positions in the block; on disk an item's offset
 * counts from the end of the header. Callers hold the tree's write lock and pass dirty leaves.
 */
final class LeafOps {
    private LeafOps() {
    }

    /** Absolute start of the lowest item data (the end of the free space). */
    static int dataEnd(ExtentBuffer leaf) {
        int n = leaf.nritems();
        return n == 0 ? leaf.length() : leaf.itemDataOffset(n - 1);
    }

    /** btrfs_leaf_free_space(): bytes between the item headers and the item data. */
    static int freeSpace(ExtentBuffer leaf) {
        return dataEnd(leaf) - Header.itemOffset(leaf.nritems());
    }

    /** Bytes items [from, to) take, headers included (leaf_space_used). */
    static int spaceUsed(ExtentBuffer leaf, int from, int to) {
        if (from >= to) {
            return 0;
        }
        int dataStart = leaf.itemDataOffset(to - 1);
        int dataStop = leaf.itemDataOffset(from) + leaf.itemSize(from);
        return dataStop - dataStart + (to - from) * Header.ITEM_SIZE;
    }

    private static void setItemOffset(ExtentBuffer leaf, int slot, int absolute) {
        leaf.setItemOffsetRaw(slot, absolute - Header.SIZE);
    }

    /**
     * Makes room for {@code keys.length} items at {@code slot} with the given data sizes (zeroed);
     * the caller fills the data and, when slot is 0, fixes the parents' keys.
     */
    static void insertEmpty(ExtentBuffer leaf, int slot, DiskKey[] keys, int[] sizes) {
        assert leaf.isDirty() && leaf.isLeaf() : leaf;
        int n = leaf.nritems();
        int k = keys.length;
        int total = 0;
        for (int s : sizes) {
            total += s;
        }
        assert slot >= 0 && slot <= n : "slot " + slot + " of " + n;
        assert total + k * Header.ITEM_SIZE <= freeSpace(leaf) : "no room: need " + (total + k * Header.ITEM_SIZE)
                + " have " + freeSpace(leaf);
        byte[] d = leaf.data();
        int end = dataEnd(leaf);
        int oldData = slot < n ? leaf.itemDataOffset(slot) + leaf.itemSize(slot) : (n == 0 ? leaf.length() : end);
        if (slot < n) {
            System.arraycopy(d, end, d, end - total, oldData - end);
            for (int i = slot; i < n; i++) {
                setItemOffset(leaf, i, leaf.itemDataOffset(i) - total);
            }
            System.arraycopy(d, Header.itemOffset(slot), d, Header.itemOffset(slot + k), (n - slot) * Header.ITEM_SIZE);
        }
        int pos = oldData;
        leaf.setNritems(n + k);
        for (int i = 0; i < k; i++) {
            pos -= sizes[i];
            keys[i].write(d, Header.itemOffset(slot + i));
            setItemOffset(leaf, slot + i, pos);
            leaf.setItemSize(slot + i, sizes[i]);
        }
        Arrays.fill(d, pos, oldData, (byte) 0);
        assert checkPacked(leaf);
    }

    /** Removes items [slot, slot + nr). */
    static void delete(ExtentBuffer leaf, int slot, int nr) {
        assert leaf.isDirty() && leaf.isLeaf() : leaf;
        int n = leaf.nritems();
        assert nr > 0 && slot >= 0 && slot + nr <= n : "delete " + slot + "+" + nr + " of " + n;
        byte[] d = leaf.data();
        int end = dataEnd(leaf);
        int last = slot + nr - 1;
        int lowest = leaf.itemDataOffset(last);
        int dsize = leaf.itemDataOffset(slot) + leaf.itemSize(slot) - lowest;
        if (slot + nr < n) {
            System.arraycopy(d, end, d, end + dsize, lowest - end);
            for (int i = slot + nr; i < n; i++) {
                setItemOffset(leaf, i, leaf.itemDataOffset(i) + dsize);
            }
            System.arraycopy(d, Header.itemOffset(slot + nr), d, Header.itemOffset(slot), (n - slot - nr) * Header.ITEM_SIZE);
        }
        leaf.setNritems(n - nr);
        Arrays.fill(d, Header.itemOffset(n - nr), Header.itemOffset(n), (byte) 0);
        Arrays.fill(d, end, end + dsize, (byte) 0);
        assert checkPacked(leaf);
    }

    /** btrfs_extend_item(): grows item {@code slot} by {@code extra} zero bytes at its end. */
    static void extend(ExtentBuffer leaf, int slot, int extra) {
        assert leaf.isDirty() && extra > 0 && extra <= freeSpace(leaf) : "extend by " + extra + " with " + freeSpace(leaf) + " free";
        byte[] d = leaf.data();
        int n = leaf.nritems();
        int end = dataEnd(leaf);
        int itemEnd = leaf.itemDataOffset(slot) + leaf.itemSize(slot);
        System.arraycopy(d, end, d, end - extra, itemEnd - end);
        for (int i = slot; i < n; i++) {
            setItemOffset(leaf, i, leaf.itemDataOffset(i) - extra);
        }
        leaf.setItemSize(slot, leaf.itemSize(slot) + extra);
        Arrays.fill(d, itemEnd - extra, itemEnd, (byte) 0);
        assert checkPacked(leaf);
    }

    /**
     * btrfs_truncate_item(): shrinks item {@code slot} to {@code newSize} bytes, keeping its first
     * bytes ({@code fromEnd}) or its last bytes.
     */
    static void truncate(ExtentBuffer leaf, int slot, int newSize, boolean fromEnd) {
        int size = leaf.itemSize(slot);
        assert leaf.isDirty() && newSize >= 0 && newSize < size : "truncate " + size + " to " + newSize;
        byte[] d = leaf.data();
        int n = leaf.nritems();
        int end = dataEnd(leaf);
        int off = leaf.itemDataOffset(slot);
        int shrink = size - newSize;
        if (fromEnd) {
            System.arraycopy(d, end, d, end + shrink, off + newSize - end);
            for (int i = slot; i < n; i++) {
                setItemOffset(leaf, i, leaf.itemDataOffset(i) + shrink);
            }
        } else {
            System.arraycopy(d, end, d, end + shrink, off - end);
            for (int i = slot; i < n; i++) {
                setItemOffset(leaf, i, leaf.itemDataOffset(i) + shrink);
            }
        }
        leaf.setItemSize(slot, newSize);
        Arrays.fill(d, end, end + shrink, (byte) 0);
        assert checkPacked(leaf);
    }

    /** Moves items [from, n) of {@code src} to the front of {@code dst}. */
    static void moveTailTo(ExtentBuffer src, int from, ExtentBuffer dst) {
        int n = src.nritems();
        if (from >= n) {
            return;
        }
        copyItems(src, from, n, dst, 0);
        delete(src, from, n - from);
    }

    /** Moves items [0, count) of {@code src} to the end of {@code dst}. */
    static void moveHeadTo(ExtentBuffer src, int count, ExtentBuffer dst) {
        if (count <= 0) {
            return;
        }
        copyItems(src, 0, count, dst, dst.nritems());
        delete(src, 0, count);
    }

    private static void copyItems(ExtentBuffer src, int from, int to, ExtentBuffer dst, int dstSlot) {
        int k = to - from;
        DiskKey[] keys = new DiskKey[k];
        int[] sizes = new int[k];
        for (int i = 0; i < k; i++) {
            keys[i] = src.key(from + i);
            sizes[i] = src.itemSize(from + i);
        }
        insertEmpty(dst, dstSlot, keys, sizes);
        for (int i = 0; i < k; i++) {
            System.arraycopy(src.data(), src.itemDataOffset(from + i), dst.data(), dst.itemDataOffset(dstSlot + i), sizes[i]);
        }
    }

    /** The packing rule the tree checker enforces; for asserts after every change. */
    static boolean checkPacked(ExtentBuffer leaf) {
        int expectEnd = leaf.length();
        for (int i = 0; i < leaf.nritems(); i++) {
            int off = leaf.itemDataOffset(i);
            if (off + leaf.itemSize(i) != expectEnd) {
                throw new AssertionError("leaf " + leaf.bytenr() + " slot " + i + " data ends at " + (off + leaf.itemSize(i))
                        + ", expect " + expectEnd);
            }
            expectEnd = off;
        }
        if (expectEnd < Header.itemOffset(leaf.nritems())) {
            throw new AssertionError("leaf " + leaf.bytenr() + " data overlaps item headers");
        }
        return true;
    }
}
