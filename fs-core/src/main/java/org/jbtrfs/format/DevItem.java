package org.jbtrfs.format;

/**
 * struct btrfs_dev_item (98 bytes): one device, in the chunk tree (key DEV_ITEMS DEV_ITEM devid)
 * and embedded in the superblock.
 *
 * <pre>
 * offset size field
 *      0    8 devid
 *      8    8 total_bytes
 *     16    8 bytes_used          bytes allocated to chunks on this device
 *     24    4 io_align
 *     28    4 io_width
 *     32    4 sector_size
 *     36    8 type
 *     44    8 generation
 *     52    8 start_offset
 *     60    4 dev_group
 *     64    1 seek_speed
 *     65    1 bandwidth
 *     66   16 uuid                device uuid
 *     82   16 fsid                the filesystem this device belongs to
 * </pre>
 */
public record DevItem(long devid, long totalBytes, long bytesUsed, long ioAlign, long ioWidth, long sectorSize,
        long type, long generation, long startOffset, long devGroup, int seekSpeed, int bandwidth,
        byte[] uuid, byte[] fsid) {
    public static final int SIZE = 98;
    public static final int OFF_UUID = 66;
    public static final int OFF_FSID = 82;

    public static DevItem read(byte[] b, int off) {
        return new DevItem(Le.u64(b, off), Le.u64(b, off + 8), Le.u64(b, off + 16), Le.u32(b, off + 24),
                Le.u32(b, off + 28), Le.u32(b, off + 32), Le.u64(b, off + 36), Le.u64(b, off + 44),
                Le.u64(b, off + 52), Le.u32(b, off + 60), Le.u8(b, off + 64), Le.u8(b, off + 65),
                Uuids.read(b, off + OFF_UUID), Uuids.read(b, off + OFF_FSID));
    }

    public void write(byte[] b, int off) {
        Le.putU64(b, off, devid);
        Le.putU64(b, off + 8, totalBytes);
        Le.putU64(b, off + 16, bytesUsed);
        Le.putU32(b, off + 24, ioAlign);
        Le.putU32(b, off + 28, ioWidth);
        Le.putU32(b, off + 32, sectorSize);
        Le.putU64(b, off + 36, type);
        Le.putU64(b, off + 44, generation);
        Le.putU64(b, off + 52, startOffset);
        Le.putU32(b, off + 60, devGroup);
        Le.putU8(b, off + 64, seekSpeed);
        Le.putU8(b, off + 65, bandwidth);
        System.arraycopy(uuid, 0, b, off + OFF_UUID, 16);
        System.arraycopy(fsid, 0, b, off + OFF_FSID, 16);
    }

    public byte[] toBytes() {
        byte[] b = new byte[SIZE];
        write(b, 0);
        return b;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DevItem d && java.util.Arrays.equals(toBytes(), d.toBytes());
    }

    @Override
    public int hashCode() {
        return java.util.Arrays.hashCode(toBytes());
    }
}
