package org.jbtrfs.device;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** A {@link BlockDevice} over an image file (or a block device node) through a FileChannel. */
public final class FileBlockDevice implements BlockDevice {
    private final Path path;
    private final FileChannel channel;
    private final boolean readOnly;

    private FileBlockDevice(Path path, FileChannel channel, boolean readOnly) {
        this.path = path;
        this.channel = channel;
        this.readOnly = readOnly;
    }

    public static FileBlockDevice open(Path path, boolean readOnly) throws IOException {
        FileChannel ch = readOnly ? FileChannel.open(path, StandardOpenOption.READ)
                : FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
        return new FileBlockDevice(path, ch, readOnly);
    }

    @Override
    public long size() throws IOException {
        return channel.size();
    }

    @Override
    public void read(long physical, byte[] dst, int off, int len) throws IOException {
        ByteBuffer bb = ByteBuffer.wrap(dst, off, len);
        long pos = physical;
        while (bb.hasRemaining()) {
            int n = channel.read(bb, pos);
            if (n < 0) {
                throw new EOFException(path + ": read of " + len + " bytes at " + physical
                        + " goes past the end of the image (" + channel.size() + " bytes); is it truncated?");
            }
            pos += n;
        }
    }

    @Override
    public void write(long physical, byte[] src, int off, int len) throws IOException {
        if (readOnly) {
            throw new IOException(path + " is open read-only");
        }
        ByteBuffer bb = ByteBuffer.wrap(src, off, len);
        long pos = physical;
        while (bb.hasRemaining()) {
            pos += channel.write(bb, pos);
        }
    }

    @Override
    public void flush() throws IOException {
        if (!readOnly) {
            channel.force(false);
        }
    }

    @Override
    public boolean isReadOnly() {
        return readOnly;
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }

    @Override
    public String toString() {
        return path.toString();
    }
}
