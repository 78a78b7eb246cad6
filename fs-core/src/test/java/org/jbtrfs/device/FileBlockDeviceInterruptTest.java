package org.jbtrfs.device;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.channels.ClosedChannelException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** An interrupt is a signal for the thread, never the end of the image or of its lock (a FileChannel would close itself). */
class FileBlockDeviceInterruptTest {
    @TempDir
    Path tmp;

    @Test
    void anInterruptedThreadStillReadsAndWritesAndKeepsItsInterrupt() throws Exception {
        Path f = tmp.resolve("dev.img");
        Files.write(f, new byte[1 << 20]);
        try (FileBlockDevice dev = FileBlockDevice.open(f, false)) {
            byte[] data = new byte[4096];
            new Random(1).nextBytes(data);
            Thread.currentThread().interrupt();
            dev.write(8192, data, 0, data.length);
            assertTrue(Thread.currentThread().isInterrupted(), "the interrupt stays pending for the caller");
            byte[] back = new byte[4096];
            dev.read(8192, back, 0, back.length);
            dev.flush();
            assertTrue(Thread.interrupted(), "still pending after read and flush (and now cleared)");
            assertArrayEquals(data, back);
        }
    }

    @Test
    void interruptsOfOtherThreadsInTheMiddleOfTheirIoDoNotBreakOurs() throws Exception {
        Path f = tmp.resolve("dev.img");
        Files.write(f, new byte[4 << 20]);
        // The image lock a daemon holds (fcntl): closing any descriptor of the file would drop it.
        try (java.nio.channels.FileChannel lockChannel = java.nio.channels.FileChannel.open(f,
                java.nio.file.StandardOpenOption.READ, java.nio.file.StandardOpenOption.WRITE);
                java.nio.channels.FileLock lock = lockChannel.lock();
                FileBlockDevice dev = FileBlockDevice.open(f, false)) {
            assertTrue(holdsPosixLock(f), "the lock is in /proc/locks");
            AtomicReference<Throwable> failure = new AtomicReference<>();
            CountDownLatch started = new CountDownLatch(2);
            Thread[] workers = new Thread[2];
            for (int w = 0; w < workers.length; w++) {
                int id = w;
                workers[w] = new Thread(() -> {
                    byte[] b = new byte[65536];
                    byte[] r = new byte[65536];
                    started.countDown();
                    try {
                        for (int i = 0; i < 400; i++) {
                            java.util.Arrays.fill(b, (byte) (i + id));
                            long at = (long) id * (2 << 20) + (i % 16) * 65536L;
                            dev.write(at, b, 0, b.length);
                            dev.read(at, r, 0, r.length);
                            if (!java.util.Arrays.equals(b, r)) {
                                throw new AssertionError("worker " + id + " read back other bytes at " + at);
                            }
                        }
                    } catch (Throwable t) {
                        failure.compareAndSet(null, t);
                    }
                });
                workers[w].start();
            }
            started.await();
            // Interrupt worker 0 over and over while both do IO: each interrupt that lands inside a
            // channel call closes the shared channel for both.
            while (workers[0].isAlive()) {
                workers[0].interrupt();
                Thread.onSpinWait();
            }
            workers[1].join();
            if (failure.get() != null) {
                throw new AssertionError("IO failed under interrupts", failure.get());
            }
            byte[] r = new byte[16];
            dev.read(0, r, 0, r.length);
            assertTrue(holdsPosixLock(f), "no interrupt closed a descriptor of the image: the fcntl lock is still ours");
        }
        FileBlockDevice closed = FileBlockDevice.open(f, true);
        closed.close();
        assertThrows(ClosedChannelException.class, () -> closed.read(0, new byte[1], 0, 1), "close is final");
    }

    /** Whether this process holds a POSIX (fcntl) lock on {@code f}, as /proc/locks lists it. */
    private static boolean holdsPosixLock(Path f) throws java.io.IOException {
        Path locks = Path.of("/proc/locks");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.exists(locks), "skipped: no /proc/locks (not Linux)");
        long ino = (Long) Files.getAttribute(f, "unix:ino");
        String pid = Long.toString(ProcessHandle.current().pid());
        return Files.readAllLines(locks).stream().map(l -> l.trim().split("\\s+"))
                .anyMatch(w -> w.length > 5 && w[1].equals("POSIX") && w[4].equals(pid) && w[5].endsWith(":" + ino));
    }
}
