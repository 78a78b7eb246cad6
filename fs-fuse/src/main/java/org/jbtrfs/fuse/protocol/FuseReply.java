package org.jbtrfs.fuse.protocol;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The reply to the request a worker thread is serving: a {@code fuse_out_header} and the reply
 * struct, built in the thread's own buffer and written to /dev/fuse in one write(2).
 *
 * <p>Use: {@link #begin()} gives the buffer positioned after the header; put the reply struct (or
 * data) there and call {@link #send()}. Or {@link #error(int)}. Each request gets exactly one
 * reply (asserted), except FORGET, BATCH_FORGET and a found INTERRUPT, which get none
 * ({@link #none()}).
 */
public final class FuseReply {
    private final ByteBuffer buf;
    private final DevFuse dev;
    private final byte[] scratch;
    private long unique;
    private boolean done;

    FuseReply(DevFuse dev, int capacity, int scratchBytes) {
        this.dev = dev;
        this.buf = ByteBuffer.allocateDirect(capacity).order(ByteOrder.LITTLE_ENDIAN);
        this.scratch = new byte[scratchBytes];
    }

    void reset(long unique) {
        this.unique = unique;
        this.done = false;
    }

    boolean isDone() {
        return done;
    }

    /** Whether this request has had its reply. */
    public boolean isAnswered() {
        return done;
    }

    /** A byte array of the thread's own, as large as the largest read or write, for copying data. */
    public byte[] scratch() {
        return scratch;
    }

    /** The reply buffer, positioned after the header; its limit is its capacity. */
    public ByteBuffer begin() {
        buf.clear();
        buf.position(FuseAbi.OUT_HEADER_SIZE);
        return buf;
    }

    /** Room for reply bytes after the header. */
    public int capacity() {
        return buf.capacity() - FuseAbi.OUT_HEADER_SIZE;
    }

    /**
     * Sends the header and everything put since {@link #begin()}. Returns false when the kernel
     * did not take the reply (the request was interrupted and withdrawn meanwhile), so a reply
     * that counted a lookup can take it back.
     */
    public boolean send() {
        return finish(0, buf.position());
    }

    /** Sends an empty successful reply. */
    public void ok() {
        begin();
        send();
    }

    /** Sends an error reply: {@code errno} positive, as in errno.h. */
    public void error(int errno) {
        assert errno > 0 : "errno " + errno;
        finish(-errno, FuseAbi.OUT_HEADER_SIZE);
    }

    /** Marks a request that takes no reply (FORGET, BATCH_FORGET, a found INTERRUPT). */
    public void none() {
        assert !done : "request " + unique + " answered twice";
        done = true;
    }

    private boolean finish(int error, int len) {
        assert !done : "request " + unique + " answered twice";
        done = true;
        buf.putInt(0, len);
        buf.putInt(4, error);
        buf.putLong(8, unique);
        buf.clear();
        int rc = dev.write(buf, len);
        // ENOENT: the request was interrupted and the kernel has forgotten it: nobody waits for this reply.
        if (rc < 0 && rc != -DevFuse.ENOENT && !dev.isClosed()) {
            FuseSession.LOG.warning("reply to request " + unique + " not taken: " + DevFuse.strerror(-rc));
        }
        return rc == 0;
    }
}
