package org.jbtrfs.format;

import java.util.Arrays;

/** 16-byte UUIDs as btrfs stores them (byte order as printed), and their text form. */
public final class Uuids {
    public static final int SIZE = 16;

    private Uuids() {
    }

    public static byte[] read(byte[] b, int off) {
        return Arrays.copyOfRange(b, off, off + SIZE);
    }

    /** 8-4-4-4-12 lower-case hex, the way btrfs-progs and uuid_unparse print it. */
    public static String toString(byte[] u) {
        StringBuilder sb = new StringBuilder(36);
        for (int i = 0; i < SIZE; i++) {
            if (i == 4 || i == 6 || i == 8 || i == 10) {
                sb.append('-');
            }
            sb.append(String.format("%02x", u[i] & 0xff));
        }
        return sb.toString();
    }

    public static boolean isZero(byte[] u) {
        for (byte x : u) {
            if (x != 0) {
                return false;
            }
        }
        return true;
    }

    public static byte[] random(java.util.Random rnd) {
        byte[] u = new byte[SIZE];
        rnd.nextBytes(u);
        u[6] = (byte) ((u[6] & 0x0f) | 0x40);
        u[8] = (byte) ((u[8] & 0x3f) | 0x80);
        return u;
    }
}
