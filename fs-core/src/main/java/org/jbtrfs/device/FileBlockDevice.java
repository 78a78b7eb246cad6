package org.jbtrfs.device;

import java.io.EOFException;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.channels.ClosedChannelException;
import java.nio.file.Path;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A {@link BlockDevice} over an image file (or a block device node).
 *
 * <h2>Interrupts</h2>
 * In jbtrfs an interrupt is a signal for a waiting reservation (seed 000; a FUSE INTERRUPT
 * interrupts the worker serving the killed process), never a reason to lose the image. A
 * FileChannel would not do: it is an InterruptibleChannel, and an interrupt landing in any
 * thread's IO closes it for every thread — and closing any descriptor of the image drops the
 * process's fcntl lock on it, the lock that keeps a second mount away. So IO goes through
 * {@link RandomAccessFile}s, whose reads and writes ignore interrupts: a few descriptors, each used
 * under its own lock (seek then read or write), picked by thread so that threads rarely wait for
 * one another. They are closed only by {@link #close}. A caller's interrupt status is left alone.
 */
public final class FileBlockDevice implements BlockDevice {
    /** Descriptors of the image: IO from this many threads can run at once. */
    static final int DESCRIPTORS = 4;

    private final Path path;
    private final boolean readOnly;
    private final RandomAccessFile[] files;
    /** files[i] is used only under locks[i] (its file pointer is shared state). */
    private final ReentrantLock[] locks;
    private volatile boolean closed;

    private FileBlockDevice(Path path, RandomAccessFile[] files, boolean readOnly) {
        this.path = path;
        this.files = files;
        this.readOnly = readOnly;
        this.locks = new ReentrantLock[files.length];
        for (int i = 0; i < locks.length; i++) {
            locks[i] = new ReentrantLock();
        }
    }

    public static FileBlockDevice open(Path path, boolean readOnly) throws IOException {
        RandomAccessFile[] files = new RandomAccessFile[DESCRIPTORS];
        try {
            for (int i = 0; i < files.length; i++) {
                files[i] = new RandomAccessFile(path.toFile(), readOnly ? "r" : "rw");
            }
        } catch (IOException e) {
            for (RandomAccessFile f : files) {
                if (f != null) {
                    f.close();
                }
            }
            throw e;
        }
        return new FileBlockDevice(path, files, readOnly);
    }

    /** One IO on this thread's descriptor, under its lock. */
    private interface Io<T> {
        T run(RandomAccessFile f) throws IOException;
    }

    private <T> T io(Io<T> op) throws IOException {
        int i = (int) (Thread.currentThread().getId() % files.length);
        ReentrantLock l = locks[i];
        l.lock(); // not lockInterruptibly: an interrupt must not fail the IO
        try {
            if (closed) {
                throw new ClosedChannelException();
            }
            return op.run(files[i]);
        } finally {
            l.unlock();
        }
    }

    @Override
    public long size() throws IOException {
        return io(RandomAccessFile::length);
    }

    @Override
    public void read(long physical, byte[] dst, int off, int len) throws IOException {
        io(f -> {
            f.seek(physical);
            int done = 0;
            while (done < len) {
                int n = f.read(dst, off + done, len - done);
                if (n < 0) {
                    throw new EOFException(path + ": read of " + len + " bytes at " + physical
                            + " goes past the end of the image (" + f.length() + " bytes); is it truncated?");
                }
                done += n;
            }
            return null;
        });
    }

    @Override
    public void write(long physical, byte[] src, int off, int len) throws IOException {
        if (readOnly) {
            throw new IOException(path + " is open read-only");
        }
        io(f -> {
            f.seek(physical);
            f.write(src, off, len);
            return null;
        });
    }

    /** fsync of one descriptor flushes the file's writes made through all of them. */
    @Override
    public void flush() throws IOException {
        if (!readOnly) {
            io(f -> {
                f.getFD().sync();
                return null;
            });
        }
    }

    @Override
    public boolean isReadOnly() {
        return readOnly;
    }

    @Override
    public void close() throws IOException {
        closed = true;
        IOException first = null;
        for (int i = 0; i < files.length; i++) {
            locks[i].lock(); // after the IO in flight on it
            try {
                files[i].close();
            } catch (IOException e) {
                first = first == null ? e : first;
            } finally {
                locks[i].unlock();
            }
        }
        if (first != null) {
            throw first;
        }
    }

    @Override
    public String toString() {
        return path.toString();
    }
}
