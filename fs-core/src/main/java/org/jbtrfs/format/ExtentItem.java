package org.jbtrfs.format;

import java.util.ArrayList;
import java.util.List;
import org.jbtrfs.CorruptImageException;

/**
 * struct btrfs_extent_item with what follows it: the item that says an extent is allocated and who
 * refers to it. Keys: (bytenr EXTENT_ITEM num_bytes) for data and non-skinny tree blocks,
 * (bytenr METADATA_ITEM level) for tree blocks with SKINNY_METADATA.
 *
 * <pre>
 * offset size field
 *      0    8 refs           total references (inline and keyed)
 *      8    8 generation
 *     16    8 flags          1 DATA, 2 TREE_BLOCK, 256 FULL_BACKREF
 *   TREE_BLOCK in an EXTENT_ITEM (not skinny): struct btrfs_tree_block_info
 *     24   17 key            first key of the block
 *     41    1 level
 *   then inline refs to the end of the item, each a type byte and:
 *     TREE_BLOCK_REF    (176)  u64 root
 *     SHARED_BLOCK_REF  (182)  u64 parent bytenr
 *     EXTENT_DATA_REF   (178)  struct btrfs_extent_data_ref (root, objectid, offset u64, count u32)
 *     SHARED_DATA_REF   (184)  u64 parent bytenr, u32 count
 *     EXTENT_OWNER_REF  (172)  u64 root (simple quotas)
 * </pre>
 */
public record ExtentItem(long refs, long generation, long flags, DiskKey treeBlockKey, int treeBlockLevel,
        List<InlineRef> inlineRefs) {
    public static final int SIZE = 24;
    public static final int TREE_BLOCK_INFO_SIZE = 18;
    public static final long FLAG_DATA = 1;
    public static final long FLAG_TREE_BLOCK = 2;
    public static final long FLAG_FULL_BACKREF = 1L << 8;

    /** One inline backref. For types without a count, {@code count} is 1. */
    public record InlineRef(int type, long root, long objectid, long offset, long parent, long count) {
        public static InlineRef treeBlock(long root) {
            return new InlineRef(ItemType.TREE_BLOCK_REF, root, 0, 0, 0, 1);
        }

        public static InlineRef sharedBlock(long parent) {
            return new InlineRef(ItemType.SHARED_BLOCK_REF, 0, 0, 0, parent, 1);
        }

        public static InlineRef extentData(long root, long objectid, long offset, long count) {
            return new InlineRef(ItemType.EXTENT_DATA_REF, root, objectid, offset, 0, count);
        }

        public static InlineRef sharedData(long parent, long count) {
            return new InlineRef(ItemType.SHARED_DATA_REF, 0, 0, 0, parent, count);
        }

        public static InlineRef owner(long root) {
            return new InlineRef(ItemType.EXTENT_OWNER_REF, root, 0, 0, 0, 1);
        }

        /** Bytes this ref takes in the item, type byte included (btrfs_extent_inline_ref_size). */
        public int encodedSize() {
            return switch (type) {
                case ItemType.TREE_BLOCK_REF, ItemType.SHARED_BLOCK_REF, ItemType.EXTENT_OWNER_REF -> 9;
                case ItemType.SHARED_DATA_REF -> 13;
                case ItemType.EXTENT_DATA_REF -> 1 + ExtentDataRef.SIZE;
                default -> throw new AssertionError(type);
            };
        }
    }

    public boolean isTreeBlock() {
        return (flags & FLAG_TREE_BLOCK) != 0;
    }

    /**
     * Decodes an extent item. {@code skinny} is true for METADATA_ITEM keys, which have no
     * tree_block_info.
     */
    public static ExtentItem decode(byte[] b, int off, int len, boolean skinny) throws CorruptImageException {
        ItemBounds.need(len, SIZE, "EXTENT_ITEM");
        long refs = Le.u64(b, off);
        long gen = Le.u64(b, off + 8);
        long flags = Le.u64(b, off + 16);
        int p = off + SIZE;
        int end = off + len;
        DiskKey key = null;
        int level = -1;
        if ((flags & FLAG_TREE_BLOCK) != 0 && !skinny) {
            ItemBounds.need(len, SIZE + TREE_BLOCK_INFO_SIZE, "EXTENT_ITEM tree_block_info");
            key = DiskKey.read(b, p);
            level = Le.u8(b, p + 17);
            p += TREE_BLOCK_INFO_SIZE;
        }
        List<InlineRef> inl = new ArrayList<>(2);
        while (p < end) {
            int type = Le.u8(b, p);
            InlineRef r;
            switch (type) {
                case ItemType.TREE_BLOCK_REF, ItemType.SHARED_BLOCK_REF, ItemType.EXTENT_OWNER_REF -> {
                    ItemBounds.need(end - p, 9, "inline " + ItemType.name(type));
                    long v = Le.u64(b, p + 1);
                    r = type == ItemType.SHARED_BLOCK_REF ? InlineRef.sharedBlock(v)
                            : type == ItemType.TREE_BLOCK_REF ? InlineRef.treeBlock(v) : InlineRef.owner(v);
                }
                case ItemType.SHARED_DATA_REF -> {
                    ItemBounds.need(end - p, 13, "inline SHARED_DATA_REF");
                    r = InlineRef.sharedData(Le.u64(b, p + 1), Le.u32(b, p + 9));
                }
                case ItemType.EXTENT_DATA_REF -> {
                    ItemBounds.need(end - p, 1 + ExtentDataRef.SIZE, "inline EXTENT_DATA_REF");
                    ExtentDataRef d = ExtentDataRef.read(b, p + 1);
                    r = InlineRef.extentData(d.root(), d.objectid(), d.offset(), d.count());
                }
                default -> throw new CorruptImageException("EXTENT_ITEM has inline ref of unknown type " + type
                        + " at item offset " + (p - off));
            }
            inl.add(r);
            p += r.encodedSize();
        }
        return new ExtentItem(refs, gen, flags, key, level, List.copyOf(inl));
    }

    public byte[] encode() {
        int size = SIZE + (treeBlockKey != null ? TREE_BLOCK_INFO_SIZE : 0);
        for (InlineRef r : inlineRefs) {
            size += r.encodedSize();
        }
        byte[] b = new byte[size];
        Le.putU64(b, 0, refs);
        Le.putU64(b, 8, generation);
        Le.putU64(b, 16, flags);
        int p = SIZE;
        if (treeBlockKey != null) {
            treeBlockKey.write(b, p);
            Le.putU8(b, p + 17, treeBlockLevel);
            p += TREE_BLOCK_INFO_SIZE;
        }
        for (InlineRef r : inlineRefs) {
            Le.putU8(b, p, r.type());
            switch (r.type()) {
                case ItemType.TREE_BLOCK_REF, ItemType.EXTENT_OWNER_REF -> Le.putU64(b, p + 1, r.root());
                case ItemType.SHARED_BLOCK_REF -> Le.putU64(b, p + 1, r.parent());
                case ItemType.SHARED_DATA_REF -> {
                    Le.putU64(b, p + 1, r.parent());
                    Le.putU32(b, p + 9, r.count());
                }
                case ItemType.EXTENT_DATA_REF ->
                    new ExtentDataRef(r.root(), r.objectid(), r.offset(), r.count()).write(b, p + 1);
                default -> throw new AssertionError(r.type());
            }
            p += r.encodedSize();
        }
        return b;
    }
}
