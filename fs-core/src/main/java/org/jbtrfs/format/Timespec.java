package org.jbtrfs.format;

/** struct btrfs_timespec (12 bytes): u64 sec at 0, u32 nsec at 8. Seconds are signed in practice. */
public record Timespec(long sec, int nsec) {
    public static final int SIZE = 12;
    public static final Timespec ZERO = new Timespec(0, 0);

    public static Timespec read(byte[] b, int off) {
        return new Timespec(Le.u64(b, off), (int) Le.u32(b, off + 8));
    }

    public void write(byte[] b, int off) {
        Le.putU64(b, off, sec);
        Le.putU32(b, off + 8, nsec & 0xffffffffL);
    }

    public static Timespec ofEpochNanos(long nanos) {
        return new Timespec(Math.floorDiv(nanos, 1_000_000_000L), (int) Math.floorMod(nanos, 1_000_000_000L));
    }

    public long toEpochNanos() {
        return sec * 1_000_000_000L + nsec;
    }

    @Override
    public String toString() {
        return sec + "." + String.format("%09d", nsec);
    }
}
