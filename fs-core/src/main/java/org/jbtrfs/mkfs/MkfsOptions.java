package org.jbtrfs.mkfs;

import java.nio.charset.StandardCharsets;
import org.jbtrfs.format.BlockGroupItem;
import org.jbtrfs.format.CsumType;
import org.jbtrfs.format.Superblock;
import org.jbtrfs.format.Uuids;

/**
 * What {@link Mkfs#format} makes: the options of mkfs.btrfs that jbtrfs supports, with its 6.2
 * defaults ({@link #defaults}). Checked when built, so a bad value fails before anything is
 * written.
 *
 * @param sizeBytes       filesystem size (mkfs.btrfs -b), rounded down to the sector size; 0 means
 *                        the whole device
 * @param label           at most 255 bytes of UTF-8, no NUL ("" for none)
 * @param nodesize        tree block size: a power of two, at least the sector size, at most 64 KiB
 * @param sectorsize      a power of two from 4 KiB to 64 KiB (the kernel mounts it when it is the
 *                        page size, 4 KiB on x86)
 * @param csumType        data and metadata checksum
 * @param metadataProfile profile of the METADATA and SYSTEM chunks (DUP or SINGLE)
 * @param dataProfile     profile of the DATA chunk (SINGLE, or DUP)
 * @param fsid            filesystem uuid, or null for a random one
 * @param deviceUuid      device uuid, or null for a random one
 */
public record MkfsOptions(long sizeBytes, String label, int nodesize, int sectorsize, CsumType csumType,
        Profile metadataProfile, Profile dataProfile, byte[] fsid, byte[] deviceUuid) {
    /** mkfs.btrfs 6.2 defaults. */
    public static final int DEFAULT_NODESIZE = 16384;
    public static final int DEFAULT_SECTORSIZE = 4096;
    /** BTRFS_MAX_METADATA_BLOCKSIZE. */
    public static final int MAX_NODESIZE = 65536;
    public static final int MIN_SECTORSIZE = 4096;
    public static final int MAX_LABEL_BYTES = Superblock.LABEL_SIZE - 1;

    /** Block group profiles jbtrfs makes (single device). */
    public enum Profile {
        SINGLE(0, 1, "single"),
        DUP(BlockGroupItem.DUP, 2, "DUP");

        private final long flag;
        private final int stripes;
        private final String displayName;

        Profile(long flag, int stripes, String displayName) {
            this.flag = flag;
            this.stripes = stripes;
            this.displayName = displayName;
        }

        /** The profile bit of the block group flags (SINGLE has none). */
        public long flag() {
            return flag;
        }

        /** Stripes (copies) on the one device. */
        public int stripes() {
            return stripes;
        }

        /** As mkfs.btrfs prints it. */
        public String displayName() {
            return displayName;
        }
    }

    public MkfsOptions {
        if (label == null || csumType == null || metadataProfile == null || dataProfile == null) {
            throw new IllegalArgumentException("label, checksum and profiles must be given");
        }
        if (sizeBytes < 0) {
            throw new IllegalArgumentException("size must not be negative: " + sizeBytes);
        }
        if (Integer.bitCount(sectorsize) != 1 || sectorsize < MIN_SECTORSIZE || sectorsize > MAX_NODESIZE) {
            throw new IllegalArgumentException("sector size " + sectorsize + " is not a power of two from "
                    + MIN_SECTORSIZE + " to " + MAX_NODESIZE);
        }
        if (Integer.bitCount(nodesize) != 1 || nodesize < sectorsize || nodesize > MAX_NODESIZE) {
            throw new IllegalArgumentException("node size " + nodesize + " must be a power of two from the sector size ("
                    + sectorsize + ") to " + MAX_NODESIZE);
        }
        byte[] l = label.getBytes(StandardCharsets.UTF_8);
        if (l.length > MAX_LABEL_BYTES || label.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("label is " + l.length + " bytes; at most " + MAX_LABEL_BYTES
                    + " bytes without NUL are allowed");
        }
        fsid = checkUuid(fsid, "fsid");
        deviceUuid = checkUuid(deviceUuid, "device uuid");
    }

    private static byte[] checkUuid(byte[] u, String what) {
        if (u == null) {
            return null;
        }
        if (u.length != Uuids.SIZE || Uuids.isZero(u)) {
            throw new IllegalArgumentException(what + " must be 16 bytes and not all zero");
        }
        return u.clone();
    }

    /** mkfs.btrfs 6.2 defaults for a filesystem of {@code sizeBytes} (0: the whole device). */
    public static MkfsOptions defaults(long sizeBytes) {
        return new MkfsOptions(sizeBytes, "", DEFAULT_NODESIZE, DEFAULT_SECTORSIZE, CsumType.CRC32C, Profile.DUP,
                Profile.SINGLE, null, null);
    }

    public MkfsOptions withLabel(String l) {
        return new MkfsOptions(sizeBytes, l, nodesize, sectorsize, csumType, metadataProfile, dataProfile, fsid, deviceUuid);
    }

    public MkfsOptions withNodesize(int n) {
        return new MkfsOptions(sizeBytes, label, n, sectorsize, csumType, metadataProfile, dataProfile, fsid, deviceUuid);
    }

    public MkfsOptions withCsumType(CsumType c) {
        return new MkfsOptions(sizeBytes, label, nodesize, sectorsize, c, metadataProfile, dataProfile, fsid, deviceUuid);
    }

    public MkfsOptions withMetadataProfile(Profile p) {
        return new MkfsOptions(sizeBytes, label, nodesize, sectorsize, csumType, p, dataProfile, fsid, deviceUuid);
    }

    public MkfsOptions withUuids(byte[] fs, byte[] dev) {
        return new MkfsOptions(sizeBytes, label, nodesize, sectorsize, csumType, metadataProfile, dataProfile, fs, dev);
    }

    @Override
    public byte[] fsid() {
        return fsid == null ? null : fsid.clone();
    }

    @Override
    public byte[] deviceUuid() {
        return deviceUuid == null ? null : deviceUuid.clone();
    }
}
