package org.jbtrfs.check;

import java.util.Arrays;

/**
 * A set of longs with open addressing (linear probing), 8 bytes a slot at most 1/2 full: the
 * blocks a walk has seen. Boxed {@code HashSet<Long>} would take ~50 bytes an entry.
 */
final class LongHashSet {
    private static final long EMPTY = 0;
    private static final int MIN_CAPACITY = 64;

    private long[] slots = new long[MIN_CAPACITY];
    private int size;
    /** 0 is the empty-slot marker, so whether 0 itself is in the set is kept apart. */
    private boolean hasZero;

    /** Adds {@code v}; returns false when it was already there. */
    boolean add(long v) {
        if (v == EMPTY) {
            boolean added = !hasZero;
            hasZero = true;
            return added;
        }
        if ((size + 1) * 2 > slots.length) {
            grow();
        }
        int mask = slots.length - 1;
        for (int i = mix(v) & mask;; i = (i + 1) & mask) {
            long s = slots[i];
            if (s == EMPTY) {
                slots[i] = v;
                size++;
                return true;
            }
            if (s == v) {
                return false;
            }
        }
    }

    boolean contains(long v) {
        if (v == EMPTY) {
            return hasZero;
        }
        int mask = slots.length - 1;
        for (int i = mix(v) & mask;; i = (i + 1) & mask) {
            long s = slots[i];
            if (s == EMPTY) {
                return false;
            }
            if (s == v) {
                return true;
            }
        }
    }

    int size() {
        return size + (hasZero ? 1 : 0);
    }

    void clear() {
        slots = new long[MIN_CAPACITY];
        size = 0;
        hasZero = false;
    }

    private void grow() {
        long[] old = slots;
        slots = new long[old.length * 2];
        size = 0;
        for (long v : old) {
            if (v != EMPTY) {
                add(v);
            }
        }
        assert size * 2 <= slots.length : Arrays.toString(new int[] {size, slots.length});
    }

    private static int mix(long v) {
        long h = v * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 32));
    }
}
