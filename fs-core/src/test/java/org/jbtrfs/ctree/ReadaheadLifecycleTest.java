package org.jbtrfs.ctree;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.jbtrfs.Filesystem;
import org.jbtrfs.OpenOptions;
import org.jbtrfs.disk.FsInfo;
import org.jbtrfs.format.ObjectIds;
import org.jbtrfs.mkfs.Mkfs;
import org.jbtrfs.mkfs.MkfsOptions;
import org.jbtrfs.race.RacePoint;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Readahead belongs to its filesystem (issue 8): each open filesystem has its own workers, and
 * close stops them — after the reads queued or in flight end, before the device closes — so no
 * readahead runs after close. Interleavings are forced with race points, not sleeps: a readahead
 * read is held in flight ({@link RacePoint#READAHEAD_SUBMITTED}) while another thread closes.
 * With the stop removed from {@code FsInfo.close}, the close returns while the read is held (the
 * first assertion below fires); with a stop that does not wait, {@code Readahead.stop}'s assert
 * fires in the closing thread.
 */
class ReadaheadLifecycleTest {
    static final long WAIT_SECONDS = 30;
    /** Enough inodes in the top directory for the FS tree to have a node over several leaves. */
    static final int FILES = 600;

    @TempDir
    Path tmp;

    @AfterEach
    void disarm() {
        RacePoint.disarmAll();
    }

    private Path imageWithANode() throws Exception {
        Path img = tmp.resolve("ra.img");
        Mkfs.format(img, MkfsOptions.defaults(128L << 20));
        try (Filesystem fs = Filesystem.open(img, new OpenOptions(false, OpenOptions.DEFAULT_CACHE_LIMIT_BYTES, true))) {
            for (int i = 0; i < FILES; i++) {
                fs.create(fs.root(), "file-" + i, 0644, 0, 0);
            }
        }
        return img;
    }

    /** The first child of {@code node} that is neither cached nor in flight, from {@code from}. */
    private static int uncachedSlot(ExtentBuffer node, ExtentBufferCache cache, int from) {
        for (int slot = from; slot < node.nritems(); slot++) {
            if (cache.peek(node.blockptr(slot)) == null) {
                return slot;
            }
        }
        throw new AssertionError("every child of " + node + " is cached");
    }

    @Test
    void closeWaitsForTheReadaheadInFlightAndNoneRunsAfter() throws Exception {
        Path img = imageWithANode();
        Filesystem fs = Filesystem.open(img, new OpenOptions(true, OpenOptions.DEFAULT_CACHE_LIMIT_BYTES, true));
        FsInfo info = fs.fsInfo();
        TreeBlockReader reader = info.btree().reader();
        Readahead readahead = reader.ownReadahead();
        assertNotNull(readahead, "the filesystem's reader owns its readahead workers");
        ExtentBufferCache cache = reader.cache();
        ExtentBuffer node = info.btree().readRoot(info.treeRoot(ObjectIds.FS_TREE));
        try {
            assertTrue(node.level() >= 1, "the FS tree needs a node: " + node);
            int slot = uncachedSlot(node, cache, 0);
            long child = node.blockptr(slot);

            // 1. A readahead read in flight: buffer published under READAHEAD, read not done.
            RacePoint.Gate submitted = RacePoint.READAHEAD_SUBMITTED.arm();
            assertEquals(1, reader.readahead(node, slot, slot + 1));
            assertTrue(submitted.awaitHit(WAIT_SECONDS, TimeUnit.SECONDS), "the readahead never ran");
            Thread worker = submitted.hitBy();
            assertTrue(worker.getName().startsWith("jbtrfs-readahead-"), worker.getName());

            // 2. Close on another thread: it must reach the readahead stop and wait there.
            RacePoint.Gate stopping = RacePoint.READAHEAD_STOPPING.observe();
            AtomicReference<Throwable> closeError = new AtomicReference<>();
            Thread closer = new Thread(() -> {
                try {
                    fs.close();
                } catch (Throwable t) {
                    closeError.set(t);
                }
            }, "readahead-test-close");
            closer.start();
            long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
            while (!stopping.awaitHit(10, TimeUnit.MILLISECONDS)) {
                assertTrue(closer.isAlive(), "close returned, device closed, while a readahead read was in flight: "
                        + closeError.get());
                assertTrue(System.nanoTime() < deadlineNs, "close never stopped the readahead");
            }
            assertTrue(worker.isAlive() && cache.peek(child).isUnderReadahead(), "the read is still held");

            // 3. The read ends; close returns only after it, and no readahead thread is left.
            submitted.release();
            closer.join(TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
            assertFalse(closer.isAlive(), "close did not return");
            assertNull(closeError.get(), () -> "close failed: " + closeError.get());
            assertFalse(worker.isAlive(), "a readahead thread outlived close");
            assertEquals(0, readahead.threadsAlive());
            ExtentBuffer ra = cache.peek(child);
            assertNotNull(ra, "the read failed: it ran after the device closed");
            assertTrue(ra.isUptodate() && !ra.isUnderIo(), ra.toString());

            // 4. After close a readahead request starts nothing and leaves nothing cached.
            int other = uncachedSlot(node, cache, slot + 1);
            assertEquals(0, reader.readahead(node, other, other + 1));
            assertNull(cache.peek(node.blockptr(other)), "an abandoned readahead left its buffer");
            assertEquals(0, readahead.threadsAlive());
        } finally {
            node.release();
            RacePoint.disarmAll();
        }
        assertEquals(0, cache.usersHeld());
    }

    @Test
    void eachFilesystemHasItsOwnWorkersAndAWritableCloseStopsThem() throws Exception {
        Path img = imageWithANode();
        OpenOptions rw = new OpenOptions(false, OpenOptions.DEFAULT_CACHE_LIMIT_BYTES, true);
        Filesystem a = Filesystem.open(img, new OpenOptions(true, OpenOptions.DEFAULT_CACHE_LIMIT_BYTES, true));
        Path copy = tmp.resolve("copy.img");
        java.nio.file.Files.copy(img, copy);
        Filesystem b = Filesystem.open(copy, rw);
        Readahead ra = a.fsInfo().btree().reader().ownReadahead();
        Readahead rb = b.fsInfo().btree().reader().ownReadahead();
        assertTrue(ra != null && rb != null && ra != rb, "one readahead per filesystem");
        // A full scan reads ahead (BTree.scan: the next leaves).
        for (Filesystem fs : new Filesystem[] {a, b}) {
            assertEquals(FILES + 2, fs.readdir(fs.root(), 0, 10_000).size(), "readdir sees every file and . ..");
        }
        b.close();
        assertTrue(rb.isStopped() && rb.threadsAlive() == 0, "a writable close stopped its readahead");
        assertFalse(ra.isStopped(), "closing one filesystem leaves another's readahead running");
        a.close();
        assertTrue(ra.isStopped() && ra.threadsAlive() == 0);
    }
}
