package org.jbtrfs.ctree;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.jbtrfs.race.RacePoint;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Seed 004 (shared/seeds/004_7fe75ed26e782a5e.txt, "fix fatal extent_buffer readahead vs
 * releasepage race"): readahead submitted the read of a tree block and dropped its own reference,
 * so while the IO was in flight only the cache's reference (TREE_REF) kept the buffer; page
 * release then freed the buffer, and the IO completed into freed memory. The rule: a buffer under
 * read, readahead or writeback (or dirty) is never released from the cache, and IO starts and ends
 * only on a buffer that holds TREE_REF.
 *
 * <p>The interleaving is forced with race points, never with sleeps: the readahead task is held
 * with its buffer published and its read not yet done ({@link RacePoint#READAHEAD_SUBMITTED});
 * an eviction sweep on another thread is held at that very buffer
 * ({@link RacePoint#EVICT_BEFORE_RELEASE}) and then let go; only then does the read complete.
 * With the fix removed (eviction checking users and dirty but not IO), the sweep drops the
 * buffer and the read's completion fails {@code ExtentBuffer.endRead}'s TREE_REF assert.
 */
class Seed004Test {
    static final long WAIT_SECONDS = 30;

    @AfterEach
    void disarm() {
        RacePoint.disarmAll();
    }

    @Test
    void evictionDoesNotReleaseABufferWhoseReadaheadIsInFlight() throws Exception {
        ReadImage img = ReadImage.build(4096, 3000, 4);
        List<Throwable> readaheadErrors = new CopyOnWriteArrayList<>();
        ExecutorService pool = Executors.newSingleThreadExecutor(r -> new Thread(r, "seed004-readahead"));
        // Errors are recorded inside the task, so they are in the list before the pool terminates.
        Executor recording = task -> pool.execute(() -> {
            try {
                task.run();
            } catch (Throwable t) {
                readaheadErrors.add(t);
            }
        });
        try {
            BTree bt = img.reader(ExtentBufferCache.MIN_LIMIT_BYTES, recording);
            ExtentBufferCache cache = bt.reader().cache();
            ExtentBuffer node = bt.readRoot(img.root);
            assertTrue(node.level() >= 1, "the tree needs a node: " + node);
            long child = node.blockptr(1);

            // 1. Readahead of the node's second child: buffer published, read not done yet.
            RacePoint.Gate submitted = RacePoint.READAHEAD_SUBMITTED.arm();
            assertEquals(1, bt.reader().readahead(node, 1, 2));
            assertTrue(submitted.awaitHit(WAIT_SECONDS, TimeUnit.SECONDS), "the readahead never ran");
            ExtentBuffer ra = cache.peek(child);
            assertTrue(ra.isUnderReadahead() && ra.inCache() && !ra.isUptodate(), ra.toString());
            assertEquals(0, ra.users(), "readahead holds no user reference: only TREE_REF and its IO keep it");

            // 2. An eviction sweep (everything it can) picks that buffer: the node is recently
            //    used and skipped on the first pass, so the first candidate is the readahead's.
            Thread evictor = new Thread(() -> cache.shrink(0), "seed004-evictor");
            RacePoint.Gate evict = RacePoint.EVICT_BEFORE_RELEASE.arm(evictor);
            evictor.start();
            assertTrue(evict.awaitHit(WAIT_SECONDS, TimeUnit.SECONDS), "eviction never reached a candidate");
            assertTrue(ra.isUnderReadahead(), "the read is still in flight while eviction holds the buffer");
            evict.release();
            evictor.join(TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
            assertFalse(evictor.isAlive());

            // 3. The read completes: into a live buffer (the IO-end assert of the protocol), the
            //    buffer stays cached, and a reader gets it without a second read.
            submitted.release();
            pool.shutdown();
            assertTrue(pool.awaitTermination(WAIT_SECONDS, TimeUnit.SECONDS));
            assertEquals(List.of(), readaheadErrors, "the readahead's IO completion");
            assertEquals(0, cache.evictions(), "nothing was evictable");
            assertSame(ra, cache.peek(child), "eviction released a buffer under readahead (seed 004)");
            assertTrue(ra.inCache() && ra.isUptodate() && !ra.isUnderIo(), ra.toString());
            ExtentBuffer got = bt.reader().read(child, TreeBlockReader.Expect.child(node, 1));
            assertSame(ra, got, "the reader shares the readahead's buffer");
            assertArrayEquals(img.onDisk(child), got.data(), "the reader gets the block's bytes");
            assertEquals(2, cache.reads(), "one read for the node, one for the child");
            got.release();
            node.release();
            assertEquals(0, cache.usersHeld());
        } finally {
            RacePoint.disarmAll();
            pool.shutdownNow();
        }
    }
}
