package org.jbtrfs.extent;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A set of free byte ranges, kept disjoint and coalesced (the kernel's in-memory free space cache
 * of free-space-cache.c, extent entries only). Not thread safe: the owning {@link BlockGroup}'s
 * lock guards it.
 *
 * <p>Invariants, asserted after every change: ranges are non-empty, disjoint, and no two touch
 * (touching ranges are merged); {@link #totalBytes()} is their sum.
 */
public final class FreeSpaceMap {
    /** start → end (exclusive). */
    private final TreeMap<Long, Long> ranges = new TreeMap<>();
    private long total;

    public FreeSpaceMap() {
    }

    public FreeSpaceMap(FreeSpaceMap other) {
        ranges.putAll(other.ranges);
        total = other.total;
    }

    /** Marks [start, start + len) free; it must not overlap a free range. */
    public void add(long start, long len) {
        assert len > 0 : "empty range at " + start;
        long end = start + len;
        Map.Entry<Long, Long> below = ranges.floorEntry(start);
        Map.Entry<Long, Long> above = ranges.ceilingEntry(start);
        assert below == null || below.getValue() <= start : "adding [" + start + "," + end + ") overlaps free [" + below.getKey() + "," + below.getValue() + ")";
        assert above == null || above.getKey() >= end : "adding [" + start + "," + end + ") overlaps free [" + above.getKey() + "," + above.getValue() + ")";
        long s = start;
        long e = end;
        if (below != null && below.getValue() == start) {
            s = below.getKey();
            ranges.remove(below.getKey());
        }
        if (above != null && above.getKey() == end) {
            e = above.getValue();
            ranges.remove(above.getKey());
        }
        ranges.put(s, e);
        total += len;
    }

    /**
     * Like {@link #add} for ranges read from disk: returns false, changing nothing, when the range
     * is empty or overlaps a free range (always checked, not an assert: the bytes are not ours).
     */
    public boolean tryAdd(long start, long len) {
        if (len <= 0 || start + len < start) {
            return false;
        }
        Map.Entry<Long, Long> below = ranges.floorEntry(start);
        Map.Entry<Long, Long> above = ranges.ceilingEntry(start);
        if ((below != null && below.getValue() > start) || (above != null && above.getKey() < start + len)) {
            return false;
        }
        add(start, len);
        return true;
    }

    /** Marks [start, start + len) used; it must lie inside one free range. */
    public void remove(long start, long len) {
        assert len > 0 : "empty range at " + start;
        long end = start + len;
        Map.Entry<Long, Long> r = ranges.floorEntry(start);
        if (r == null || r.getValue() < end) {
            throw new AssertionError("removing [" + start + "," + end + ") which is not free"
                    + (r == null ? "" : " (nearest free [" + r.getKey() + "," + r.getValue() + "))"));
        }
        ranges.remove(r.getKey());
        if (r.getKey() < start) {
            ranges.put(r.getKey(), start);
        }
        if (end < r.getValue()) {
            ranges.put(end, r.getValue());
        }
        total -= len;
    }

    /** Whether all of [start, start + len) is free. */
    public boolean contains(long start, long len) {
        Map.Entry<Long, Long> r = ranges.floorEntry(start);
        return r != null && r.getValue() >= start + len;
    }

    /**
     * The lowest start at or after {@code from}, aligned to {@code align}, of a free range of
     * {@code len} bytes; -1 when there is none (first fit, as find_free_extent's cluster-less path).
     */
    public long findFirstFit(long len, long from, long align) {
        Map.Entry<Long, Long> first = ranges.floorEntry(from);
        Iterable<Map.Entry<Long, Long>> it = first != null && first.getValue() > from
                ? ranges.tailMap(first.getKey(), true).entrySet() : ranges.tailMap(from, true).entrySet();
        for (Map.Entry<Long, Long> r : it) {
            long s = Math.max(r.getKey(), from);
            long aligned = (s + align - 1) / align * align;
            if (aligned + len <= r.getValue()) {
                return aligned;
            }
        }
        return -1;
    }

    public long totalBytes() {
        return total;
    }

    public int extentCount() {
        return ranges.size();
    }

    /** The ranges as [start, length] pairs, in order. */
    public List<long[]> extents() {
        List<long[]> out = new ArrayList<>(ranges.size());
        for (Map.Entry<Long, Long> r : ranges.entrySet()) {
            out.add(new long[] {r.getKey(), r.getValue() - r.getKey()});
        }
        return out;
    }

    /** Whether both maps hold the same ranges. */
    public boolean sameAs(FreeSpaceMap o) {
        return ranges.equals(o.ranges);
    }

    /** Ranges (start → end) of this map that {@code other} does not hold exactly. */
    public TreeMap<Long, Long> rangesNotIn(FreeSpaceMap other) {
        TreeMap<Long, Long> out = new TreeMap<>();
        for (Map.Entry<Long, Long> r : ranges.entrySet()) {
            Long e = other.ranges.get(r.getKey());
            if (e == null || !e.equals(r.getValue())) {
                out.put(r.getKey(), r.getValue());
            }
        }
        return out;
    }

    @Override
    public String toString() {
        return ranges.toString();
    }
}
