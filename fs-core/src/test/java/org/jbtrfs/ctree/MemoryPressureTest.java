package org.jbtrfs.ctree;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.jbtrfs.Filesystem;
import org.jbtrfs.InodeId;
import org.jbtrfs.OpenOptions;
import org.jbtrfs.mkfs.Mkfs;
import org.jbtrfs.mkfs.MkfsOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Heap pressure shrinks every open cache to half its limit; closed filesystems are forgotten. */
class MemoryPressureTest {
    @TempDir
    Path tmp;

    @Test
    void pressureShrinksOpenCachesAndCloseUnregisters() throws Exception {
        Path img = tmp.resolve("p.img");
        Mkfs.format(img, MkfsOptions.defaults(128L << 20).withNodesize(4096));
        long limit = 1L << 20;
        int before = MemoryPressure.registered();
        try (Filesystem fs = Filesystem.open(img, new OpenOptions(false, limit, false))) {
            assertEquals(before + 1, MemoryPressure.registered());
            InodeId d = fs.mkdir(fs.root(), "d", 0755, 0, 0);
            for (int i = 0; i < 3000; i++) {
                fs.create(d, "a-rather-long-file-name-to-fill-leaves-" + i, 0644, 0, 0);
            }
            fs.sync(); // clean blocks can go
            fs.list(d); // and are read back into the cache
            ExtentBufferCache cache = fs.fsInfo().btree().reader().cache();
            assertTrue(cache.bytesCached() > limit / 2, "the cache is fuller than half its limit: " + cache.bytesCached());
            MemoryPressure.relieve();
            assertTrue(cache.bytesCached() <= limit / 2 + 2 * 4096, "shrunk to half the limit: " + cache.bytesCached());
            assertEquals(3000, fs.list(d).size(), "readers go on after the sweep");
        }
        assertEquals(before, MemoryPressure.registered(), "close unregisters the cache");
    }
}
