package org.jbtrfs.device;

import java.io.Closeable;
import java.io.IOException;

/**
 * The one device a filesystem lives on, addressed by physical byte offset. The engine reads and
 * writes through this interface only, so tests can put an in-memory device with faults under it
 * ({@link MemoryBlockDevice}) and production a file or block device ({@link FileBlockDevice}).
 */
public interface BlockDevice extends Closeable {
    /** Size in bytes. */
    long size() throws IOException;

    /**
     * Reads exactly {@code len} bytes at {@code physical} into {@code dst[off..]}; reading past the
     * end is an error naming the offset (a truncated image), never a short read.
     */
    void read(long physical, byte[] dst, int off, int len) throws IOException;

    void write(long physical, byte[] src, int off, int len) throws IOException;

    /** Makes every completed write durable (fdatasync). */
    void flush() throws IOException;

    boolean isReadOnly();
}
