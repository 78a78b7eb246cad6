package org.jbtrfs.check;

import java.util.Comparator;
import org.jbtrfs.format.ExtentItem;
import org.jbtrfs.format.ItemType;
import org.jbtrfs.format.Le;

/**
 * A backref as the extent tree holds it (inline in the extent item or keyed after it), with its
 * count. {@code kind} is a {@link RefTable} kind; {@code a}, {@code b}, {@code c} are its
 * identity fields as in {@link RefTable} (root or parent, then inode and offset for
 * EXTENT_DATA_REF, zero otherwise).
 */
record Backref(int kind, long a, long b, long c, long count) {
    /** Same order as {@link RefTable}'s identity order. */
    static final Comparator<Backref> IDENTITY = (x, y) -> {
        int r = Integer.compare(x.kind, y.kind);
        if (r == 0) {
            r = Long.compareUnsigned(x.a, y.a);
        }
        if (r == 0) {
            r = Long.compareUnsigned(x.b, y.b);
        }
        if (r == 0) {
            r = Long.compareUnsigned(x.c, y.c);
        }
        return r;
    };

    /** From an inline ref; null for a type the checker does not match (owner refs of simple quotas). */
    static Backref of(ExtentItem.InlineRef r) {
        return switch (r.type()) {
            case ItemType.TREE_BLOCK_REF -> new Backref(RefTable.TREE_BLOCK_REF, r.root(), 0, 0, 1);
            case ItemType.SHARED_BLOCK_REF -> new Backref(RefTable.SHARED_BLOCK_REF, r.parent(), 0, 0, 1);
            case ItemType.EXTENT_DATA_REF -> new Backref(RefTable.EXTENT_DATA_REF, r.root(), r.objectid(), r.offset(),
                    r.count());
            case ItemType.SHARED_DATA_REF -> new Backref(RefTable.SHARED_DATA_REF, r.parent(), 0, 0, r.count());
            default -> null;
        };
    }

    /** The identity of tuple {@code i} of a ref table, with count 1. */
    static Backref of(RefTable t, int i) {
        int kind = t.kind(i);
        boolean data = kind == RefTable.EXTENT_DATA_REF;
        return new Backref(kind, t.a(i), data ? t.b(i) : 0, data ? t.c(i) : 0, 1);
    }

    boolean isTreeRef() {
        return kind == RefTable.TREE_BLOCK_REF || kind == RefTable.SHARED_BLOCK_REF;
    }

    /** The root this backref names, or 0 for shared (parent) backrefs. */
    long root() {
        return kind == RefTable.TREE_BLOCK_REF || kind == RefTable.EXTENT_DATA_REF ? a : 0;
    }

    /** As btrfs-progs words backrefs. */
    String describe() {
        return switch (kind) {
            case RefTable.TREE_BLOCK_REF -> "TREE_BLOCK_REF root " + Areas.treeName(a);
            case RefTable.SHARED_BLOCK_REF -> "SHARED_BLOCK_REF parent " + Le.u64s(a);
            case RefTable.EXTENT_DATA_REF -> "EXTENT_DATA_REF root " + Areas.treeName(a) + " ino " + Le.u64s(b)
                    + " offset " + Le.u64s(c);
            case RefTable.SHARED_DATA_REF -> "SHARED_DATA_REF parent " + Le.u64s(a);
            default -> "backref kind " + kind;
        };
    }
}
