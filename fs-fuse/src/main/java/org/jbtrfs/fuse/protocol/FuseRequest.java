package org.jbtrfs.fuse.protocol;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * One request as read from /dev/fuse: the {@code fuse_in_header} fields (see {@link FuseAbi}) and
 * access to the argument bytes behind it. A worker thread owns one and reuses it for every
 * request it reads, so a handler must not keep it (or its buffer) past its reply.
 */
public final class FuseRequest {
    private final ByteBuffer buf;
    private int length;

    FuseRequest(int capacity) {
        this.buf = ByteBuffer.allocateDirect(capacity).order(ByteOrder.LITTLE_ENDIAN);
    }

    ByteBuffer buffer() {
        return buf;
    }

    /** Takes the request of {@code n} bytes just read into the buffer; false if it is too short to be one. */
    boolean load(int n) {
        length = n;
        return n >= FuseAbi.IN_HEADER_SIZE && buf.getInt(0) == n;
    }

    public int length() {
        return length;
    }

    public int opcode() {
        return buf.getInt(4);
    }

    public long unique() {
        return buf.getLong(8);
    }

    public long nodeid() {
        return buf.getLong(16);
    }

    public int uid() {
        return buf.getInt(24);
    }

    public int gid() {
        return buf.getInt(28);
    }

    public int pid() {
        return buf.getInt(32);
    }

    /** Bytes of arguments behind the header. */
    public int argLength() {
        return length - FuseAbi.IN_HEADER_SIZE;
    }

    private int at(int argOffset, int width) {
        if (argOffset < 0 || argOffset + width > argLength()) {
            throw new MalformedRequest(FuseAbi.opcodeName(opcode()) + " request of " + length
                    + " bytes has no field at argument offset " + argOffset);
        }
        return FuseAbi.IN_HEADER_SIZE + argOffset;
    }

    public int u32(int argOffset) {
        return buf.getInt(at(argOffset, 4));
    }

    public long u64(int argOffset) {
        return buf.getLong(at(argOffset, 8));
    }

    /** The NUL-terminated string that starts at {@code argOffset}, without the NUL. */
    public byte[] cstring(int argOffset) {
        int from = at(argOffset, 0);
        int end = from;
        while (end < length && buf.get(end) != 0) {
            end++;
        }
        if (end == length) {
            throw new MalformedRequest(FuseAbi.opcodeName(opcode()) + ": name at " + argOffset + " is not NUL-terminated");
        }
        byte[] out = new byte[end - from];
        buf.get(from, out);
        return out;
    }

    /** Copies {@code len} argument bytes from {@code argOffset} into {@code dst}. */
    public void copy(int argOffset, byte[] dst, int len) {
        buf.get(at(argOffset, len), dst, 0, len);
    }

    /** A request whose length does not fit its opcode's arguments: the kernel would never send it. */
    public static final class MalformedRequest extends RuntimeException {
        MalformedRequest(String message) {
            super(message);
        }
    }
}
