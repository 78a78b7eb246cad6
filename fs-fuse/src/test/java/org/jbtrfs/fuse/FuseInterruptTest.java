package org.jbtrfs.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.jbtrfs.check.CheckAssertions;
import org.jbtrfs.race.RacePoint;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Seed 000 through a real mount: a process waiting for space on a full filesystem is killed; the
 * kernel sends FUSE_INTERRUPT, the session interrupts the worker thread serving the process's
 * request, the worker's reservation ticket leaves the queue with EINTR, and nothing leaks (the
 * unmount's close would throw a LEAK otherwise).
 *
 * <p>The interleaving is forced, not timed: {@link RacePoint#TICKET_QUEUED} holds the worker right
 * after its ticket is queued (before it waits), and {@link RacePoint#RECLAIM_FLUSH} holds the
 * reclaimer before its first flush stage, so that no grant and no ENOSPC can decide the ticket
 * before the interrupted waiter checks it. The periodic commit is pushed out of the way
 * ({@code commit=600}) for the same reason.
 */
class FuseInterruptTest {
    @TempDir
    Path tmp;

    @AfterEach
    void disarm() {
        RacePoint.disarmAll();
    }

    @Test
    void sigkillOfAProcessWaitingForSpaceInterruptsItsRequest() throws Exception {
        FuseTesting.assumeFuse();
        Path img = FuseTesting.mkfs(tmp.resolve("full.img"), 128L << 20);
        Path mnt = tmp.resolve("mnt");
        FuseMount m = FuseTesting.mount(img, mnt, "commit=600");
        try (m) {
            Process dd;
            try (RacePoint.Gate queued = RacePoint.TICKET_QUEUED.arm();
                    RacePoint.Gate reclaim = RacePoint.RECLAIM_FLUSH.arm()) {
                dd = new ProcessBuilder("dd", "if=/dev/zero", "of=" + mnt.resolve("fill"), "bs=1M")
                        .redirectErrorStream(true).redirectOutput(new File("/dev/null")).start();
                assertTrue(queued.awaitHit(120, TimeUnit.SECONDS), "dd's writes filled the filesystem until one queued a ticket");
                String worker = queued.hitBy().getName();
                assertTrue(worker.startsWith("jbtrfs-fuse"), "the ticket is a FUSE worker's, not " + worker);
                long before = m.session().interruptsDelivered().get();
                dd.destroyForcibly(); // SIGKILL while its write waits for space
                assertTrue(m.session().interruptsDelivered().awaitAtLeast(before + 1, 60, TimeUnit.SECONDS),
                        "the kernel's INTERRUPT reached " + worker);
                queued.release(); // the worker goes on to wait, finds itself interrupted, drops its ticket
                assertTrue(m.adapter().interruptedReplies().awaitAtLeast(1, 60, TimeUnit.SECONDS),
                        "the killed process's write ended with EINTR");
            }
            assertTrue(dd.waitFor(60, TimeUnit.SECONDS), "dd is gone once its request was answered");
            // The filesystem is full but fine: free space and write again.
            Files.delete(mnt.resolve("fill"));
            FuseTesting.shOk(mnt, "sync; dd if=/dev/urandom of=after bs=1M count=8 status=none");
            assertEquals(8L << 20, Files.size(mnt.resolve("after")));
        }
        // The unmount closed the filesystem without a LEAK (it would have thrown): no bytes_may_use left.
        assertEquals(0, m.adapter().openHandles());
        CheckAssertions.assertClean(img);
    }
}
