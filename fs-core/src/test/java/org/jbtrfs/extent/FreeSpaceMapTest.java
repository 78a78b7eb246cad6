package org.jbtrfs.extent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.BitSet;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The free range set against a bitmap model, and its refusals. */
class FreeSpaceMapTest {
    @Test
    void coalescesAndSplits() {
        FreeSpaceMap m = new FreeSpaceMap();
        m.add(0, 4096);
        m.add(8192, 4096);
        assertEquals(2, m.extentCount());
        m.add(4096, 4096);
        assertEquals(1, m.extentCount(), "touching ranges merge: " + m);
        m.remove(4096, 4096);
        assertEquals(2, m.extentCount());
        assertEquals(8192, m.totalBytes());
        assertEquals(8192, m.findFirstFit(4096, 4096, 4096));
        assertEquals(-1, m.findFirstFit(8192, 0, 4096));
        assertThrows(AssertionError.class, () -> m.remove(4096, 4096), "removing a used range");
        assertThrows(AssertionError.class, () -> m.add(0, 8192), "adding over a free range");
    }

    @Test
    void randomOperationsMatchABitmap() {
        long seed = Long.getLong("jbtrfs.seed", System.nanoTime());
        System.out.println("FreeSpaceMapTest: seed=" + seed);
        Random rnd = new Random(seed);
        int units = 512;
        BitSet free = new BitSet(units);
        FreeSpaceMap m = new FreeSpaceMap();
        for (int step = 0; step < 20_000; step++) {
            int a = rnd.nextInt(units);
            int len = 1 + rnd.nextInt(Math.min(16, units - a));
            boolean allFree = free.get(a, a + len).cardinality() == len;
            boolean noneFree = free.get(a, a + len).isEmpty();
            if (rnd.nextBoolean() && noneFree) {
                m.add(a * 4096L, len * 4096L);
                free.set(a, a + len);
            } else if (allFree) {
                m.remove(a * 4096L, len * 4096L);
                free.clear(a, a + len);
            }
            assertEquals(free.cardinality() * 4096L, m.totalBytes(), "seed " + seed + " step " + step);
            assertEquals(allFreeNow(free, a, len), m.contains(a * 4096L, len * 4096L), "seed " + seed + " step " + step);
            long fit = m.findFirstFit(len * 4096L, 0, 4096);
            int expect = firstRun(free, len);
            assertEquals(expect < 0 ? -1 : expect * 4096L, fit, "seed " + seed + " step " + step);
        }
        int runs = 0;
        for (int i = free.nextSetBit(0); i >= 0; i = free.nextSetBit(free.nextClearBit(i))) {
            runs++;
        }
        assertEquals(runs, m.extentCount());
        assertFalse(m.extents().isEmpty() && free.cardinality() > 0);
        assertTrue(m.sameAs(new FreeSpaceMap(m)));
    }

    private static boolean allFreeNow(BitSet free, int a, int len) {
        return free.get(a, a + len).cardinality() == len;
    }

    private static int firstRun(BitSet free, int len) {
        for (int i = free.nextSetBit(0); i >= 0; i = free.nextSetBit(i + 1)) {
            int end = free.nextClearBit(i);
            if (end - i >= len) {
                return i;
            }
            i = end;
        }
        return -1;
    }
}
