package org.jbtrfs.check;

import java.io.EOFException;
import java.io.IOException;
import java.util.Arrays;
import org.jbtrfs.CorruptImageException;
import org.jbtrfs.ctree.TreeRoot;
import org.jbtrfs.device.ChunkMap;
import org.jbtrfs.format.CsumType;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.ItemType;
import org.jbtrfs.format.Le;
import org.jbtrfs.format.ObjectIds;

/**
 * The csum tree (check_csums() and check_csum_root() in check/main.c, count_csum_range() in
 * check/mode-common.c):
 * <ol>
 *   <li>Only EXTENT_CSUM items, keyed (EXTENT_CSUM EXTENT_CSUM logical) with a sector-aligned
 *       logical address and a whole number of checksums; items do not overlap.</li>
 *   <li>Their coverage ({@link CheckContext#csumRanges}) is what the fs tree checks hold file
 *       extents against, and lies inside data extents (checked in the extent pass).</li>
 *   <li>With {@link CheckOptions#checkDataCsums()}, every covered sector is read and its checksum
 *       verified; a sector bad on every mirror is a problem.</li>
 * </ol>
 */
final class CsumCheck {
    /** Bytes read at once when verifying data. */
    static final int VERIFY_CHUNK_BYTES = 1 << 20;

    private final CheckContext ctx;
    private final int csumSize;
    /** Where {@link #matches} computes a checksum. */
    private final byte[] scratch = new byte[CsumType.CSUM_FIELD_SIZE];

    CsumCheck(CheckContext ctx) {
        this.ctx = ctx;
        this.csumSize = ctx.fs.csumType().size();
    }

    /** Visitor for the csum tree walk. */
    TreeWalker.LeafVisitor visitor() {
        return (key, b, off, len) -> {
            if (key.objectid() != ObjectIds.EXTENT_CSUM || key.type() != ItemType.EXTENT_CSUM) {
                ctx.problem(Areas.CSUM, "unexpected item " + key + " in the csum tree");
                return;
            }
            long logical = key.offset();
            if (len == 0 || len % csumSize != 0) {
                ctx.problem(Areas.CSUM, "item " + key + " is " + len + " bytes, not a whole number of "
                        + csumSize + "-byte checksums");
                return;
            }
            if (Long.remainderUnsigned(logical, ctx.sectorsize) != 0) {
                ctx.problem(Areas.CSUM, "item " + key + " starts at a logical address not aligned to " + ctx.sectorsize);
                return;
            }
            long bytes = (long) (len / csumSize) * ctx.sectorsize;
            if (Long.compareUnsigned(logical + bytes, logical) <= 0) {
                ctx.problem(Areas.CSUM, "item " + key + " covers a range past the end of the address space");
                return;
            }
            ctx.counters.csumBytes += bytes;
            if (!ctx.csumRanges.append(logical, logical + bytes)) {
                ctx.problem(Areas.CSUM, "item " + key + " (" + bytes + " bytes of data) overlaps the previous item, "
                        + "which ends at " + Le.u64s(ctx.csumRanges.lastEnd()));
            }
        };
    }

    /**
     * Csum coverage outside every data extent: checksums for space nothing uses (the extent pass
     * hands in the data extents' coverage).
     */
    void checkCoverage(RangeList dataExtents) {
        RangeList stray = new RangeList();
        ctx.csumRanges.subtract(dataExtents, 0, -1L, stray);
        for (int i = 0; i < stray.size(); i++) {
            ctx.problem(Areas.CSUM, "csums for logical " + Le.u64s(stray.start(i)) + "-" + Le.u64s(stray.end(i))
                    + ", which no data extent covers");
        }
    }

    /** Reads and verifies every sector that has a checksum (btrfs check --check-data-csum). */
    void verifyData() throws IOException {
        TreeRoot root = ctx.globalRoot(ObjectIds.CSUM_TREE);
        if (root == null) {
            return;
        }
        byte[] buf = new byte[VERIFY_CHUNK_BYTES];
        TreeWalker.streamItems(ctx, root, (key, b, off, len) -> {
            if (key.objectid() == ObjectIds.EXTENT_CSUM && key.type() == ItemType.EXTENT_CSUM && len % csumSize == 0
                    && Long.remainderUnsigned(key.offset(), ctx.sectorsize) == 0) {
                verifyItem(key, b, off, len, buf);
            }
        });
    }

    private void verifyItem(DiskKey key, byte[] b, int off, int len, byte[] buf) throws IOException {
        int sector = ctx.sectorsize;
        int sectors = len / csumSize;
        int done = 0;
        while (done < sectors) {
            long logical = key.offset() + (long) done * sector;
            ChunkMap.Mapping m = ctx.fs.chunkMap().find(logical);
            if (m == null) {
                ctx.problem(Areas.CSUM, "csums for logical " + Le.u64s(logical) + ", which no chunk maps");
                return;
            }
            // A read stays inside one chunk and one buffer.
            int n = (int) Math.min(Math.min(buf.length / sector, sectors - done), (m.end() - logical) / sector);
            if (n <= 0 || !readMirror(m, logical, buf, n * sector, 0)) {
                return;
            }
            for (int i = 0; i < n; i++) {
                int csumOff = off + (done + i) * csumSize;
                if (!matches(buf, i * sector, b, csumOff)) {
                    verifyOtherMirrors(m, logical + (long) i * sector, b, csumOff);
                }
            }
            ctx.counters.dataBytesVerified += (long) n * sector;
            done += n;
        }
    }

    private boolean matches(byte[] data, int dataOff, byte[] csums, int csumOff) {
        ctx.fs.csumType().compute(data, dataOff, ctx.sectorsize, scratch, 0);
        return Arrays.equals(scratch, 0, csumSize, csums, csumOff, csumOff + csumSize);
    }

    /** A sector that failed on the first copy: good if any other copy matches. */
    private void verifyOtherMirrors(ChunkMap.Mapping m, long logical, byte[] csums, int csumOff) throws IOException {
        byte[] one = new byte[ctx.sectorsize];
        for (int mirror = 1; mirror < m.mirrors(); mirror++) {
            if (readMirror(m, logical, one, one.length, mirror) && matches(one, 0, csums, csumOff)) {
                return;
            }
        }
        byte[] got = new byte[CsumType.CSUM_FIELD_SIZE];
        readMirror(m, logical, one, one.length, 0);
        ctx.fs.csumType().compute(one, 0, one.length, got, 0);
        ctx.problem(Areas.CSUM, "data at logical " + Le.u64s(logical) + " has checksum " + ctx.fs.csumType().hex(got, 0)
                + ", expect " + ctx.fs.csumType().hex(csums, csumOff) + (m.mirrors() > 1 ? " (on every copy)" : ""));
    }

    private boolean readMirror(ChunkMap.Mapping m, long logical, byte[] dst, int len, int mirror) throws IOException {
        long physical = m.stripes().get(mirror).offset() + (logical - m.logical());
        try {
            ctx.fs.device().read(physical, dst, 0, len);
            return true;
        } catch (EOFException | CorruptImageException e) {
            ctx.problem(Areas.CSUM, "data at logical " + Le.u64s(logical) + " (mirror " + (mirror + 1) + ") cannot be read: "
                    + CheckContext.oneLine(e));
            return false;
        }
    }
}
