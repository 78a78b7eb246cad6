package org.jbtrfs.check;

import java.util.Arrays;

/**
 * Every reference the tree walks found to an extent, as fixed-size tuples of five longs in one
 * growing array, sorted once and then merged with the extent tree, which is sorted by bytenr too.
 * This is how the checker matches "who points at an extent" with "what the extent tree says
 * points at it" in bounded memory: 40 bytes a reference, no object per reference (btrfs check's
 * original mode keeps a heap record per extent and per backref instead).
 *
 * <h2>Tuple layout</h2>
 * <pre>
 *   [0] bytenr      the extent referred to
 *   [1] kind field  bits 0-7 {@link #TREE_BLOCK_REF} .. {@link #SHARED_DATA_REF}; for data refs bit 8
 *                   is set for a PREALLOC file extent and bits 9-63 hold its disk_num_bytes
 *   [2] a           root (TREE_BLOCK_REF, EXTENT_DATA_REF) or parent block (SHARED_*)
 *   [3] b           tree blocks: the generation the parent pointer promises; EXTENT_DATA_REF: inode
 *   [4] c           tree blocks: the level; EXTENT_DATA_REF: file offset minus extent offset
 * </pre>
 * The identity of a backref is (kind, a) for tree and shared refs and (kind, a, b, c) for
 * EXTENT_DATA_REF, as in the extent tree; the other fields are attributes checked against the
 * extent item. Tuples sort by bytenr, then identity, so equal backrefs are adjacent.
 */
final class RefTable {
    static final int TREE_BLOCK_REF = 1;
    static final int SHARED_BLOCK_REF = 2;
    static final int EXTENT_DATA_REF = 3;
    static final int SHARED_DATA_REF = 4;
    static final long PREALLOC_BIT = 1L << 8;
    static final int DISK_BYTES_SHIFT = 9;
    /** Largest disk_num_bytes the kind field holds; larger values are clamped (and mismatch anyway). */
    static final long DISK_BYTES_MAX = -1L >>> DISK_BYTES_SHIFT;

    private static final int W = 5;
    /** Below this many tuples a range is insertion-sorted. */
    private static final int INSERTION_SORT_MAX = 12;

    private long[] t = new long[W * 1024];
    private int n;
    private boolean sorted = true;

    void treeRef(long bytenr, long root, long generation, int level) {
        add(bytenr, TREE_BLOCK_REF, root, generation, level);
    }

    void sharedTreeRef(long bytenr, long parent, long generation, int level) {
        add(bytenr, SHARED_BLOCK_REF, parent, generation, level);
    }

    void dataRef(long bytenr, long root, long ino, long offset, long diskNumBytes, boolean prealloc) {
        add(bytenr, dataKind(EXTENT_DATA_REF, diskNumBytes, prealloc), root, ino, offset);
    }

    void sharedDataRef(long bytenr, long parent, long diskNumBytes, boolean prealloc) {
        add(bytenr, dataKind(SHARED_DATA_REF, diskNumBytes, prealloc), parent, 0, 0);
    }

    private static long dataKind(int kind, long diskNumBytes, boolean prealloc) {
        long d = Long.compareUnsigned(diskNumBytes, DISK_BYTES_MAX) > 0 ? DISK_BYTES_MAX : diskNumBytes;
        return kind | (prealloc ? PREALLOC_BIT : 0) | (d << DISK_BYTES_SHIFT);
    }

    private void add(long bytenr, long kindField, long a, long b, long c) {
        if (W * (n + 1) > t.length) {
            if (t.length >= Integer.MAX_VALUE / 2) {
                throw new IllegalStateException("more than " + n + " extent references; raise the heap or split the check");
            }
            t = Arrays.copyOf(t, t.length * 2);
        }
        int p = W * n;
        t[p] = bytenr;
        t[p + 1] = kindField;
        t[p + 2] = a;
        t[p + 3] = b;
        t[p + 4] = c;
        n++;
        sorted = false;
    }

    int size() {
        return n;
    }

    long bytenr(int i) {
        return t[W * i];
    }

    int kind(int i) {
        return (int) (t[W * i + 1] & 0xff);
    }

    boolean prealloc(int i) {
        return (t[W * i + 1] & PREALLOC_BIT) != 0;
    }

    long diskNumBytes(int i) {
        return t[W * i + 1] >>> DISK_BYTES_SHIFT;
    }

    long a(int i) {
        return t[W * i + 2];
    }

    long b(int i) {
        return t[W * i + 3];
    }

    long c(int i) {
        return t[W * i + 4];
    }

    /** Whether tuples i and j name the same backref of the same extent. */
    boolean sameRef(int i, int j) {
        return compareIdentity(i, j) == 0;
    }

    /** Sorts by bytenr and identity (unsigned). Call once, after the walks. */
    void sort() {
        if (!sorted) {
            quicksort(0, n - 1, new java.util.Random(n));
            sorted = true;
        }
        assert isSorted();
    }

    private boolean isSorted() {
        for (int i = 1; i < n; i++) {
            if (compare(i - 1, i) > 0) {
                return false;
            }
        }
        return true;
    }

    private int compareIdentity(int i, int j) {
        int c = Long.compareUnsigned(bytenr(i), bytenr(j));
        if (c != 0) {
            return c;
        }
        c = Integer.compare(kind(i), kind(j));
        if (c != 0) {
            return c;
        }
        c = Long.compareUnsigned(a(i), a(j));
        if (c != 0 || kind(i) != EXTENT_DATA_REF) {
            return c;
        }
        c = Long.compareUnsigned(b(i), b(j));
        return c != 0 ? c : Long.compareUnsigned(c(i), c(j));
    }

    private int compare(int i, int j) {
        int c = compareIdentity(i, j);
        if (c != 0) {
            return c;
        }
        for (int k = 1; k < W; k++) {
            c = Long.compareUnsigned(t[W * i + k], t[W * j + k]);
            if (c != 0) {
                return c;
            }
        }
        return 0;
    }

    /** Three-way quicksort with random pivots: many equal tuples (shared extents) stay linear. */
    private void quicksort(int lo, int hi, java.util.Random rnd) {
        while (hi - lo >= INSERTION_SORT_MAX) {
            swap(lo, lo + rnd.nextInt(hi - lo + 1));
            int lt = lo;
            int gt = hi;
            int i = lo + 1;
            while (i <= gt) {
                int c = compare(i, lt);
                if (c < 0) {
                    swap(lt++, i++);
                } else if (c > 0) {
                    swap(i, gt--);
                } else {
                    i++;
                }
            }
            // Recurse into the smaller side so the stack stays O(log n).
            if (lt - lo < hi - gt) {
                quicksort(lo, lt - 1, rnd);
                lo = gt + 1;
            } else {
                quicksort(gt + 1, hi, rnd);
                hi = lt - 1;
            }
        }
        for (int i = lo + 1; i <= hi; i++) {
            for (int j = i; j > lo && compare(j - 1, j) > 0; j--) {
                swap(j - 1, j);
            }
        }
    }

    private void swap(int i, int j) {
        if (i == j) {
            return;
        }
        int pi = W * i;
        int pj = W * j;
        for (int k = 0; k < W; k++) {
            long x = t[pi + k];
            t[pi + k] = t[pj + k];
            t[pj + k] = x;
        }
    }
}
