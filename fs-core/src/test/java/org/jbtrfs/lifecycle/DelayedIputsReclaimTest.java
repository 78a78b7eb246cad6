package org.jbtrfs.lifecycle;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.jbtrfs.Errno;
import org.jbtrfs.Filesystem;
import org.jbtrfs.FsException;
import org.jbtrfs.InodeId;
import org.jbtrfs.OpenOptions;
import org.jbtrfs.check.CheckAssertions;
import org.jbtrfs.mkfs.Mkfs;
import org.jbtrfs.mkfs.MkfsOptions;
import org.jbtrfs.race.RacePoint;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The space reclaimer's RUN_DELAYED_IPUTS stage (flush_space → btrfs_run_delayed_iputs): the space
 * of a file unlinked while open and then released is held until its delayed iput runs. With the
 * cleaner not yet at it (held before its mutex), a write that needs that space must get it from
 * the reclaimer — which runs the iput, then commits — instead of failing with ENOSPC.
 */
class DelayedIputsReclaimTest {
    @TempDir
    Path tmp;

    @AfterEach
    void disarm() {
        RacePoint.disarmAll();
    }

    @Test
    void aReservationOnAFullFilesystemRunsThePendingDelayedIput() throws Exception {
        Path img = tmp.resolve("iput.img");
        Mkfs.format(img, MkfsOptions.defaults(128L << 20));
        byte[] chunk = new byte[1 << 20];
        new Random(7).nextBytes(chunk);
        try (Filesystem fs = Filesystem.open(img, new OpenOptions(false, OpenOptions.DEFAULT_CACHE_LIMIT_BYTES, true))) {
            InodeId big = fs.create(fs.root(), "big", 0644, 0, 0);
            long written = 0;
            try {
                while (true) {
                    fs.write(big, written, chunk, 0, chunk.length);
                    written += chunk.length;
                }
            } catch (FsException e) {
                assertEquals(Errno.ENOSPC, e.errno(), e.getMessage());
            }
            assertTrue(written >= 32L << 20, "filled with " + written + " bytes");
            fs.sync();
            Cleaner cleaner = (Cleaner) LifecycleTest.field(fs, "cleaner");
            fs.open(big);
            fs.unlink(fs.root(), "big");
            try (RacePoint.Gate held = RacePoint.CLEANER_WOKEN.arm()) {
                fs.release(big); // the delayed iput; the cleaner wakes and is held before its mutex
                assertTrue(held.awaitHit(30, TimeUnit.SECONDS), "the cleaner was woken for the iput");
                assertEquals(1, cleaner.pending(), "the iput is pending, the cleaner idle");
                InodeId next = fs.create(fs.root(), "next", 0644, 0, 0);
                for (int i = 0; i < 16; i++) {
                    fs.write(next, (long) i * chunk.length, chunk, 0, chunk.length); // ENOSPC without the stage
                }
                assertEquals(0, cleaner.pending(), "the reclaimer ran the iput");
                assertFalse(cleaner.isBusy(), "and let the cleaner mutex go");
                byte[] back = new byte[chunk.length];
                fs.read(next, 15L * chunk.length, back, 0, back.length);
                assertArrayEquals(chunk, back);
            }
        }
        CheckAssertions.assertClean(img);
    }
}
