package org.jbtrfs.extent;

import java.util.List;
import org.jbtrfs.CorruptImageException;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.ExtentDataRef;
import org.jbtrfs.format.ExtentItem;
import org.jbtrfs.format.ExtentItem.InlineRef;
import org.jbtrfs.format.Header;
import org.jbtrfs.format.ItemType;
import org.jbtrfs.format.Le;

/**
 * Backrefs in their two on-disk forms, and the rules that say where one goes (extent-tree.c:
 * extent_ref_type, lookup_inline_extent_backref, hash_extent_data_ref; tree-checker.c:
 * check_extent_item).
 *
 * <h2>Inline order</h2>
 * Inline refs in an extent item are sorted by type, ascending (EXTENT_OWNER_REF 172 first, then
 * TREE_BLOCK_REF 176, EXTENT_DATA_REF 178, SHARED_BLOCK_REF 182, SHARED_DATA_REF 184), and within
 * one type by a sequence number, <em>descending</em>: the root for TREE_BLOCK_REF, the parent for
 * the shared kinds, hash_extent_data_ref(root, objectid, offset) for EXTENT_DATA_REF, all compared
 * as u64. That is the order lookup_inline_extent_backref() produces — it walks the refs, skips
 * smaller types and same-type refs whose sequence is not below the wanted one, and inserts before
 * the first that is — and the order the tree-checker enforces ("inline ref out-of-order").
 *
 * <h2>Keyed forms</h2>
 * <pre>
 * (bytenr TREE_BLOCK_REF   root)    empty item
 * (bytenr SHARED_BLOCK_REF parent)  empty item
 * (bytenr EXTENT_DATA_REF  hash)    struct btrfs_extent_data_ref (28 bytes); on a hash collision
 *                                   the next free offset (hash + 1, ...), as insert_extent_data_ref does
 * (bytenr SHARED_DATA_REF  parent)  struct btrfs_shared_data_ref: u32 count
 * </pre>
 */
final class BackrefCodec {
    /** The key offset hash of a keyed EXTENT_DATA_REF; a seam so tests can force collisions. */
    @FunctionalInterface
    interface DataRefHash {
        long hash(long root, long objectid, long offset);
    }

    /** hash_extent_data_ref(), the one real images use. */
    static final DataRefHash KERNEL_HASH = ExtentDataRef::hash;

    /** Largest count a data backref holds (u32 on disk). */
    static final long MAX_DATA_REF_COUNT = 0xffff_ffffL;
    /** struct btrfs_shared_data_ref. */
    static final int SHARED_DATA_REF_SIZE = 4;

    private BackrefCodec() {
    }

    /**
     * BTRFS_MAX_EXTENT_ITEM_SIZE: an inline ref is added only while the extent item stays below
     * this many bytes, (leaf data size / 16) - sizeof(struct btrfs_item); 992 for 16 KiB nodes.
     */
    static int maxExtentItemSize(int nodesize) {
        return (Header.leafDataSize(nodesize) >> 4) - Header.ITEM_SIZE;
    }

    /** btrfs_extent_inline_ref_size(): bytes an inline ref of {@code type} takes, type byte included. */
    static int inlineRefSize(int type) {
        return switch (type) {
            case ItemType.TREE_BLOCK_REF, ItemType.SHARED_BLOCK_REF, ItemType.EXTENT_OWNER_REF -> 9;
            case ItemType.SHARED_DATA_REF -> 9 + SHARED_DATA_REF_SIZE;
            case ItemType.EXTENT_DATA_REF -> 1 + ExtentDataRef.SIZE;
            default -> throw new IllegalArgumentException("no inline ref of type " + type);
        };
    }

    static InlineRef toInline(DelayedRefKey k, long count) {
        return switch (k.type()) {
            case ItemType.TREE_BLOCK_REF -> InlineRef.treeBlock(k.root());
            case ItemType.SHARED_BLOCK_REF -> InlineRef.sharedBlock(k.parent());
            case ItemType.EXTENT_DATA_REF -> InlineRef.extentData(k.root(), k.objectid(), k.offset(), count);
            default -> InlineRef.sharedData(k.parent(), count);
        };
    }

    /** The backref an inline ref is, or null for an EXTENT_OWNER_REF (not a reference). */
    static DelayedRefKey keyOf(InlineRef r) {
        return switch (r.type()) {
            case ItemType.TREE_BLOCK_REF -> DelayedRefKey.treeBlock(r.root());
            case ItemType.SHARED_BLOCK_REF -> DelayedRefKey.sharedBlock(r.parent());
            case ItemType.EXTENT_DATA_REF -> DelayedRefKey.extentData(r.root(), r.objectid(), r.offset());
            case ItemType.SHARED_DATA_REF -> DelayedRefKey.sharedData(r.parent());
            default -> null;
        };
    }

    /** The references an inline ref stands for: its count, 1 for tree refs, 0 for an owner ref. */
    static long count(InlineRef r) {
        return r.type() == ItemType.EXTENT_OWNER_REF ? 0 : r.count();
    }

    /** The tree-checker's sequence of an inline ref: its offset, or the hash for EXTENT_DATA_REF. */
    static long seq(InlineRef r, DataRefHash hash) {
        return switch (r.type()) {
            case ItemType.EXTENT_DATA_REF -> hash.hash(r.root(), r.objectid(), r.offset());
            case ItemType.SHARED_BLOCK_REF, ItemType.SHARED_DATA_REF -> r.parent();
            default -> r.root();
        };
    }

    static long seq(DelayedRefKey k, DataRefHash hash) {
        return switch (k.type()) {
            case ItemType.EXTENT_DATA_REF -> hash.hash(k.root(), k.objectid(), k.offset());
            case ItemType.SHARED_BLOCK_REF, ItemType.SHARED_DATA_REF -> k.parent();
            default -> k.root();
        };
    }

    /**
     * lookup_inline_extent_backref(): the index of the inline ref that is {@code want}, or
     * {@code -(insertion point) - 1} where the kernel would insert it. The match is looked for over
     * all refs (the kernel stops at the insertion point, which is the same on a well-ordered item).
     */
    static int findInline(List<InlineRef> refs, DelayedRefKey want, DataRefHash hash) {
        for (int i = 0; i < refs.size(); i++) {
            if (want.equals(keyOf(refs.get(i)))) {
                return i;
            }
        }
        long wantSeq = seq(want, hash);
        for (int i = 0; i < refs.size(); i++) {
            InlineRef r = refs.get(i);
            if (want.type() < r.type()) {
                return -i - 1;
            }
            if (want.type() == r.type() && Long.compareUnsigned(seq(r, hash), wantSeq) < 0) {
                return -i - 1;
            }
        }
        return -refs.size() - 1;
    }

    /** The key of the keyed form of {@code k}; for EXTENT_DATA_REF the offset is given (hash or a later free one). */
    static DiskKey keyedKey(long bytenr, DelayedRefKey k, long dataRefOffset) {
        return switch (k.type()) {
            case ItemType.TREE_BLOCK_REF -> new DiskKey(bytenr, k.type(), k.root());
            case ItemType.EXTENT_DATA_REF -> new DiskKey(bytenr, k.type(), dataRefOffset);
            default -> new DiskKey(bytenr, k.type(), k.parent());
        };
    }

    /** The item data of the keyed form of {@code k} holding {@code count} references. */
    static byte[] encodeKeyed(DelayedRefKey k, long count) {
        assert count > 0 && count <= MAX_DATA_REF_COUNT && (k.isData() || count == 1) : k + " count " + count;
        return switch (k.type()) {
            case ItemType.EXTENT_DATA_REF -> new ExtentDataRef(k.root(), k.objectid(), k.offset(), count).encode();
            case ItemType.SHARED_DATA_REF -> {
                byte[] b = new byte[SHARED_DATA_REF_SIZE];
                Le.putU32(b, 0, count);
                yield b;
            }
            default -> new byte[0];
        };
    }

    /** Where the count sits in a keyed item of {@code type} (-1: no count, the item is one reference). */
    static int keyedCountOffset(int type) {
        return switch (type) {
            case ItemType.EXTENT_DATA_REF -> 24;
            case ItemType.SHARED_DATA_REF -> 0;
            default -> -1;
        };
    }

    /** A keyed backref decoded: which ref and how many references it holds. */
    record Keyed(DiskKey key, DelayedRefKey ref, long count) {
    }

    /** Decodes a keyed backref item, checking its size (tree-checker: check_extent_data_ref and kin). */
    static Keyed decodeKeyed(DiskKey key, byte[] b, int off, int len) throws CorruptImageException {
        switch (key.type()) {
            case ItemType.TREE_BLOCK_REF, ItemType.SHARED_BLOCK_REF -> {
                if (len != 0) {
                    throw new CorruptImageException("keyed backref " + key + " has " + len + " bytes, expect 0");
                }
                DelayedRefKey k = key.type() == ItemType.TREE_BLOCK_REF ? DelayedRefKey.treeBlock(key.offset())
                        : DelayedRefKey.sharedBlock(key.offset());
                return new Keyed(key, k, 1);
            }
            case ItemType.SHARED_DATA_REF -> {
                if (len != SHARED_DATA_REF_SIZE) {
                    throw new CorruptImageException("keyed backref " + key + " has " + len + " bytes, expect " + SHARED_DATA_REF_SIZE);
                }
                long count = Le.u32(b, off);
                if (count == 0) {
                    throw new CorruptImageException("keyed backref " + key + " has count 0");
                }
                return new Keyed(key, DelayedRefKey.sharedData(key.offset()), count);
            }
            case ItemType.EXTENT_DATA_REF -> {
                ExtentDataRef d = ExtentDataRef.decode(b, off, len);
                if (d.count() == 0 || d.root() == 0) {
                    throw new CorruptImageException("keyed backref " + key + " has root " + d.root() + " count " + d.count());
                }
                return new Keyed(key, DelayedRefKey.extentData(d.root(), d.objectid(), d.offset()), d.count());
            }
            default -> throw new IllegalArgumentException("not a keyed backref: " + key);
        }
    }

    /**
     * check_extent_item() of tree-checker.c, the parts about references: the flags fit the key,
     * every inline ref fits the extent kind and holds at least one reference, the inline order
     * holds, and the inline counts do not exceed the total. Always on, for items read and written.
     */
    static void checkExtentItem(DiskKey key, ExtentItem ei, DataRefHash hash) throws CorruptImageException {
        String where = "extent item " + key;
        boolean data = (ei.flags() & ExtentItem.FLAG_DATA) != 0;
        boolean tree = (ei.flags() & ExtentItem.FLAG_TREE_BLOCK) != 0;
        if (data == tree || (data && (ei.flags() & ExtentItem.FLAG_FULL_BACKREF) != 0)) {
            throw new CorruptImageException(where + ": invalid flags 0x" + Long.toHexString(ei.flags()));
        }
        if (key.type() == ItemType.METADATA_ITEM && (data || key.offset() < 0 || key.offset() >= Header.MAX_LEVEL)) {
            throw new CorruptImageException(where + ": METADATA_ITEM with flags 0x" + Long.toHexString(ei.flags()));
        }
        if (ei.refs() == 0) {
            throw new CorruptImageException(where + ": refs 0");
        }
        long inlineSum = 0;
        int lastType = 0;
        long lastSeq = -1L;
        for (InlineRef r : ei.inlineRefs()) {
            boolean ok = switch (r.type()) {
                case ItemType.TREE_BLOCK_REF -> tree && r.root() != 0;
                case ItemType.SHARED_BLOCK_REF -> tree && r.parent() != 0;
                case ItemType.EXTENT_DATA_REF -> data && r.root() != 0;
                case ItemType.SHARED_DATA_REF -> data && r.parent() != 0;
                case ItemType.EXTENT_OWNER_REF -> data;
                default -> false;
            };
            if (!ok || (r.type() != ItemType.EXTENT_OWNER_REF && r.count() == 0)) {
                throw new CorruptImageException(where + ": inline " + ItemType.name(r.type()) + " with count " + r.count()
                        + " root " + r.root() + " parent " + Long.toUnsignedString(r.parent()) + " in a " + (data ? "data" : "tree block") + " extent");
            }
            long s = seq(r, hash);
            if (r.type() < lastType || (r.type() == lastType && Long.compareUnsigned(s, lastSeq) > 0)) {
                throw new CorruptImageException(where + ": inline ref out of order: type " + r.type() + " seq 0x"
                        + Long.toHexString(s) + " after type " + lastType + " seq 0x" + Long.toHexString(lastSeq));
            }
            lastType = r.type();
            lastSeq = s;
            inlineSum += count(r);
        }
        if (Long.compareUnsigned(inlineSum, ei.refs()) > 0) {
            throw new CorruptImageException(where + ": inline refs hold " + inlineSum + ", have refs " + Long.toUnsignedString(ei.refs()));
        }
    }

    /** For asserts after a write: the item passes {@link #checkExtentItem}. */
    static boolean extentItemOk(DiskKey key, ExtentItem ei, DataRefHash hash) {
        try {
            checkExtentItem(key, ei, hash);
            return true;
        } catch (CorruptImageException e) {
            throw new AssertionError("wrote a bad " + e.getMessage(), e);
        }
    }
}
