package org.jbtrfs.ctree;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.jbtrfs.format.DiskKey;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Model-based test of the COW B-tree (the way H2's TestRandomMapOps checks MVMap against a
 * TreeMap): random inserts, deletes, in-place updates, grows and shrinks of items of random size
 * against a sorted map, with commits in between. After every commit the tree is read back from
 * the device through a cold cache — checksums, tree checker, parent/child keys and generations are
 * all verified by the reader — and compared with the model; the in-memory tree is compared more
 * often. Prints the seed; replay with -Djbtrfs.seed=N.
 */
class CowBTreeModelTest {
    static final int OPS = Integer.getInteger("jbtrfs.btree.ops", 20_000);

    @ParameterizedTest
    @ValueSource(ints = {4096, 16384})
    void randomOperationsMatchASortedMap(int nodesize) throws IOException {
        long seed = Long.getLong("jbtrfs.seed", System.nanoTime());
        System.out.println("CowBTreeModelTest nodesize " + nodesize + ": seed=" + seed + " (replay with -Djbtrfs.seed=" + seed + ")");
        Random rnd = new Random(seed);
        TestTrees t = new TestTrees(nodesize, 64L << 20, 1L << 20, rnd);
        long transid = 10;
        CowRoot root = t.createTree(5, transid);
        TreeMap<DiskKey, byte[]> model = new TreeMap<>();
        int maxItem = t.cow.maxItemSize();
        int step = 0;
        try {
            for (step = 0; step < OPS; step++) {
                root.lock.writeLock().lock();
                try {
                    oneOp(t, root, model, rnd, transid, maxItem, step);
                } finally {
                    root.lock.writeLock().unlock();
                }
                assertEquals(1, t.cache.usersHeld(), "only the root holds a reference between operations");
                if (step % 500 == 0) {
                    assertSame(model, t.btree, currentRoot(root));
                }
                if (rnd.nextInt(300) == 0) {
                    t.commit(root);
                    assertSame(model, t.coldReader(), root.commitRoot());
                    transid++;
                }
            }
            // Empty the tree completely, then commit: the root must end as an empty leaf.
            root.lock.writeLock().lock();
            try {
                for (DiskKey k : new ArrayList<>(model.keySet())) {
                    assertTrue(t.cow.deleteItem(transid, root, k), "delete " + k);
                    model.remove(k);
                }
                assertEquals(0, root.node().level(), "an empty tree is a leaf");
                assertEquals(0, root.node().nritems());
            } finally {
                root.lock.writeLock().unlock();
            }
            t.commit(root);
            assertSame(model, t.coldReader(), root.commitRoot());
        } catch (AssertionError | IOException | RuntimeException e) {
            throw new AssertionError("seed " + seed + " step " + step + ": " + e, e);
        }
        System.out.println("  blocks allocated " + t.allocated + ", freed in-transaction " + t.freedImmediately);
    }

    private static TreeRoot currentRoot(CowRoot root) {
        root.lock.readLock().lock();
        try {
            return root.current();
        } finally {
            root.lock.readLock().unlock();
        }
    }

    private static void oneOp(TestTrees t, CowRoot root, TreeMap<DiskKey, byte[]> model, Random rnd, long transid,
            int maxItem, int step) throws IOException {
        int op = rnd.nextInt(100);
        if (op < 50 || model.isEmpty()) {
            DiskKey k = new DiskKey(rnd.nextInt(2000), rnd.nextInt(4) * 12, rnd.nextInt(50));
            byte[] data = randomData(rnd, maxItem);
            boolean inserted = t.cow.insertItem(transid, root, k, data);
            assertEquals(!model.containsKey(k), inserted, "insert " + k);
            if (inserted) {
                model.put(k, data);
            }
        } else if (op < 80) {
            DiskKey k = pick(model, rnd);
            assertTrue(t.cow.deleteItem(transid, root, k), "delete " + k);
            model.remove(k);
            assertFalse(t.cow.deleteItem(transid, root, k), "delete twice " + k);
        } else if (op < 88) {
            DiskKey k = pick(model, rnd);
            byte[] old = model.get(k);
            int extra = 1 + rnd.nextInt(Math.max(1, Math.min(2000, maxItem - old.length)));
            if (old.length + extra > maxItem) {
                return;
            }
            try (Path p = new Path()) {
                assertTrue(t.cow.searchForWrite(transid, root, k, p, 0, extra));
                t.cow.extendItem(p, extra);
                byte[] grown = Arrays.copyOf(old, old.length + extra);
                for (int i = old.length; i < grown.length; i++) {
                    grown[i] = (byte) rnd.nextInt();
                }
                System.arraycopy(grown, old.length, p.leaf().data(), p.leaf().itemDataOffset(p.slot()) + old.length, extra);
                model.put(k, grown);
            }
        } else if (op < 94) {
            DiskKey k = pick(model, rnd);
            byte[] old = model.get(k);
            if (old.length == 0) {
                return;
            }
            int newSize = rnd.nextInt(old.length);
            boolean fromEnd = rnd.nextBoolean();
            try (Path p = new Path()) {
                assertTrue(t.cow.searchForWrite(transid, root, k, p, 0, 0));
                t.cow.truncateItem(p, newSize, fromEnd);
                model.put(k, fromEnd ? Arrays.copyOf(old, newSize) : Arrays.copyOfRange(old, old.length - newSize, old.length));
            }
        } else {
            DiskKey k = pick(model, rnd);
            byte[] old = model.get(k).clone();
            try (Path p = new Path()) {
                assertTrue(t.cow.searchForWrite(transid, root, k, p, 0, 0));
                for (int i = 0; i < old.length; i++) {
                    old[i] ^= (byte) step;
                }
                System.arraycopy(old, 0, p.leaf().data(), p.leaf().itemDataOffset(p.slot()), old.length);
                model.put(k, old);
            }
        }
    }

    private static byte[] randomData(Random rnd, int maxItem) {
        int r = rnd.nextInt(100);
        int size = r < 70 ? rnd.nextInt(120) : r < 95 ? rnd.nextInt(1500) : rnd.nextInt(maxItem + 1);
        byte[] b = new byte[size];
        rnd.nextBytes(b);
        return b;
    }

    private static DiskKey pick(TreeMap<DiskKey, byte[]> model, Random rnd) {
        DiskKey probe = new DiskKey(rnd.nextInt(2000), 0, 0);
        DiskKey k = model.ceilingKey(probe);
        return k != null ? k : model.firstKey();
    }

    /** The tree under {@code root} holds exactly the model's items, in order. */
    static void assertSame(TreeMap<DiskKey, byte[]> model, BTree reader, TreeRoot root) throws IOException {
        List<Map.Entry<DiskKey, byte[]>> expect = new ArrayList<>(model.entrySet());
        int[] i = {0};
        reader.scan(root, DiskKey.MIN, DiskKey.MAX, (key, data, off, len) -> {
            assertTrue(i[0] < expect.size(), "extra item " + key);
            Map.Entry<DiskKey, byte[]> e = expect.get(i[0]++);
            assertEquals(e.getKey(), key);
            assertArrayEquals(e.getValue(), Arrays.copyOfRange(data, off, off + len), "data of " + key);
            return true;
        });
        assertEquals(expect.size(), i[0], "item count");
        int[] blocks = {0};
        reader.walk(root, eb -> blocks[0]++);
        assertTrue(blocks[0] >= 1);
    }
}
