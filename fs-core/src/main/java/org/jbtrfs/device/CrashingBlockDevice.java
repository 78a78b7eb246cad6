package org.jbtrfs.device;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A device for crash tests (FilePathReorderWrites in H2, storage.zig's crash in TigerBeetle): it
 * passes writes through to an in-memory view the engine sees, and separately keeps what a disk
 * would have kept if power failed after write number {@code crashAfter}.
 *
 * <p>The disk model: a flush makes every earlier write durable; writes since the last flush are
 * durable or lost independently (a disk reorders freely between flushes). At the crash, each
 * unflushed write issued before it survives with probability one half (seeded); nothing after it
 * survives. {@link #crashImage()} is that disk.
 */
public final class CrashingBlockDevice implements BlockDevice {
    private record Write(long physical, byte[] data) {
    }

    private final MemoryBlockDevice live;
    private final byte[] durable;
    private final long crashAfter;
    private final Random rnd;
    private final List<Write> unflushed = new ArrayList<>();
    private long writes;
    private boolean crashed;

    /** Starts from a copy of {@code image}; writes after number {@code crashAfter} never reach the disk. */
    public CrashingBlockDevice(byte[] image, long crashAfter, long seed) {
        this.live = new MemoryBlockDevice(image.clone(), false);
        this.durable = image.clone();
        this.crashAfter = crashAfter;
        this.rnd = new Random(seed);
    }

    @Override
    public long size() {
        return live.size();
    }

    @Override
    public void read(long physical, byte[] dst, int off, int len) throws IOException {
        live.read(physical, dst, off, len);
    }

    @Override
    public synchronized void write(long physical, byte[] src, int off, int len) throws IOException {
        live.write(physical, src, off, len);
        writes++;
        if (writes > crashAfter) {
            crash();
            return;
        }
        byte[] copy = new byte[len];
        System.arraycopy(src, off, copy, 0, len);
        unflushed.add(new Write(physical, copy));
    }

    @Override
    public synchronized void flush() {
        if (crashed) {
            return;
        }
        for (Write w : unflushed) {
            System.arraycopy(w.data(), 0, durable, (int) w.physical(), w.data().length);
        }
        unflushed.clear();
    }

    private void crash() {
        if (crashed) {
            return;
        }
        crashed = true;
        for (Write w : unflushed) {
            if (rnd.nextBoolean()) {
                System.arraycopy(w.data(), 0, durable, (int) w.physical(), w.data().length);
            }
        }
        unflushed.clear();
    }

    /** Writes issued so far. */
    public synchronized long writes() {
        return writes;
    }

    /** The disk after power failed at the crash point (or now, if it has not come yet). */
    public synchronized byte[] crashImage() {
        crash();
        return durable.clone();
    }

    @Override
    public boolean isReadOnly() {
        return false;
    }

    @Override
    public void close() {
    }
}
