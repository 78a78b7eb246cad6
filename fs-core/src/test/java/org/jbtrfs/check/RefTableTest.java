package org.jbtrfs.check;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The reference table sorts like a list of records would, and groups equal backrefs. */
class RefTableTest {
    @Test
    void sortsByBytenrThenIdentityUnsigned() {
        long seed = System.nanoTime();
        Random rnd = new Random(seed);
        RefTable t = new RefTable();
        List<Backref> model = new ArrayList<>();
        List<Long> bytenrs = new ArrayList<>();
        for (int i = 0; i < 20_000; i++) {
            long bytenr = rnd.nextInt(50) * 4096L + (rnd.nextInt(10) == 0 ? Long.MIN_VALUE : 0);
            long root = rnd.nextInt(4) == 0 ? -9L : 5 + rnd.nextInt(3);
            switch (rnd.nextInt(4)) {
                case 0 -> t.treeRef(bytenr, root, 7, 0);
                case 1 -> t.sharedTreeRef(bytenr, rnd.nextInt(5) * 16384L, 7, 1);
                case 2 -> t.dataRef(bytenr, root, 256 + rnd.nextInt(3), rnd.nextInt(3) * 4096L, 8192, rnd.nextBoolean());
                default -> t.sharedDataRef(bytenr, rnd.nextInt(5) * 16384L, 8192, false);
            }
            bytenrs.add(bytenr);
            model.add(Backref.of(t, i));
        }
        t.sort();
        for (int i = 1; i < t.size(); i++) {
            int c = Long.compareUnsigned(t.bytenr(i - 1), t.bytenr(i));
            assertTrue(c <= 0, "seed " + seed + ": bytenr order at " + i);
            if (c == 0) {
                assertTrue(Backref.IDENTITY.compare(Backref.of(t, i - 1), Backref.of(t, i)) <= 0,
                        "seed " + seed + ": identity order at " + i);
            }
        }
        assertEquals(20_000, t.size());
        // Nothing lost: the multiset of bytenrs is the same.
        List<Long> sorted = new ArrayList<>(bytenrs);
        sorted.sort(Comparator.comparing(Long::longValue, Long::compareUnsigned));
        for (int i = 0; i < t.size(); i++) {
            assertEquals((long) sorted.get(i), t.bytenr(i), "seed " + seed);
        }
    }

    @Test
    void fieldsRoundTripAndIdentityIgnoresAttributes() {
        RefTable t = new RefTable();
        t.dataRef(4096, 5, 257, 0, 1L << 20, true);
        t.dataRef(4096, 5, 257, 0, 8192, false);
        t.treeRef(4096, 5, 9, 2);
        t.sort();
        assertEquals(RefTable.TREE_BLOCK_REF, t.kind(0));
        assertEquals(9, t.b(0));
        assertEquals(2, t.c(0));
        assertTrue(t.sameRef(1, 2), "two file extents with one EXTENT_DATA_REF identity");
        assertFalse(t.sameRef(0, 1));
        assertEquals(8192, t.diskNumBytes(1));
        assertEquals(1L << 20, t.diskNumBytes(2));
        assertTrue(t.prealloc(2));
        assertFalse(t.prealloc(1));
    }
}
