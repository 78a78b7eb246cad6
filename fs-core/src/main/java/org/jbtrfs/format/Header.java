package org.jbtrfs.format;

import java.util.Arrays;

/**
 * struct btrfs_header (101 bytes) at the start of every tree block, and the two layouts that follow
 * it. Static accessors over the raw block, as accessors.h reads extent buffers.
 *
 * <pre>
 * offset size field
 *      0   32 csum              over bytes [32, nodesize)
 *     32   16 fsid              superblock fsid (metadata_uuid with METADATA_UUID)
 *     48    8 bytenr            logical address of this block
 *     56    8 flags             bit 0 WRITTEN, bit 1 RELOC; top byte: backref revision (1 = mixed)
 *     64   16 chunk_tree_uuid
 *     80    8 generation        transaction that wrote the block
 *     88    8 owner             id of the tree the block belongs to
 *     96    4 nritems
 *    100    1 level             0 = leaf
 * </pre>
 *
 * A leaf (level 0) continues with {@code nritems} struct btrfs_item (25 bytes: key, u32 offset,
 * u32 size) growing up, and item data growing down from the end of the block; an item's offset is
 * relative to the end of the header. A node (level &gt; 0) continues with {@code nritems} struct
 * btrfs_key_ptr (33 bytes: key, u64 blockptr, u64 generation).
 */
public final class Header {
    public static final int SIZE = 101;
    public static final int OFF_CSUM = 0;
    public static final int OFF_FSID = 32;
    public static final int OFF_BYTENR = 48;
    public static final int OFF_FLAGS = 56;
    public static final int OFF_CHUNK_TREE_UUID = 64;
    public static final int OFF_GENERATION = 80;
    public static final int OFF_OWNER = 88;
    public static final int OFF_NRITEMS = 96;
    public static final int OFF_LEVEL = 100;

    /** struct btrfs_item. */
    public static final int ITEM_SIZE = 25;
    public static final int ITEM_OFF_OFFSET = 17;
    public static final int ITEM_OFF_SIZE = 21;
    /** struct btrfs_key_ptr. */
    public static final int KEY_PTR_SIZE = 33;
    public static final int KEY_PTR_OFF_BLOCKPTR = 17;
    public static final int KEY_PTR_OFF_GENERATION = 25;

    public static final int MAX_LEVEL = 8;
    public static final long FLAG_WRITTEN = 1L << 0;
    public static final long FLAG_RELOC = 1L << 1;
    public static final int BACKREF_REV_SHIFT = 56;
    public static final int MIXED_BACKREF_REV = 1;

    private Header() {
    }

    public static long bytenr(byte[] b) {
        return Le.u64(b, OFF_BYTENR);
    }

    public static long flags(byte[] b) {
        return Le.u64(b, OFF_FLAGS);
    }

    public static int backrefRev(byte[] b) {
        return (int) (flags(b) >>> BACKREF_REV_SHIFT);
    }

    public static long generation(byte[] b) {
        return Le.u64(b, OFF_GENERATION);
    }

    public static long owner(byte[] b) {
        return Le.u64(b, OFF_OWNER);
    }

    public static long nritems(byte[] b) {
        return Le.u32(b, OFF_NRITEMS);
    }

    public static int level(byte[] b) {
        return Le.u8(b, OFF_LEVEL);
    }

    public static byte[] fsid(byte[] b) {
        return Arrays.copyOfRange(b, OFF_FSID, OFF_FSID + 16);
    }

    public static byte[] chunkTreeUuid(byte[] b) {
        return Arrays.copyOfRange(b, OFF_CHUNK_TREE_UUID, OFF_CHUNK_TREE_UUID + 16);
    }

    /** Offset of item {@code slot}'s struct btrfs_item in a leaf. */
    public static int itemOffset(int slot) {
        return SIZE + slot * ITEM_SIZE;
    }

    /** Offset of key pointer {@code slot} in a node. */
    public static int keyPtrOffset(int slot) {
        return SIZE + slot * KEY_PTR_SIZE;
    }

    /** BTRFS_LEAF_DATA_SIZE: bytes after the header in a leaf. */
    public static int leafDataSize(int nodesize) {
        return nodesize - SIZE;
    }

    /** BTRFS_NODEPTRS_PER_BLOCK. */
    public static int maxKeyPtrs(int nodesize) {
        return (nodesize - SIZE) / KEY_PTR_SIZE;
    }

    public static void setBytenr(byte[] b, long v) {
        Le.putU64(b, OFF_BYTENR, v);
    }

    public static void setFlags(byte[] b, long v) {
        Le.putU64(b, OFF_FLAGS, v);
    }

    public static void setGeneration(byte[] b, long v) {
        Le.putU64(b, OFF_GENERATION, v);
    }

    public static void setOwner(byte[] b, long v) {
        Le.putU64(b, OFF_OWNER, v);
    }

    public static void setNritems(byte[] b, long v) {
        Le.putU32(b, OFF_NRITEMS, v);
    }

    public static void setLevel(byte[] b, int v) {
        Le.putU8(b, OFF_LEVEL, v);
    }

    public static void setFsid(byte[] b, byte[] fsid) {
        System.arraycopy(fsid, 0, b, OFF_FSID, 16);
    }

    public static void setChunkTreeUuid(byte[] b, byte[] u) {
        System.arraycopy(u, 0, b, OFF_CHUNK_TREE_UUID, 16);
    }

    /** Recomputes the block checksum over [32, length). */
    public static void updateCsum(byte[] b, CsumType t) {
        Arrays.fill(b, OFF_CSUM, OFF_CSUM + CsumType.CSUM_FIELD_SIZE, (byte) 0);
        t.compute(b, CsumType.CSUM_FIELD_SIZE, b.length - CsumType.CSUM_FIELD_SIZE, b, OFF_CSUM);
    }

    public static boolean csumMatches(byte[] b, CsumType t) {
        return t.matches(b, CsumType.CSUM_FIELD_SIZE, b.length - CsumType.CSUM_FIELD_SIZE, b, OFF_CSUM);
    }
}
