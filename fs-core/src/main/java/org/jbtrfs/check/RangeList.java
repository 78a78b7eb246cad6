package org.jbtrfs.check;

import java.util.Arrays;

/**
 * Disjoint half-open ranges [start, end) of u64 addresses, appended in ascending order and merged
 * when they touch: csum coverage, data extent coverage, a block group's allocated or free space.
 * Two longs a range in one array, so a million ranges take 16 MB, not a TreeMap's ~100.
 *
 * <p>Addresses are compared unsigned (btrfs logical addresses are u64); callers never append
 * a range that wraps past 2^64.
 */
final class RangeList {
    private long[] bounds = new long[32];
    private int count;

    /**
     * Appends [start, end). Returns false, appending nothing, when it starts below the end of the
     * last range (out of order or overlapping): the caller reports that.
     */
    boolean append(long start, long end) {
        assert Long.compareUnsigned(start, end) < 0 : Long.toUnsignedString(start) + " " + Long.toUnsignedString(end);
        if (count > 0) {
            long lastEnd = bounds[2 * count - 1];
            int c = Long.compareUnsigned(start, lastEnd);
            if (c < 0) {
                return false;
            }
            if (c == 0) {
                bounds[2 * count - 1] = end;
                return true;
            }
        }
        if (2 * count + 2 > bounds.length) {
            bounds = Arrays.copyOf(bounds, bounds.length * 2);
        }
        bounds[2 * count] = start;
        bounds[2 * count + 1] = end;
        count++;
        return true;
    }

    int size() {
        return count;
    }

    long start(int i) {
        return bounds[2 * i];
    }

    long end(int i) {
        return bounds[2 * i + 1];
    }

    /** End of the last range, or 0 when empty. */
    long lastEnd() {
        return count == 0 ? 0 : bounds[2 * count - 1];
    }

    void clear() {
        count = 0;
    }

    /** Bytes of [start, start+len) covered by the ranges. */
    long covered(long start, long len) {
        long end = start + len;
        long total = 0;
        for (int i = firstEndingAfter(start); i < count; i++) {
            long s = start(i);
            if (Long.compareUnsigned(s, end) >= 0) {
                break;
            }
            long from = Long.compareUnsigned(s, start) > 0 ? s : start;
            long to = Long.compareUnsigned(end(i), end) < 0 ? end(i) : end;
            total += to - from;
        }
        return total;
    }

    /** The first range whose end is above {@code addr}: binary search over the sorted ends. */
    int firstEndingAfter(long addr) {
        int lo = 0;
        int hi = count;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (Long.compareUnsigned(end(mid), addr) > 0) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        return lo;
    }

    /**
     * The parts of {@code this} not covered by {@code other}, clipped to [from, to), appended to
     * {@code out} in order.
     */
    void subtract(RangeList other, long from, long to, RangeList out) {
        int j = other.firstEndingAfter(from);
        for (int i = firstEndingAfter(from); i < count; i++) {
            long s = max(start(i), from);
            long e = min(end(i), to);
            if (Long.compareUnsigned(s, to) >= 0) {
                break;
            }
            while (Long.compareUnsigned(s, e) < 0) {
                while (j < other.count && Long.compareUnsigned(other.end(j), s) <= 0) {
                    j++;
                }
                if (j >= other.count || Long.compareUnsigned(other.start(j), e) >= 0) {
                    out.append(s, e);
                    break;
                }
                if (Long.compareUnsigned(other.start(j), s) > 0) {
                    out.append(s, other.start(j));
                }
                s = other.end(j);
            }
        }
    }

    static long max(long a, long b) {
        return Long.compareUnsigned(a, b) >= 0 ? a : b;
    }

    static long min(long a, long b) {
        return Long.compareUnsigned(a, b) <= 0 ? a : b;
    }
}
