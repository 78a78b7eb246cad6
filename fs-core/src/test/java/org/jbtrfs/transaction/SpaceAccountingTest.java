package org.jbtrfs.transaction;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Field;
import java.nio.file.Path;
import org.jbtrfs.Filesystem;
import org.jbtrfs.InodeId;
import org.jbtrfs.OpenOptions;
import org.jbtrfs.check.CheckAssertions;
import org.jbtrfs.extent.BlockGroup;
import org.jbtrfs.space.SpaceInfo;
import org.jbtrfs.space.SpaceType;
import org.jbtrfs.testing.KernelImages;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The space_info counters follow the block groups through real operations and commits, and a
 * reservation that is never released is caught at close.
 */
class SpaceAccountingTest {
    @TempDir
    Path tmp;

    static OpenOptions rw() {
        return new OpenOptions(false, OpenOptions.DEFAULT_CACHE_LIMIT_BYTES, true);
    }

    static FsTrees trees(Filesystem fs) throws Exception {
        Field f = Filesystem.class.getDeclaredField("trees");
        f.setAccessible(true);
        return (FsTrees) f.get(fs);
    }

    @Test
    void countersMatchTheBlockGroupsAfterEveryCommit() throws Exception {
        Assumptions.assumeTrue(CheckAssertions.haveBtrfsProgs(), "skipped: btrfs-progs is not installed");
        Path img = tmp.resolve("c.img");
        KernelImages.mkfs(img, 160L << 20, "-q", "-n", "4096");
        try (Filesystem fs = Filesystem.open(img, rw())) {
            FsTrees t = trees(fs);
            for (int round = 0; round < 4; round++) {
                InodeId d = fs.mkdir(fs.root(), "d" + round, 0755, 0, 0);
                for (int i = 0; i < 400; i++) {
                    fs.create(d, "file-" + i, 0644, 0, 0);
                }
                if (round > 0) {
                    for (int i = 0; i < 400; i += 2) {
                        fs.unlink(fs.resolve("/d" + (round - 1)), "file-" + i);
                    }
                }
                SpaceInfo meta = t.space().spaces().metadata();
                assertTrue(meta.counters().bytesReserved() > 0, "blocks COWed since the commit are reserved, not used yet");
                fs.sync();
                for (SpaceType type : SpaceType.values()) {
                    SpaceInfo.Counters s = t.space().spaces().get(type).counters();
                    long used = 0;
                    long total = 0;
                    for (BlockGroup bg : t.blockGroups().all()) {
                        if (SpaceType.ofFlags(bg.flags()) == type) {
                            used += bg.used();
                            total += bg.length();
                        }
                    }
                    assertEquals(total, s.totalBytes(), type + " total_bytes");
                    assertEquals(used, s.bytesUsed(), type + " bytes_used after commit " + round);
                    assertEquals(0, s.bytesReserved(), type + " bytes_reserved after commit " + round);
                    assertEquals(0, s.bytesPinned(), type + " bytes_pinned after commit " + round);
                }
                SpaceInfo.Counters m = t.space().spaces().metadata().counters();
                assertEquals(t.space().spaces().blockRsvs().globalRsv.reserved(), m.bytesMayUse(),
                        "only the global reserve is promised between operations");
            }
        }
        CheckAssertions.assertClean(img);
    }

    @Test
    void aReservationNeverReleasedIsReportedAtClose() throws Exception {
        Assumptions.assumeTrue(CheckAssertions.haveBtrfsProgs(), "skipped: btrfs-progs is not installed");
        Path img = tmp.resolve("leak.img");
        KernelImages.mkfs(img, 128L << 20, "-q");
        Filesystem fs = Filesystem.open(img, rw());
        fs.create(fs.root(), "f", 0644, 0, 0);
        SpaceAccounting.OpReservation forgotten = trees(fs).space().reserveOp(3, 4096);
        IllegalStateException e = assertThrows(IllegalStateException.class, fs::close);
        assertTrue(e.getMessage().contains("LEAK DATA bytes_may_use 4096"), e.getMessage());
        assertTrue(e.getMessage().contains("LEAK"), e.getMessage());
        forgotten.close();
        CheckAssertions.assertClean(img);
        try (Filesystem ro = Filesystem.open(img, OpenOptions.readOnlyDefaults())) {
            assertEquals(1, ro.list(ro.root()).size(), "the commit before the leak check kept the file");
        }
    }
}
