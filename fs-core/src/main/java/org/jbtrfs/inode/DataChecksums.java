package org.jbtrfs.inode;

import java.io.IOException;
import org.jbtrfs.ctree.BTree;
import org.jbtrfs.ctree.TreeRoot;
import org.jbtrfs.disk.FsInfo;
import org.jbtrfs.format.CsumType;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.ItemType;
import org.jbtrfs.format.Le;
import org.jbtrfs.format.ObjectIds;

/**
 * Data checksums from the csum tree (file-item.c). Items are keyed (EXTENT_CSUM EXTENT_CSUM
 * logical) and hold one checksum of {@link CsumType#size()} bytes per sector, for consecutive
 * sectors starting at the key offset.
 */
final class DataChecksums {
    private final FsInfo fs;

    DataChecksums(FsInfo fs) {
        this.fs = fs;
    }

    /**
     * Verifies sector-aligned data read from {@code logical}. Returns null when every sector
     * matches, else a message naming the first bad sector and the mirror. {@code csumRoot} null:
     * the committed csum tree.
     */
    String verify(TreeRoot csumRoot, long logical, byte[] buf, int off, int len, int mirror) throws IOException {
        int sector = fs.sectorsize();
        CsumType t = fs.csumType();
        int csize = t.size();
        byte[] expect = new byte[len / sector * csize];
        boolean[] found = new boolean[len / sector];
        if (csumRoot == null) {
            csumRoot = fs.requireTreeRoot(ObjectIds.CSUM_TREE);
        }
        BTree bt = fs.btree();
        long end = logical + len;
        DiskKey start = new DiskKey(ObjectIds.EXTENT_CSUM, ItemType.EXTENT_CSUM, logical);
        org.jbtrfs.ctree.Item before = bt.findAtOrBefore(csumRoot, start);
        DiskKey from = before != null && before.key().objectid() == ObjectIds.EXTENT_CSUM
                && before.key().type() == ItemType.EXTENT_CSUM ? before.key() : start;
        bt.scan(csumRoot, from, new DiskKey(ObjectIds.EXTENT_CSUM, ItemType.EXTENT_CSUM, end - 1), (key, data, o, l) -> {
            long itemStart = key.offset();
            int count = l / csize;
            for (int i = 0; i < count; i++) {
                long s = itemStart + (long) i * sector;
                if (Long.compareUnsigned(s, logical) >= 0 && Long.compareUnsigned(s, end) < 0) {
                    int idx = (int) ((s - logical) / sector);
                    System.arraycopy(data, o + i * csize, expect, idx * csize, csize);
                    found[idx] = true;
                }
            }
            return true;
        });
        byte[] got = new byte[CsumType.CSUM_FIELD_SIZE];
        for (int i = 0; i < found.length; i++) {
            long s = logical + (long) i * sector;
            if (!found[i]) {
                return "no data checksum for logical " + Le.u64s(s) + " (mirror " + mirror + ")";
            }
            t.compute(buf, off + i * sector, sector, got, 0);
            if (!java.util.Arrays.equals(got, 0, csize, expect, i * csize, (i + 1) * csize)) {
                return "data checksum mismatch at logical " + Le.u64s(s) + " mirror " + mirror + ": have "
                        + t.hex(got, 0) + " expect " + t.hex(expect, i * csize);
            }
        }
        return null;
    }
}
