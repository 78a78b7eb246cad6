package org.jbtrfs.format;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.jbtrfs.CorruptImageException;

/**
 * struct btrfs_super_block: 4096 bytes at each of the {@link #MIRROR_OFFSETS} that fit on the
 * device. A view over the raw bytes with one accessor per field (the way accessors.h reads disk
 * fields), so that decoding and encoding cannot drift apart: the bytes are the superblock.
 *
 * <pre>
 * offset size field                   notes
 *      0   32 csum                    over bytes [32, 4096)
 *     32   16 fsid
 *     48    8 bytenr                  physical offset of this copy
 *     56    8 flags
 *     64    8 magic                   "_BHRfS_M"
 *     72    8 generation
 *     80    8 root                    logical address of the root tree
 *     88    8 chunk_root
 *     96    8 log_root
 *    104    8 log_root_transid
 *    112    8 total_bytes
 *    120    8 bytes_used
 *    128    8 root_dir_objectid       6
 *    136    8 num_devices
 *    144    4 sectorsize
 *    148    4 nodesize
 *    152    4 __unused_leafsize       equal to nodesize
 *    156    4 stripesize
 *    160    4 sys_chunk_array_size
 *    164    8 chunk_root_generation
 *    172    8 compat_flags
 *    180    8 compat_ro_flags
 *    188    8 incompat_flags
 *    196    2 csum_type
 *    198    1 root_level
 *    199    1 chunk_root_level
 *    200    1 log_root_level
 *    201   98 dev_item                struct btrfs_dev_item, see {@link DevItem}
 *    299  256 label                   NUL padded
 *    555    8 cache_generation
 *    563    8 uuid_tree_generation
 *    571   16 metadata_uuid           used in tree block headers when METADATA_UUID is set
 *    587    8 nr_global_roots
 *    595  216 reserved
 *    811 2048 sys_chunk_array         (key, chunk item) pairs for the SYSTEM chunks
 *   2859  672 super_roots             4 x struct btrfs_root_backup (168 bytes)
 *   3531  565 padding
 * </pre>
 */
public final class Superblock {
    public static final int SIZE = 4096;
    public static final long MAGIC = 0x4D5F53665248425FL;
    /** btrfs_sb_offset(): 64 KiB, 64 MiB, 256 GiB. */
    public static final long[] MIRROR_OFFSETS = {64L << 10, 64L << 20, 256L << 30};

    public static final int OFF_CSUM = 0;
    public static final int OFF_FSID = 32;
    public static final int OFF_BYTENR = 48;
    public static final int OFF_FLAGS = 56;
    public static final int OFF_MAGIC = 64;
    public static final int OFF_GENERATION = 72;
    public static final int OFF_ROOT = 80;
    public static final int OFF_CHUNK_ROOT = 88;
    public static final int OFF_LOG_ROOT = 96;
    public static final int OFF_LOG_ROOT_TRANSID = 104;
    public static final int OFF_TOTAL_BYTES = 112;
    public static final int OFF_BYTES_USED = 120;
    public static final int OFF_ROOT_DIR_OBJECTID = 128;
    public static final int OFF_NUM_DEVICES = 136;
    public static final int OFF_SECTORSIZE = 144;
    public static final int OFF_NODESIZE = 148;
    public static final int OFF_LEAFSIZE = 152;
    public static final int OFF_STRIPESIZE = 156;
    public static final int OFF_SYS_CHUNK_ARRAY_SIZE = 160;
    public static final int OFF_CHUNK_ROOT_GENERATION = 164;
    public static final int OFF_COMPAT_FLAGS = 172;
    public static final int OFF_COMPAT_RO_FLAGS = 180;
    public static final int OFF_INCOMPAT_FLAGS = 188;
    public static final int OFF_CSUM_TYPE = 196;
    public static final int OFF_ROOT_LEVEL = 198;
    public static final int OFF_CHUNK_ROOT_LEVEL = 199;
    public static final int OFF_LOG_ROOT_LEVEL = 200;
    public static final int OFF_DEV_ITEM = 201;
    public static final int OFF_LABEL = OFF_DEV_ITEM + DevItem.SIZE;
    public static final int LABEL_SIZE = 256;
    public static final int OFF_CACHE_GENERATION = OFF_LABEL + LABEL_SIZE;
    public static final int OFF_UUID_TREE_GENERATION = 563;
    public static final int OFF_METADATA_UUID = 571;
    public static final int OFF_NR_GLOBAL_ROOTS = 587;
    public static final int OFF_SYS_CHUNK_ARRAY = 811;
    public static final int SYS_CHUNK_ARRAY_MAX = 2048;
    public static final int OFF_SUPER_ROOTS = OFF_SYS_CHUNK_ARRAY + SYS_CHUNK_ARRAY_MAX;
    public static final int NUM_BACKUP_ROOTS = 4;

    static {
        // The layout adds up the way btrfs_tree.h packs it (superblock.zig checks the same).
        if (OFF_LABEL != 299 || OFF_CACHE_GENERATION != 555 || OFF_SUPER_ROOTS != 2859
                || OFF_SUPER_ROOTS + NUM_BACKUP_ROOTS * RootBackup.SIZE + 565 != SIZE) {
            throw new ExceptionInInitializerError("superblock layout does not add up");
        }
    }

    private final byte[] b;

    /** Wraps (does not copy) a 4096-byte superblock. */
    public Superblock(byte[] bytes) {
        if (bytes.length != SIZE) {
            throw new IllegalArgumentException("superblock must be " + SIZE + " bytes, got " + bytes.length);
        }
        this.b = bytes;
    }

    /** A zeroed superblock with the magic set, for mkfs. */
    public static Superblock blank() {
        Superblock sb = new Superblock(new byte[SIZE]);
        sb.setU64(OFF_MAGIC, MAGIC);
        return sb;
    }

    public byte[] bytes() {
        return b;
    }

    public Superblock copy() {
        return new Superblock(b.clone());
    }

    private void setU64(int off, long v) {
        Le.putU64(b, off, v);
    }

    public byte[] fsid() {
        return Arrays.copyOfRange(b, OFF_FSID, OFF_FSID + 16);
    }

    public void setFsid(byte[] fsid) {
        System.arraycopy(fsid, 0, b, OFF_FSID, 16);
    }

    public long bytenr() {
        return Le.u64(b, OFF_BYTENR);
    }

    public void setBytenr(long v) {
        setU64(OFF_BYTENR, v);
    }

    public long flags() {
        return Le.u64(b, OFF_FLAGS);
    }

    public void setFlags(long v) {
        setU64(OFF_FLAGS, v);
    }

    public long magic() {
        return Le.u64(b, OFF_MAGIC);
    }

    public long generation() {
        return Le.u64(b, OFF_GENERATION);
    }

    public void setGeneration(long v) {
        setU64(OFF_GENERATION, v);
    }

    public long root() {
        return Le.u64(b, OFF_ROOT);
    }

    public void setRoot(long v) {
        setU64(OFF_ROOT, v);
    }

    public long chunkRoot() {
        return Le.u64(b, OFF_CHUNK_ROOT);
    }

    public void setChunkRoot(long v) {
        setU64(OFF_CHUNK_ROOT, v);
    }

    public long logRoot() {
        return Le.u64(b, OFF_LOG_ROOT);
    }

    public void setLogRoot(long v) {
        setU64(OFF_LOG_ROOT, v);
    }

    public long logRootTransid() {
        return Le.u64(b, OFF_LOG_ROOT_TRANSID);
    }

    public long totalBytes() {
        return Le.u64(b, OFF_TOTAL_BYTES);
    }

    public void setTotalBytes(long v) {
        setU64(OFF_TOTAL_BYTES, v);
    }

    public long bytesUsed() {
        return Le.u64(b, OFF_BYTES_USED);
    }

    public void setBytesUsed(long v) {
        setU64(OFF_BYTES_USED, v);
    }

    public long rootDirObjectid() {
        return Le.u64(b, OFF_ROOT_DIR_OBJECTID);
    }

    public void setRootDirObjectid(long v) {
        setU64(OFF_ROOT_DIR_OBJECTID, v);
    }

    public long numDevices() {
        return Le.u64(b, OFF_NUM_DEVICES);
    }

    public void setNumDevices(long v) {
        setU64(OFF_NUM_DEVICES, v);
    }

    public long sectorsize() {
        return Le.u32(b, OFF_SECTORSIZE);
    }

    public void setSectorsize(long v) {
        Le.putU32(b, OFF_SECTORSIZE, v);
    }

    public long nodesize() {
        return Le.u32(b, OFF_NODESIZE);
    }

    public void setNodesize(long v) {
        Le.putU32(b, OFF_NODESIZE, v);
        Le.putU32(b, OFF_LEAFSIZE, v);
    }

    public long leafsize() {
        return Le.u32(b, OFF_LEAFSIZE);
    }

    public long stripesize() {
        return Le.u32(b, OFF_STRIPESIZE);
    }

    public void setStripesize(long v) {
        Le.putU32(b, OFF_STRIPESIZE, v);
    }

    public long sysChunkArraySize() {
        return Le.u32(b, OFF_SYS_CHUNK_ARRAY_SIZE);
    }

    public long chunkRootGeneration() {
        return Le.u64(b, OFF_CHUNK_ROOT_GENERATION);
    }

    public void setChunkRootGeneration(long v) {
        setU64(OFF_CHUNK_ROOT_GENERATION, v);
    }

    public long compatFlags() {
        return Le.u64(b, OFF_COMPAT_FLAGS);
    }

    public long compatRoFlags() {
        return Le.u64(b, OFF_COMPAT_RO_FLAGS);
    }

    public void setCompatRoFlags(long v) {
        setU64(OFF_COMPAT_RO_FLAGS, v);
    }

    public long incompatFlags() {
        return Le.u64(b, OFF_INCOMPAT_FLAGS);
    }

    public void setIncompatFlags(long v) {
        setU64(OFF_INCOMPAT_FLAGS, v);
    }

    public int csumTypeCode() {
        return Le.u16(b, OFF_CSUM_TYPE);
    }

    /** The checksum algorithm, or null when the code is unknown. */
    public CsumType csumType() {
        return CsumType.fromCode(csumTypeCode());
    }

    public void setCsumType(CsumType t) {
        Le.putU16(b, OFF_CSUM_TYPE, t.code());
    }

    public int rootLevel() {
        return Le.u8(b, OFF_ROOT_LEVEL);
    }

    public void setRootLevel(int v) {
        Le.putU8(b, OFF_ROOT_LEVEL, v);
    }

    public int chunkRootLevel() {
        return Le.u8(b, OFF_CHUNK_ROOT_LEVEL);
    }

    public void setChunkRootLevel(int v) {
        Le.putU8(b, OFF_CHUNK_ROOT_LEVEL, v);
    }

    public int logRootLevel() {
        return Le.u8(b, OFF_LOG_ROOT_LEVEL);
    }

    public DevItem devItem() {
        return DevItem.read(b, OFF_DEV_ITEM);
    }

    public void setDevItem(DevItem d) {
        d.write(b, OFF_DEV_ITEM);
    }

    /** The label up to its first NUL, decoded as UTF-8. */
    public String label() {
        int n = 0;
        while (n < LABEL_SIZE && b[OFF_LABEL + n] != 0) {
            n++;
        }
        return new String(b, OFF_LABEL, n, StandardCharsets.UTF_8);
    }

    public void setLabel(String label) {
        byte[] l = label.getBytes(StandardCharsets.UTF_8);
        if (l.length >= LABEL_SIZE) {
            throw new IllegalArgumentException("label longer than " + (LABEL_SIZE - 1) + " bytes");
        }
        Arrays.fill(b, OFF_LABEL, OFF_LABEL + LABEL_SIZE, (byte) 0);
        System.arraycopy(l, 0, b, OFF_LABEL, l.length);
    }

    public long cacheGeneration() {
        return Le.u64(b, OFF_CACHE_GENERATION);
    }

    public void setCacheGeneration(long v) {
        setU64(OFF_CACHE_GENERATION, v);
    }

    public long uuidTreeGeneration() {
        return Le.u64(b, OFF_UUID_TREE_GENERATION);
    }

    public void setUuidTreeGeneration(long v) {
        setU64(OFF_UUID_TREE_GENERATION, v);
    }

    public byte[] metadataUuid() {
        return Arrays.copyOfRange(b, OFF_METADATA_UUID, OFF_METADATA_UUID + 16);
    }

    public void setMetadataUuid(byte[] u) {
        System.arraycopy(u, 0, b, OFF_METADATA_UUID, 16);
    }

    /** The fsid that tree block headers carry: metadata_uuid when METADATA_UUID is set, else fsid. */
    public byte[] headerFsid() {
        return (incompatFlags() & Features.INCOMPAT_METADATA_UUID) != 0 ? metadataUuid() : fsid();
    }

    public long nrGlobalRoots() {
        return Le.u64(b, OFF_NR_GLOBAL_ROOTS);
    }

    /** The raw sys_chunk_array, {@link #sysChunkArraySize()} bytes long. */
    public byte[] sysChunkArray() {
        int n = (int) Math.min(sysChunkArraySize(), SYS_CHUNK_ARRAY_MAX);
        return Arrays.copyOfRange(b, OFF_SYS_CHUNK_ARRAY, OFF_SYS_CHUNK_ARRAY + n);
    }

    public void setSysChunkArray(byte[] a) {
        if (a.length > SYS_CHUNK_ARRAY_MAX) {
            throw new IllegalArgumentException("sys_chunk_array over " + SYS_CHUNK_ARRAY_MAX + " bytes");
        }
        Arrays.fill(b, OFF_SYS_CHUNK_ARRAY, OFF_SYS_CHUNK_ARRAY + SYS_CHUNK_ARRAY_MAX, (byte) 0);
        System.arraycopy(a, 0, b, OFF_SYS_CHUNK_ARRAY, a.length);
        Le.putU32(b, OFF_SYS_CHUNK_ARRAY_SIZE, a.length);
    }

    public RootBackup backupRoot(int i) {
        assert i >= 0 && i < NUM_BACKUP_ROOTS : i;
        return RootBackup.read(b, OFF_SUPER_ROOTS + i * RootBackup.SIZE);
    }

    public void setBackupRoot(int i, RootBackup r) {
        assert i >= 0 && i < NUM_BACKUP_ROOTS : i;
        r.write(b, OFF_SUPER_ROOTS + i * RootBackup.SIZE);
    }

    public byte[] storedCsum() {
        return Arrays.copyOfRange(b, OFF_CSUM, OFF_CSUM + CsumType.CSUM_FIELD_SIZE);
    }

    /** Recomputes the checksum over bytes [32, 4096) with the superblock's own algorithm. */
    public void updateCsum() {
        CsumType t = csumType();
        if (t == null) {
            throw new IllegalStateException("unknown csum_type " + csumTypeCode());
        }
        Arrays.fill(b, OFF_CSUM, OFF_CSUM + CsumType.CSUM_FIELD_SIZE, (byte) 0);
        t.compute(b, CsumType.CSUM_FIELD_SIZE, SIZE - CsumType.CSUM_FIELD_SIZE, b, OFF_CSUM);
    }

    /**
     * Checks the superblock read at physical offset {@code expectBytenr}: magic, checksum, the
     * bytenr it claims, and the sizes everything else depends on (btrfs_validate_super()). Throws
     * a {@link CorruptImageException} naming the first problem.
     */
    public void validate(long expectBytenr) throws CorruptImageException {
        String where = "superblock at " + expectBytenr;
        if (magic() != MAGIC) {
            throw new CorruptImageException(where + ": bad magic 0x" + Long.toHexString(magic()) + ", not a btrfs image");
        }
        CsumType t = csumType();
        if (t == null) {
            throw new CorruptImageException(where + ": unknown csum_type " + csumTypeCode());
        }
        if (!t.matches(b, CsumType.CSUM_FIELD_SIZE, SIZE - CsumType.CSUM_FIELD_SIZE, b, OFF_CSUM)) {
            throw new CorruptImageException(where + ": " + t.displayName() + " checksum mismatch, have "
                    + t.hex(b, OFF_CSUM) + " expect " + t.hex(t.compute(b, 32, SIZE - 32), 0));
        }
        if (bytenr() != expectBytenr) {
            throw new CorruptImageException(where + ": bytenr field is " + Le.u64s(bytenr()));
        }
        long sector = sectorsize();
        long node = nodesize();
        if (Long.bitCount(sector) != 1 || sector < 4096 || sector > 65536) {
            throw new CorruptImageException(where + ": invalid sectorsize " + sector);
        }
        if (Long.bitCount(node) != 1 || node < sector || node > 65536) {
            throw new CorruptImageException(where + ": invalid nodesize " + node + " (sectorsize " + sector + ")");
        }
        if (rootLevel() >= Header.MAX_LEVEL || chunkRootLevel() >= Header.MAX_LEVEL) {
            throw new CorruptImageException(where + ": tree level out of range (root " + rootLevel()
                    + ", chunk root " + chunkRootLevel() + ")");
        }
        if (sysChunkArraySize() > SYS_CHUNK_ARRAY_MAX) {
            throw new CorruptImageException(where + ": sys_chunk_array_size " + sysChunkArraySize() + " over " + SYS_CHUNK_ARRAY_MAX);
        }
        if (root() % sector != 0 || chunkRoot() % sector != 0) {
            throw new CorruptImageException(where + ": root " + Le.u64s(root()) + " or chunk root "
                    + Le.u64s(chunkRoot()) + " not aligned to sectorsize " + sector);
        }
        if (!Arrays.equals(b, OFF_FSID, OFF_FSID + 16, b, OFF_DEV_ITEM + DevItem.OFF_FSID, OFF_DEV_ITEM + DevItem.OFF_FSID + 16)
                && (incompatFlags() & Features.INCOMPAT_METADATA_UUID) == 0) {
            throw new CorruptImageException(where + ": dev_item fsid does not match the superblock fsid");
        }
    }
}
