package org.jbtrfs.format;

import org.jbtrfs.CorruptImageException;

/**
 * The quota tree's items. All fields are u64.
 *
 * <pre>
 * QGROUP_STATUS  key (0 QGROUP_STATUS 0):       version, generation, flags, rescan [, enable_gen]
 * QGROUP_INFO    key (0 QGROUP_INFO qgroupid):  generation, rfer, rfer_cmpr, excl, excl_cmpr
 * QGROUP_LIMIT   key (0 QGROUP_LIMIT qgroupid): flags, max_rfer, max_excl, rsv_rfer, rsv_excl
 * QGROUP_RELATION key (src QGROUP_RELATION dst): no data
 * </pre>
 *
 * The status item is 32 bytes without simple quotas and 40 with (enable_gen added).
 */
public final class QgroupItems {
    public static final long STATUS_FLAG_ON = 1;
    public static final long STATUS_FLAG_RESCAN = 2;
    public static final long STATUS_FLAG_INCONSISTENT = 4;
    public static final long STATUS_FLAG_SIMPLE_MODE = 8;

    private QgroupItems() {
    }

    public record Status(long version, long generation, long flags, long rescan, long enableGen, boolean hasEnableGen) {
        public static Status decode(byte[] b, int off, int len) throws CorruptImageException {
            if (len != 32 && len != 40) {
                throw new CorruptImageException("QGROUP_STATUS has wrong size: have " + len + " bytes, expect 32 or 40");
            }
            return new Status(Le.u64(b, off), Le.u64(b, off + 8), Le.u64(b, off + 16), Le.u64(b, off + 24),
                    len == 40 ? Le.u64(b, off + 32) : 0, len == 40);
        }

        public byte[] encode() {
            byte[] b = new byte[hasEnableGen ? 40 : 32];
            Le.putU64(b, 0, version);
            Le.putU64(b, 8, generation);
            Le.putU64(b, 16, flags);
            Le.putU64(b, 24, rescan);
            if (hasEnableGen) {
                Le.putU64(b, 32, enableGen);
            }
            return b;
        }
    }

    public record Info(long generation, long rfer, long rferCmpr, long excl, long exclCmpr) {
        public static final int SIZE = 40;

        public static Info decode(byte[] b, int off, int len) throws CorruptImageException {
            ItemBounds.exact(len, SIZE, "QGROUP_INFO");
            return new Info(Le.u64(b, off), Le.u64(b, off + 8), Le.u64(b, off + 16), Le.u64(b, off + 24), Le.u64(b, off + 32));
        }

        public byte[] encode() {
            return u64s(generation, rfer, rferCmpr, excl, exclCmpr);
        }
    }

    public record Limit(long flags, long maxRfer, long maxExcl, long rsvRfer, long rsvExcl) {
        public static final int SIZE = 40;

        public static Limit decode(byte[] b, int off, int len) throws CorruptImageException {
            ItemBounds.exact(len, SIZE, "QGROUP_LIMIT");
            return new Limit(Le.u64(b, off), Le.u64(b, off + 8), Le.u64(b, off + 16), Le.u64(b, off + 24), Le.u64(b, off + 32));
        }

        public byte[] encode() {
            return u64s(flags, maxRfer, maxExcl, rsvRfer, rsvExcl);
        }
    }

    static byte[] u64s(long... v) {
        byte[] b = new byte[v.length * 8];
        for (int i = 0; i < v.length; i++) {
            Le.putU64(b, i * 8, v[i]);
        }
        return b;
    }
}
