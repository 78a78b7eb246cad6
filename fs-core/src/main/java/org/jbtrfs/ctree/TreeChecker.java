package org.jbtrfs.ctree;

import org.jbtrfs.CorruptImageException;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.Header;
import org.jbtrfs.format.Le;

/**
 * Structural checks of a tree block right after it is read and its checksum verified
 * (tree-checker.c): a block that passes can be walked without reading outside it. Always on, not
 * an assert, because the bytes come from disk. Each failure names the block, the slot and what was
 * found against what was expected.
 */
final class TreeChecker {
    private TreeChecker() {
    }

    static void check(byte[] b, long bytenr, int sectorSize) throws CorruptImageException {
        int level = Header.level(b);
        long nritems = Header.nritems(b);
        String where = "tree block " + Le.u64s(bytenr);
        if (level >= Header.MAX_LEVEL) {
            throw new CorruptImageException(where + ": level " + level + " out of range, expect < " + Header.MAX_LEVEL);
        }
        if (level == 0) {
            checkLeaf(b, nritems, where);
        } else {
            checkNode(b, nritems, where, sectorSize);
        }
    }

    private static void checkLeaf(byte[] b, long nritems, String where) throws CorruptImageException {
        int dataSize = Header.leafDataSize(b.length);
        if (nritems * Header.ITEM_SIZE > dataSize) {
            throw new CorruptImageException(where + ": leaf claims " + nritems + " items, at most "
                    + dataSize / Header.ITEM_SIZE + " fit");
        }
        int n = (int) nritems;
        long expectEnd = dataSize;
        for (int slot = 0; slot < n; slot++) {
            int io = Header.itemOffset(slot);
            long off = Le.u32(b, io + Header.ITEM_OFF_OFFSET);
            long size = Le.u32(b, io + Header.ITEM_OFF_SIZE);
            if (off + size != expectEnd) {
                throw new CorruptImageException(where + " slot " + slot + ": item data ends at " + (off + size)
                        + ", expect " + expectEnd + " (items must be packed from the end of the leaf)");
            }
            if (off < (long) n * Header.ITEM_SIZE) {
                throw new CorruptImageException(where + " slot " + slot + ": item data at " + off
                        + " overlaps the item headers (which end at " + (long) n * Header.ITEM_SIZE + ")");
            }
            expectEnd = off;
            if (slot > 0 && DiskKey.compare(b, Header.itemOffset(slot - 1), DiskKey.read(b, io)) >= 0) {
                throw new CorruptImageException(where + " slot " + slot + ": key " + DiskKey.read(b, io)
                        + " not above the previous key " + DiskKey.read(b, Header.itemOffset(slot - 1)));
            }
        }
    }

    private static void checkNode(byte[] b, long nritems, String where, int sectorSize) throws CorruptImageException {
        int max = Header.maxKeyPtrs(b.length);
        if (nritems == 0 || nritems > max) {
            throw new CorruptImageException(where + ": node has " + nritems + " pointers, expect 1.." + max);
        }
        int n = (int) nritems;
        for (int slot = 0; slot < n; slot++) {
            int po = Header.keyPtrOffset(slot);
            long ptr = Le.u64(b, po + Header.KEY_PTR_OFF_BLOCKPTR);
            if (ptr == 0 || Long.remainderUnsigned(ptr, sectorSize) != 0) {
                throw new CorruptImageException(where + " slot " + slot + ": child pointer " + Le.u64s(ptr)
                        + " is not a sector-aligned address");
            }
            if (slot > 0 && DiskKey.compare(b, Header.keyPtrOffset(slot - 1), DiskKey.read(b, po)) >= 0) {
                throw new CorruptImageException(where + " slot " + slot + ": key " + DiskKey.read(b, po)
                        + " not above the previous key " + DiskKey.read(b, Header.keyPtrOffset(slot - 1)));
            }
        }
    }
}
