package org.jbtrfs.check;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** RangeList against a plain bitmap model, and its edge cases as a table. */
class RangeListTest {
    private static RangeList of(long... bounds) {
        RangeList r = new RangeList();
        for (int i = 0; i < bounds.length; i += 2) {
            assertTrue(r.append(bounds[i], bounds[i + 1]));
        }
        return r;
    }

    private static List<Long> flat(RangeList r) {
        List<Long> out = new ArrayList<>();
        for (int i = 0; i < r.size(); i++) {
            out.add(r.start(i));
            out.add(r.end(i));
        }
        return out;
    }

    @Test
    void appendMergesTouchingAndRefusesOverlap() {
        RangeList r = of(0, 10, 10, 20, 30, 40);
        assertEquals(List.of(0L, 20L, 30L, 40L), flat(r));
        assertFalse(r.append(35, 50), "overlap");
        assertFalse(r.append(5, 6), "out of order");
        assertEquals(40, r.lastEnd());
    }

    @Test
    void coveredAndSubtractTable() {
        RangeList a = of(0, 100, 200, 300);
        long[][] covered = {{0, 100, 100}, {50, 100, 50}, {90, 120, 20}, {100, 100, 0}, {0, 400, 200}, {250, 10, 10}};
        for (long[] c : covered) {
            assertEquals(c[2], a.covered(c[0], c[1]), "covered(" + c[0] + ", " + c[1] + ")");
        }
        RangeList out = new RangeList();
        a.subtract(of(10, 20, 90, 210, 290, 400), 0, 1000, out);
        assertEquals(List.of(0L, 10L, 20L, 90L, 210L, 290L), flat(out));
        RangeList clipped = new RangeList();
        a.subtract(new RangeList(), 50, 250, clipped);
        assertEquals(List.of(50L, 100L, 200L, 250L), flat(clipped));
    }

    @Test
    void unsignedAddressesAboveTwoToThe63() {
        long hi = 0x8000_0000_0000_0000L;
        RangeList r = of(100, 200, hi, hi + 4096);
        assertEquals(4096, r.covered(hi, 8192));
        assertEquals(100, r.covered(0, hi));
        RangeList out = new RangeList();
        of(0, -1L).subtract(r, 0, -1L, out);
        assertEquals(List.of(0L, 100L, 200L, hi, hi + 4096, -1L), flat(out));
    }

    @Test
    void randomAgainstBitmapModel() {
        long seed = System.nanoTime();
        Random rnd = new Random(seed);
        for (int round = 0; round < 200; round++) {
            boolean[] ma = new boolean[512];
            boolean[] mb = new boolean[512];
            RangeList a = random(rnd, ma);
            RangeList b = random(rnd, mb);
            int from = rnd.nextInt(512);
            int to = from + rnd.nextInt(512 - from + 1);
            RangeList out = new RangeList();
            a.subtract(b, from, to, out);
            for (int i = 0; i < 512; i++) {
                boolean expect = ma[i] && !mb[i] && i >= from && i < to;
                assertEquals(expect, out.covered(i, 1) == 1, "seed " + seed + " round " + round + " at " + i);
            }
            int s = rnd.nextInt(512);
            int len = rnd.nextInt(512 - s + 1);
            long model = 0;
            for (int i = s; i < s + len; i++) {
                model += ma[i] ? 1 : 0;
            }
            assertEquals(model, a.covered(s, len), "seed " + seed);
        }
    }

    private static RangeList random(Random rnd, boolean[] model) {
        RangeList r = new RangeList();
        int p = rnd.nextInt(20);
        while (p < model.length) {
            int len = 1 + rnd.nextInt(30);
            int end = Math.min(model.length, p + len);
            assertTrue(r.append(p, end));
            for (int i = p; i < end; i++) {
                model[i] = true;
            }
            p = end + rnd.nextInt(30);
        }
        return r;
    }
}
