package org.jbtrfs.device;

import java.io.EOFException;
import java.io.IOException;

/**
 * An in-memory {@link BlockDevice} for tests: the whole device is one byte array. Later issues
 * add seeded faults and a crash that drops writes since the last flush.
 */
public final class MemoryBlockDevice implements BlockDevice {
    private final byte[] data;
    private final boolean readOnly;

    public MemoryBlockDevice(byte[] data, boolean readOnly) {
        this.data = data;
        this.readOnly = readOnly;
    }

    public byte[] bytes() {
        return data;
    }

    @Override
    public long size() {
        return data.length;
    }

    @Override
    public void read(long physical, byte[] dst, int off, int len) throws IOException {
        if (physical < 0 || physical + len > data.length) {
            throw new EOFException("read of " + len + " bytes at " + physical + " goes past the end of the device ("
                    + data.length + " bytes)");
        }
        System.arraycopy(data, (int) physical, dst, off, len);
    }

    @Override
    public void write(long physical, byte[] src, int off, int len) throws IOException {
        if (readOnly) {
            throw new IOException("device is read-only");
        }
        if (physical < 0 || physical + len > data.length) {
            throw new EOFException("write of " + len + " bytes at " + physical + " goes past the end of the device");
        }
        System.arraycopy(src, off, data, (int) physical, len);
    }

    @Override
    public void flush() {
    }

    @Override
    public boolean isReadOnly() {
        return readOnly;
    }

    @Override
    public void close() {
    }

    @Override
    public String toString() {
        return "memory device of " + data.length + " bytes";
    }
}
