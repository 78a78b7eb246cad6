package org.jbtrfs.device;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A {@link BlockDevice} over an image file (or a block device node) through a FileChannel.
 *
 * <h2>Interrupts</h2>
 * A FileChannel is an InterruptibleChannel: a thread interrupted before or during an IO call
 * closes it — for every thread. In jbtrfs an interrupt is a signal for the waiting reservation
 * (seed 000), not a reason to lose the image, so each IO here runs with the caller's interrupt
 * status cleared and restored afterwards, and an IO cut short because another thread's interrupt
 * closed the channel reopens it and is repeated (positional reads and writes of the same bytes are
 * idempotent). Only {@link #close} really closes it.
 */
public final class FileBlockDevice implements BlockDevice {
    /** How often one IO may find the channel closed under it by interrupts before we give up. */
    static final int MAX_REOPENS = 16;

    private final Path path;
    private final boolean readOnly;
    private volatile FileChannel channel;
    private volatile boolean closed;

    private FileBlockDevice(Path path, FileChannel channel, boolean readOnly) {
        this.path = path;
        this.channel = channel;
        this.readOnly = readOnly;
    }

    public static FileBlockDevice open(Path path, boolean readOnly) throws IOException {
        return new FileBlockDevice(path, openChannel(path, readOnly), readOnly);
    }

    private static FileChannel openChannel(Path path, boolean readOnly) throws IOException {
        return readOnly ? FileChannel.open(path, StandardOpenOption.READ)
                : FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
    }

    /** One positional IO on the channel, immune to interrupts (see the class comment). */
    private interface Io<T> {
        T run(FileChannel ch) throws IOException;
    }

    private <T> T io(Io<T> op) throws IOException {
        boolean interrupted = Thread.interrupted();
        try {
            for (int attempt = 0; ; attempt++) {
                FileChannel ch = channel;
                try {
                    return op.run(ch);
                } catch (ClosedChannelException e) {
                    // ClosedByInterruptException, AsynchronousCloseException: an interrupt closed it, ours or another thread's.
                    if (Thread.interrupted()) {
                        interrupted = true;
                    }
                    if (closed || attempt >= MAX_REOPENS) {
                        throw closed ? new ClosedChannelException() : e;
                    }
                    reopen(ch);
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private synchronized void reopen(FileChannel broken) throws IOException {
        if (channel == broken && !closed) {
            channel = openChannel(path, readOnly);
        }
    }

    @Override
    public long size() throws IOException {
        return io(FileChannel::size);
    }

    @Override
    public void read(long physical, byte[] dst, int off, int len) throws IOException {
        io(ch -> {
            ByteBuffer bb = ByteBuffer.wrap(dst, off, len);
            long pos = physical;
            while (bb.hasRemaining()) {
                int n = ch.read(bb, pos);
                if (n < 0) {
                    throw new EOFException(path + ": read of " + len + " bytes at " + physical
                            + " goes past the end of the image (" + ch.size() + " bytes); is it truncated?");
                }
                pos += n;
            }
            return null;
        });
    }

    @Override
    public void write(long physical, byte[] src, int off, int len) throws IOException {
        if (readOnly) {
            throw new IOException(path + " is open read-only");
        }
        io(ch -> {
            ByteBuffer bb = ByteBuffer.wrap(src, off, len);
            long pos = physical;
            while (bb.hasRemaining()) {
                pos += ch.write(bb, pos);
            }
            return null;
        });
    }

    @Override
    public void flush() throws IOException {
        if (!readOnly) {
            io(ch -> {
                ch.force(false);
                return null;
            });
        }
    }

    @Override
    public boolean isReadOnly() {
        return readOnly;
    }

    @Override
    public synchronized void close() throws IOException {
        closed = true;
        channel.close();
    }

    @Override
    public String toString() {
        return path.toString();
    }
}
