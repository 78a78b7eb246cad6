package org.jbtrfs.file;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.HashMap;
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
 * Inline ↔ regular conversions, with the extent layout and nbytes the kernel produces in the same
 * situations (seen with dump-tree on kernel-written images: inline nbytes = ram_bytes; an inline
 * file grown past the limit has a regular first sector; a shrinking truncate keeps a regular extent
 * of the aligned size).
 */
class InlineConversionTest {
    @TempDir
    Path tmp;

    private FsTrees trees;
    private FileWriter w;
    private TransHandle h;
    private final Map<Long, FileTestSupport.FileModel> models = new HashMap<>();
    private final Random rnd = new Random(7);
    private static final Timespec NOW = new Timespec(1_700_000_000L, 5);

    @Test
    void inlineAndRegularConvertBothWays() throws Exception {
        Path img = FileTestSupport.freshImage(tmp);
        Map<String, Long> inos = FileTestSupport.inodes(img);
        for (Map.Entry<String, Long> e : inos.entrySet()) {
            models.put(e.getValue(), new FileTestSupport.FileModel(FileTestSupport.initial(e.getKey())));
        }
        try (FsInfo fs = FsInfo.open(FileBlockDevice.open(img, false), FileTestSupport.verifying(false))) {
            trees = FsTrees.open(fs);
            w = new FileWriter(trees);
            h = trees.transactions().start();

            long e0 = inos.get("e0");
            write(e0, 0, 10);
            assertLayout(e0, "inline:10", 10);
            write(e0, 1000, 5);
            assertLayout(e0, "inline:1005", 1005);
            write(e0, 1000, 2000);
            assertLayout(e0, "0:reg:4096", 4096);

            long small = inos.get("small");
            write(small, 8192, 1);
            assertLayout(small, "0:reg:4096 8192:reg:4096", 8192);

            long e1 = inos.get("e1");
            write(e1, 0, 3000);
            truncate(e1, 10);
            assertLayout(e1, "0:reg:4096", 4096);
            write(e1, 5, 1);
            assertLayout(e1, "inline:10", 10);

            long e2 = inos.get("e2");
            write(e2, 0, 100);
            truncate(e2, 50);
            assertLayout(e2, "inline:50", 50);
            truncate(e2, 1500);
            assertLayout(e2, "inline:1500", 1500);
            truncate(e2, 5000);
            assertLayout(e2, "0:reg:4096", 4096);
            truncate(e2, 0);
            assertLayout(e2, "", 0);
            truncate(e2, 100_000);
            assertLayout(e2, "", 0);

            long mid = inos.get("mid");
            punch(mid, 100, 100);
            assertLayout(mid, "0:reg:4096", 4096);
            punch(mid, 0, 1 << 20);
            assertLayout(mid, "", 0);

            long e3 = inos.get("e3");
            write(e3, 0, 100);
            punch(e3, 10, 10);
            assertLayout(e3, "inline:100", 100);
            write(e3, 4096, 4096); // converts, then a second extent
            assertLayout(e3, "0:reg:4096 4096:reg:4096", 8192);
            truncate(e3, 4097); // zeroes the tail of sector 1, drops nothing else
            assertLayout(e3, "0:reg:4096 4096:reg:4096", 8192);
            truncate(e3, 9000); // grows: size only
            assertLayout(e3, "0:reg:4096 4096:reg:4096", 8192);

            trees.transactions().commit(h);
        }
        CheckAssertions.assertClean(img);
        for (Map.Entry<Long, FileTestSupport.FileModel> e : models.entrySet()) {
            assertArrayEquals(e.getValue().data, FileTestSupport.readCommitted(img, e.getKey()), "inode " + e.getKey());
        }
    }

    private void write(long ino, long pos, int len) throws Exception {
        byte[] b = new byte[len];
        rnd.nextBytes(b);
        w.write(h, ObjectIds.FS_TREE, ino, pos, b, 0, len, NOW);
        models.get(ino).write(pos, b, 0, len);
        assertArrayEquals(models.get(ino).data, FileTestSupport.readCurrent(trees, ino), "after write to " + ino);
    }

    private void truncate(long ino, long size) throws Exception {
        w.truncate(h, ObjectIds.FS_TREE, ino, size, NOW);
        models.get(ino).truncate(size);
        assertArrayEquals(models.get(ino).data, FileTestSupport.readCurrent(trees, ino), "after truncate of " + ino);
    }

    private void punch(long ino, long start, long len) throws Exception {
        w.punchHole(h, ObjectIds.FS_TREE, ino, start, len, NOW);
        models.get(ino).punch(start, len);
        assertArrayEquals(models.get(ino).data, FileTestSupport.readCurrent(trees, ino), "after punch of " + ino);
    }

    /** Layout as "offset:reg:num_bytes ..." or "inline:ram_bytes", and nbytes. */
    private void assertLayout(long ino, String expect, long nbytes) throws Exception {
        TreeMap<Long, FileExtentItem> ex = FileTestSupport.extents(trees, ino);
        StringBuilder sb = new StringBuilder();
        for (Map.Entry<Long, FileExtentItem> e : ex.entrySet()) {
            FileExtentItem fe = e.getValue();
            if (sb.length() > 0) {
                sb.append(' ');
            }
            if (fe.isInline()) {
                assertEquals(0L, e.getKey());
                assertEquals(fe.ramBytes(), fe.inlineData().length);
                sb.append("inline:").append(fe.ramBytes());
            } else {
                assertTrue(fe.diskBytenr() != 0, "no hole items on a NO_HOLES image");
                sb.append(e.getKey()).append(":reg:").append(fe.numBytes());
            }
        }
        assertEquals(expect, sb.toString(), "extents of inode " + ino);
        var inode = FileTestSupport.inodeNow(trees, ino);
        assertEquals(nbytes, inode.nbytes(), "nbytes of inode " + ino);
        assertEquals(models.get(ino).data.length, inode.size(), "size of inode " + ino);
        assertEquals(NOW, inode.mtime());
        assertEquals(h.transid(), inode.transid());
    }
}
