package org.jbtrfs.file;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import org.jbtrfs.check.CheckAssertions;
import org.jbtrfs.device.FileBlockDevice;
import org.jbtrfs.disk.FsInfo;
import org.jbtrfs.format.ObjectIds;
import org.jbtrfs.format.Timespec;
import org.jbtrfs.testing.KernelImages;
import org.jbtrfs.transaction.FsTrees;
import org.jbtrfs.transaction.TransHandle;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The kernel's shrinking truncate trims the extent to whole sectors and leaves the old bytes past
 * the new i_size in the last sector on disk (dump-tree shows the extent unchanged but num_bytes).
 * Growing such a file — truncate up, or a write that starts in a later sector — must not expose
 * them: the old last sector is rewritten with zeros past the old size first.
 */
class StaleTailTest {
    @TempDir
    Path tmp;

    @Test
    void growingAKernelTruncatedFileReadsZerosPastTheOldSize() throws Exception {
        Path img = FileTestSupport.freshImage(tmp);
        Map<String, Long> inos = FileTestSupport.inodes(img);
        byte[] data = new byte[321_003];
        new Random(5).nextBytes(data);
        try (KernelImages.LoopMount m = KernelImages.mount(img, tmp.resolve("mnt"), null)) {
            for (String name : new String[] {"e0", "e1"}) {
                try (RandomAccessFile f = new RandomAccessFile(m.path(name).toFile(), "rw")) {
                    f.write(data);
                    f.getFD().sync();
                    f.setLength(107_001); // mid-sector: the tail stays on disk
                }
            }
        }
        byte[] grown = Arrays.copyOf(Arrays.copyOf(data, 107_001), 150_000);
        byte[] written = Arrays.copyOf(Arrays.copyOf(data, 107_001), 200_010);
        Arrays.fill(written, 200_000, 200_010, (byte) 7);
        try (FsInfo fs = FsInfo.open(FileBlockDevice.open(img, false), FileTestSupport.verifying(true))) {
            FsTrees trees = FsTrees.open(fs);
            FileWriter w = new FileWriter(trees);
            TransHandle h = trees.transactions().start();
            Timespec now = new Timespec(1_700_000_300L, 0);
            w.truncate(h, ObjectIds.FS_TREE, inos.get("e0"), 150_000, now);
            byte[] sevens = new byte[10];
            Arrays.fill(sevens, (byte) 7);
            w.write(h, ObjectIds.FS_TREE, inos.get("e1"), 200_000, sevens, 0, 10, now);
            assertArrayEquals(grown, FileTestSupport.readCurrent(trees, inos.get("e0")));
            assertArrayEquals(written, FileTestSupport.readCurrent(trees, inos.get("e1")));
            trees.transactions().commit(h);
        }
        CheckAssertions.assertClean(img);
        assertArrayEquals(grown, FileTestSupport.readCommitted(img, inos.get("e0")));
        assertArrayEquals(written, FileTestSupport.readCommitted(img, inos.get("e1")));
        try (KernelImages.LoopMount m = KernelImages.mount(img, tmp.resolve("mnt"), "ro")) {
            assertArrayEquals(grown, java.nio.file.Files.readAllBytes(m.path("e0")));
            assertArrayEquals(written, java.nio.file.Files.readAllBytes(m.path("e1")));
        }
    }
}
