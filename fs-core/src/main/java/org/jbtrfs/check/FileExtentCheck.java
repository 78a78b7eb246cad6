package org.jbtrfs.check;

import java.io.IOException;
import java.util.function.Supplier;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.FileExtentItem;
import org.jbtrfs.format.InodeItem;
import org.jbtrfs.format.Le;

/**
 * One EXTENT_DATA item of the inode an {@link FsTreeCheck} is reading (process_file_extent() in
 * check/main.c, check_file_extent() and check_file_extent_inline() in check/mode-lowmem.c). See
 * invariants 6 and 7 of {@link FsTreeCheck}.
 */
final class FileExtentCheck {
    private FileExtentCheck() {
    }

    static void check(FsTreeCheck f, DiskKey key, byte[] b, int off, int len) throws IOException {
        CheckContext ctx = f.ctx();
        FileExtentItem fe = FileExtentItem.decode(b, off, len);
        long ino = f.ino();
        Supplier<String> where = () -> "inode " + Le.u64s(ino) + " EXTENT_DATA at " + Le.u64s(key.offset());
        long sector = ctx.sectorsize;
        if (Long.remainderUnsigned(key.offset(), sector) != 0) {
            ctx.problem(f.area(), where.get() + ": file offset is not aligned to " + sector);
        }
        if (Long.compareUnsigned(fe.generation(), ctx.superGeneration + 1) > 0) {
            ctx.problem(f.area(), where.get() + ": generation " + Le.u64s(fe.generation()) + " above the superblock's "
                    + Le.u64s(ctx.superGeneration));
        }
        if (fe.encryption() != 0 || fe.otherEncoding() != 0) {
            ctx.problem(f.area(), where.get() + ": encryption " + fe.encryption() + " / other_encoding " + fe.otherEncoding()
                    + ", expect 0");
        }
        long span;
        long bytes;
        if (fe.isInline()) {
            bytes = inline(f, fe, where);
            span = roundUp(bytes, sector);
        } else {
            span = fe.numBytes();
            bytes = regular(f, key, fe, where);
            if (fe.diskBytenr() != 0 && f.checkCsums()) {
                csums(f, fe, where);
            }
        }
        holesAndOverlap(f, key, where, span);
        long end = key.offset() + span;
        if (Long.compareUnsigned(end, key.offset()) < 0) {
            ctx.problem(f.area(), where.get() + ": length " + Le.u64s(span) + " overflows the file offset");
            end = -1L;
        }
        f.extentSeen(end, bytes);
    }

    /** Returns what the extent adds to nbytes (its ram_bytes). */
    private static long inline(FsTreeCheck f, FileExtentItem fe, Supplier<String> where) {
        CheckContext ctx = f.ctx();
        long ram = fe.ramBytes();
        int stored = fe.inlineData().length;
        if (ram == 0) {
            ctx.problem(f.area(), where.get() + ": empty inline extent");
        }
        if (fe.compression() != 0) {
            if (stored > f.maxInline() || Long.compareUnsigned(ram, ctx.sectorsize) > 0) {
                ctx.problem(f.area(), where.get() + ": compressed inline extent too large: " + stored
                        + " bytes stored, ram_bytes "
                        + Le.u64s(ram) + " (limits " + f.maxInline() + " and " + ctx.sectorsize + ")");
            }
        } else {
            if (Long.compareUnsigned(ram, f.maxInline()) > 0) {
                ctx.problem(f.area(), where.get() + ": inline extent of " + Le.u64s(ram) + " bytes, at most " + f.maxInline());
            }
            if (ram != stored) {
                ctx.problem(f.area(), where.get() + ": inline ram_bytes " + Le.u64s(ram) + ", but it holds " + stored
                        + " bytes");
            }
        }
        return ram;
    }

    /** Returns what the extent adds to nbytes: num_bytes when on disk, 0 for a hole. */
    private static long regular(FsTreeCheck f, DiskKey key, FileExtentItem fe, Supplier<String> where) {
        CheckContext ctx = f.ctx();
        long sector = ctx.sectorsize;
        long num = fe.numBytes();
        boolean prealloc = fe.type() == FileExtentItem.TYPE_PREALLOC;
        if (num == 0 || Long.remainderUnsigned(num, sector) != 0) {
            ctx.problem(f.area(), where.get() + ": num_bytes " + Le.u64s(num) + " is zero or not aligned to " + sector);
        }
        if (Long.compareUnsigned(num + fe.offset(), fe.ramBytes()) > 0 || Long.compareUnsigned(num + fe.offset(), num) < 0) {
            ctx.problem(f.area(), where.get() + ": offset " + Le.u64s(fe.offset()) + " + num_bytes " + Le.u64s(num)
                    + " exceeds ram_bytes " + Le.u64s(fe.ramBytes()));
        }
        if (prealloc && fe.compression() != 0) {
            ctx.problem(f.area(), where.get() + ": a PREALLOC extent cannot be compressed");
        }
        InodeItem inode = f.inode();
        boolean nodatasum = inode != null && (inode.flags() & InodeItem.FLAG_NODATASUM) != 0;
        if (fe.compression() != 0 && nodatasum) {
            ctx.problem(f.area(), where.get() + ": compressed, but the inode has NODATASUM");
        }
        if (fe.diskBytenr() == 0) {
            if (fe.diskNumBytes() != 0) {
                ctx.problem(f.area(), where.get() + ": a hole with disk_num_bytes " + Le.u64s(fe.diskNumBytes()));
            }
            return 0;
        }
        if (Long.remainderUnsigned(fe.diskBytenr(), sector) != 0 || fe.diskNumBytes() == 0
                || Long.remainderUnsigned(fe.diskNumBytes(), sector) != 0) {
            ctx.problem(f.area(), where.get() + ": disk_bytenr " + Le.u64s(fe.diskBytenr()) + " / disk_num_bytes "
                    + Le.u64s(fe.diskNumBytes()) + " not aligned to " + sector);
        }
        if (!prealloc && inode != null && inode.nlink() > 0) {
            long eof = roundUp(inode.size(), sector);
            if (Long.compareUnsigned(key.offset(), eof) >= 0) {
                ctx.problem(f.area(), where.get() + ": a regular extent at or past i_size " + Le.u64s(inode.size()));
            }
        }
        return num;
    }

    /** Data checksums of the range the extent uses (count_csum_range callers). */
    private static void csums(FsTreeCheck f, FileExtentItem fe, Supplier<String> where) throws IOException {
        CheckContext ctx = f.ctx();
        boolean compressed = fe.compression() != 0;
        long start = compressed ? fe.diskBytenr() : fe.diskBytenr() + fe.offset();
        long len = compressed ? fe.diskNumBytes() : fe.numBytes();
        long found = ctx.csumRanges.covered(start, len);
        InodeItem inode = f.inode();
        boolean nodatasum = inode != null && (inode.flags() & InodeItem.FLAG_NODATASUM) != 0;
        if (found > 0 && nodatasum) {
            ctx.problem(Areas.CSUM, f.area() + " " + where.get() + ": the inode has NODATASUM, but " + found
                    + " bytes of its data have csums");
        } else if (fe.type() == FileExtentItem.TYPE_REG && !nodatasum && found < len) {
            ctx.problem(Areas.CSUM, f.area() + " " + where.get() + ": csums missing for logical " + Le.u64s(start) + "+"
                    + Le.u64s(len) + ": have " + found + " bytes, expect " + Le.u64s(len));
        } else if (fe.type() == FileExtentItem.TYPE_PREALLOC && found > 0) {
            // Fine if the extent was written through another (regular) file extent; the extent pass knows.
            ctx.preallocWithCsums.add(fe.diskBytenr());
        }
    }

    private static void holesAndOverlap(FsTreeCheck f, DiskKey key, Supplier<String> where, long span) {
        CheckContext ctx = f.ctx();
        long pos = key.offset();
        InodeItem inode = f.inode();
        if (f.anyExtent() && Long.compareUnsigned(pos, f.extentEnd()) < 0) {
            ctx.problem(f.area(), where.get() + ": overlaps the previous file extent, which ends at " + Le.u64s(f.extentEnd()));
        }
        if (inode == null) {
            return;
        }
        long eof = roundUp(inode.size(), ctx.sectorsize);
        long expect = f.anyExtent() ? RangeList.min(f.extentEnd(), eof) : 0;
        if (!ctx.noHoles && Long.compareUnsigned(pos, inode.size()) < 0 && pos != expect) {
            ctx.problem(f.area(), where.get() + ": gap before it (previous extent ends at " + Le.u64s(expect)
                    + "); without NO_HOLES every gap below i_size needs a hole extent");
        }
    }

    static long roundUp(long v, long align) {
        long r = Long.remainderUnsigned(v, align);
        return r == 0 ? v : v + (align - r);
    }
}
