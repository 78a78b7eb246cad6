package org.jbtrfs.format;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Little-endian reads and writes at absolute offsets of a byte array: every btrfs disk field is
 * little endian. u64 fields come back as a {@code long} that callers treat as unsigned
 * (compare with {@link Long#compareUnsigned}); u32 and u16 come back widened, so they are never
 * negative.
 */
public final class Le {
    private static final VarHandle U16 = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle U32 = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle U64 = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    private Le() {
    }

    public static int u8(byte[] b, int off) {
        return b[off] & 0xff;
    }

    public static int u16(byte[] b, int off) {
        return ((short) U16.get(b, off)) & 0xffff;
    }

    public static long u32(byte[] b, int off) {
        return ((int) U32.get(b, off)) & 0xffffffffL;
    }

    /** A u32 field that the format bounds well below 2^31 (sizes, counts); -1 when it is not. */
    public static int u32AsInt(byte[] b, int off) {
        int v = (int) U32.get(b, off);
        return v < 0 ? -1 : v;
    }

    public static long u64(byte[] b, int off) {
        return (long) U64.get(b, off);
    }

    public static void putU8(byte[] b, int off, int v) {
        assert (v & ~0xff) == 0 : "u8 out of range: " + v;
        b[off] = (byte) v;
    }

    public static void putU16(byte[] b, int off, int v) {
        assert (v & ~0xffff) == 0 : "u16 out of range: " + v;
        U16.set(b, off, (short) v);
    }

    public static void putU32(byte[] b, int off, long v) {
        assert (v & ~0xffffffffL) == 0 : "u32 out of range: " + v;
        U32.set(b, off, (int) v);
    }

    public static void putU64(byte[] b, int off, long v) {
        U64.set(b, off, v);
    }

    public static String u64s(long v) {
        return Long.toUnsignedString(v);
    }
}
