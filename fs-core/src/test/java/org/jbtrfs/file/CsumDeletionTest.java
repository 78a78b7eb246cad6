package org.jbtrfs.file;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.jbtrfs.check.CheckAssertions;
import org.jbtrfs.device.FileBlockDevice;
import org.jbtrfs.disk.FsInfo;
import org.jbtrfs.format.FileExtentItem;
import org.jbtrfs.format.ObjectIds;
import org.jbtrfs.format.Timespec;
import org.jbtrfs.transaction.FsTrees;
import org.jbtrfs.transaction.TransHandle;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The csum tree holds exactly the checksums of live data extents: after every commit its ranges
 * equal the DATA extent items' ranges, through full overwrites (the old extent's csums go when its
 * last ref runs), overwrites within one transaction (allocated and freed before the refs ran),
 * partial overwrites (a split extent keeps all its csums until its last piece goes), a deletion in
 * the middle of a merged csum item (the item is split), and writes larger than one csum item.
 */
class CsumDeletionTest {
    @TempDir
    Path tmp;

    private static final Timespec NOW = new Timespec(1_700_000_100L, 0);
    private final Random rnd = new Random(11);

    @Test
    void csumTreeCoversExactlyTheLiveDataExtents() throws Exception {
        Path img = FileTestSupport.freshImage(tmp);
        Map<String, Long> inos = FileTestSupport.inodes(img);
        long a = inos.get("e0");
        long b = inos.get("e1");
        long c = inos.get("e2");
        long d = inos.get("e3");
        try (FsInfo fs = FsInfo.open(FileBlockDevice.open(img, false), FileTestSupport.verifying(false))) {
            FsTrees trees = FsTrees.open(fs);
            FileWriter w = new FileWriter(trees);
            int max = trees.csums().maxCsumsPerItem();

            // 1: three files written back to back land next to each other; their csums merge into one item.
            TransHandle h = trees.transactions().start();
            for (long ino : new long[] {a, b, c}) {
                write(w, h, ino, 0, 64 * 1024);
            }
            write(w, h, d, 0, (max + 100) * 4096); // needs two csum items
            long ba = onlyExtent(trees, a).diskBytenr();
            long bc = onlyExtent(trees, c).diskBytenr();
            assertEquals(ba + 128 * 1024, bc, "the allocator placed the three extents back to back");
            trees.transactions().commit(h);
            assertCsumsMatchExtents(trees, "after the first writes");
            TreeMap<Long, Long> csums = FileTestSupport.csumRanges(trees);
            assertTrue(covers(csums, ba, bc + 64 * 1024), "a, b, c csums are one range " + csums);

            // 2: overwrite b whole: its csums go from the middle of the merged item.
            h = trees.transactions().start();
            long oldB = onlyExtent(trees, b).diskBytenr();
            write(w, h, b, 0, 64 * 1024);
            trees.transactions().commit(h);
            assertCsumsMatchExtents(trees, "after overwriting b");
            csums = FileTestSupport.csumRanges(trees);
            assertFalse(anyIn(csums, oldB, oldB + 64 * 1024), "b's old csums are gone: " + csums);
            assertTrue(covers(csums, ba, ba + 64 * 1024) && covers(csums, bc, bc + 64 * 1024), "a and c keep theirs");

            // 3: write and overwrite within one transaction: the first extent never gets an extent item.
            h = trees.transactions().start();
            write(w, h, a, 0, 64 * 1024);
            long transient1 = onlyExtent(trees, a).diskBytenr();
            write(w, h, a, 0, 64 * 1024);
            trees.transactions().commit(h);
            assertCsumsMatchExtents(trees, "after a write overwritten in its own transaction");
            assertFalse(anyIn(FileTestSupport.csumRanges(trees), transient1, transient1 + 64 * 1024));

            // 4: partial overwrites split c's extent; it keeps all its csums while any piece is referenced.
            h = trees.transactions().start();
            long oldC = onlyExtent(trees, c).diskBytenr();
            write(w, h, c, 8192, 4096);
            write(w, h, c, 20000, 100);
            trees.transactions().commit(h);
            assertCsumsMatchExtents(trees, "after splitting c");
            assertTrue(covers(FileTestSupport.csumRanges(trees), oldC, oldC + 64 * 1024), "split extent keeps its csums");
            h = trees.transactions().start();
            write(w, h, c, 0, 64 * 1024);
            trees.transactions().commit(h);
            assertCsumsMatchExtents(trees, "after overwriting all of c");
            assertFalse(anyIn(FileTestSupport.csumRanges(trees), oldC, oldC + 64 * 1024));

            // 5: truncate and punch free extents too; dropAllExtents frees the big one.
            h = trees.transactions().start();
            w.truncate(h, ObjectIds.FS_TREE, a, 0, NOW);
            w.punchHole(h, ObjectIds.FS_TREE, c, 0, 1 << 20, NOW);
            w.dropAllExtents(h, ObjectIds.FS_TREE, d);
            w.truncate(h, ObjectIds.FS_TREE, d, 0, NOW);
            trees.transactions().commit(h);
            assertCsumsMatchExtents(trees, "after truncate, punch and dropAllExtents");
            assertEquals(0, FileTestSupport.extents(trees, d).size());
        }
        CheckAssertions.assertClean(img);
    }

    private void write(FileWriter w, TransHandle h, long ino, long pos, int len) throws Exception {
        byte[] buf = new byte[len];
        rnd.nextBytes(buf);
        w.write(h, ObjectIds.FS_TREE, ino, pos, buf, 0, len, NOW);
    }

    private static FileExtentItem onlyExtent(FsTrees trees, long ino) throws Exception {
        TreeMap<Long, FileExtentItem> ex = FileTestSupport.extents(trees, ino);
        assertEquals(1, ex.size(), "extents of " + ino + ": " + ex);
        return ex.firstEntry().getValue();
    }

    private static void assertCsumsMatchExtents(FsTrees trees, String when) throws Exception {
        assertEquals(FileTestSupport.dataExtentRanges(trees), FileTestSupport.csumRanges(trees),
                when + ": csum ranges vs data extent ranges");
    }

    private static boolean covers(TreeMap<Long, Long> ranges, long s, long e) {
        Map.Entry<Long, Long> r = ranges.floorEntry(s);
        return r != null && r.getValue() >= e;
    }

    private static boolean anyIn(TreeMap<Long, Long> ranges, long s, long e) {
        Map.Entry<Long, Long> r = ranges.lowerEntry(e);
        return r != null && r.getValue() > s;
    }
}
