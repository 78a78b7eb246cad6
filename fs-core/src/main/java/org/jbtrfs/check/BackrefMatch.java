package org.jbtrfs.check;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.ExtentItem;
import org.jbtrfs.format.ItemType;
import org.jbtrfs.format.Le;

/**
 * One extent's backrefs (inline and keyed) against the references the walks found to it: tuples
 * {@code [from, to)} of the sorted {@link RefTable}. Both sides are sorted by identity and merged.
 * See invariants 1 to 3 of {@link ExtentCheck}.
 */
final class BackrefMatch {
    private final CheckContext ctx;
    private final Supplier<String> what;
    private final DiskKey key;
    private final ExtentItem item;
    private final List<Backref> keyed;
    private final int from;
    private final int to;
    private final long length;
    private final boolean tree;

    BackrefMatch(CheckContext ctx, Supplier<String> what, DiskKey key, ExtentItem item, List<Backref> keyed, int from, int to,
            long length, boolean tree) {
        this.ctx = ctx;
        this.what = what;
        this.key = key;
        this.item = item;
        this.keyed = keyed;
        this.from = from;
        this.to = to;
        this.length = length;
        this.tree = tree;
    }

    void run() {
        List<Backref> found = new ArrayList<>(item.inlineRefs().size() + keyed.size());
        long sum = 0;
        for (ExtentItem.InlineRef r : item.inlineRefs()) {
            Backref b = Backref.of(r);
            if (b != null) {
                found.add(b);
            }
            sum += r.count();
        }
        for (Backref b : keyed) {
            found.add(b);
            sum += b.count();
        }
        if (item.refs() == 0) {
            ctx.problem(Areas.EXTENT, what.get() + ": refs 0");
        } else if (item.refs() != sum) {
            ctx.problem(Areas.EXTENT, what.get() + ": refs " + Le.u64s(item.refs()) + ", but its backrefs count "
                    + Le.u64s(sum));
        }
        if (!kindsAgree(found)) {
            return;
        }
        attributes();
        found.sort(Backref.IDENTITY);
        merge(found);
        preallocCsums();
    }

    /** Tree blocks have tree backrefs and referrers only, data extents data ones. */
    private boolean kindsAgree(List<Backref> found) {
        for (Backref b : found) {
            if (b.isTreeRef() != tree) {
                ctx.problem(Areas.EXTENT, what.get() + " has backref " + b.describe() + " of the wrong kind");
                return false;
            }
        }
        RefTable t = ctx.refs;
        for (int i = from; i < to; i++) {
            Backref r = Backref.of(t, i);
            if (r.isTreeRef() != tree) {
                ctx.problem(Areas.EXTENT, what.get() + " is referred to as a " + (tree ? "data extent" : "tree block")
                        + " (" + r.describe() + ")");
                return false;
            }
        }
        return true;
    }

    /** What referrers say about the extent: level and generation of a block, size of data. */
    private void attributes() {
        RefTable t = ctx.refs;
        int level = key.type() == ItemType.METADATA_ITEM ? (int) key.offset() : item.treeBlockLevel();
        for (int i = from; i < to; i++) {
            if (i > from && t.sameRef(i - 1, i) && t.b(i) == t.b(i - 1) && t.c(i) == t.c(i - 1)
                    && t.diskNumBytes(i) == t.diskNumBytes(i - 1)) {
                continue;
            }
            Backref r = Backref.of(t, i);
            if (tree) {
                if (t.c(i) != level) {
                    ctx.problem(Areas.EXTENT, what.get() + ": level " + level + " in the extent tree, but " + r.describe()
                            + " finds a block of level " + t.c(i));
                }
                if (t.b(i) != item.generation()) {
                    ctx.problem(Areas.EXTENT, what.get() + ": generation " + Le.u64s(item.generation())
                            + " in the extent tree, but the block's is " + Le.u64s(t.b(i)));
                }
            } else if (t.diskNumBytes(i) != length) {
                ctx.problem(Areas.EXTENT, what.get() + ": a file extent (" + r.describe() + ") says disk_num_bytes "
                        + Le.u64s(t.diskNumBytes(i)));
            }
        }
    }

    /** Both sides sorted by identity: every backref's count equals its number of referrers. */
    private void merge(List<Backref> found) {
        RefTable t = ctx.refs;
        int i = from;
        int j = 0;
        while (i < to || j < found.size()) {
            Backref expect = i < to ? Backref.of(t, i) : null;
            Backref have = j < found.size() ? found.get(j) : null;
            int c = expect == null ? 1 : have == null ? -1 : Backref.IDENTITY.compare(expect, have);
            long referrers = 0;
            if (c <= 0) {
                int g = i;
                while (i < to && t.sameRef(g, i)) {
                    i++;
                }
                referrers = i - g;
            }
            long count = 0;
            Backref id = c <= 0 ? expect : have;
            while (c >= 0 && j < found.size() && Backref.IDENTITY.compare(found.get(j), id) == 0) {
                count += found.get(j++).count();
            }
            if (count != referrers && !tolerated(id, count, referrers)) {
                report(id, count, referrers);
            }
        }
    }

    private void report(Backref id, long count, long referrers) {
        String who = tree ? "tree blocks point at it" : "file extents refer to it";
        if (count == 0) {
            ctx.problem(Areas.EXTENT, what.get() + ": backref " + id.describe() + " is missing from the extent tree ("
                    + referrers + " " + who + ")");
        } else if (referrers == 0) {
            ctx.problem(Areas.EXTENT, what.get() + ": backref " + id.describe() + " (count " + Le.u64s(count)
                    + ") has no referrer");
        } else {
            ctx.problem(Areas.EXTENT, what.get() + ": backref " + id.describe() + " has count " + Le.u64s(count) + ", but "
                    + referrers + " " + who);
        }
    }

    /**
     * A tree that was not walked (a dead root partly dropped) holds referrers the walks did not
     * count: extra counts naming it, or naming parents no walk saw, are not held against the image.
     */
    private boolean tolerated(Backref id, long count, long referrers) {
        if (ctx.skippedTrees.isEmpty() || count < referrers) {
            return false;
        }
        long root = id.root();
        return root != 0 ? ctx.skippedTrees.contains(root) : !ctx.seenBlocks.contains(id.a());
    }

    /** A PREALLOC file extent with csums is fine only if a regular file extent wrote the extent. */
    private void preallocCsums() {
        long bytenr = key.objectid();
        if (tree || !ctx.preallocWithCsums.contains(bytenr)) {
            return;
        }
        for (int i = from; i < to; i++) {
            if (!ctx.refs.prealloc(i)) {
                return;
            }
        }
        ctx.problem(Areas.CSUM, what.get() + ": has csums, but only PREALLOC file extents refer to it");
    }
}
