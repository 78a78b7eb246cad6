package org.jbtrfs.ctree;

import java.io.IOException;
import java.util.Random;
import java.util.concurrent.Executor;
import org.jbtrfs.format.DiskKey;

/**
 * A committed tree on an in-memory device, for tests of the read side of the cache: items whose
 * keys and bytes follow from their index, so any reader can check what it got without a model,
 * and the raw bytes of any block straight from the device.
 */
final class ReadImage {
    static final int ITEM_TYPE = 1;

    final TestTrees trees;
    final TreeRoot root;
    final int items;

    private ReadImage(TestTrees trees, TreeRoot root, int items) {
        this.trees = trees;
        this.root = root;
        this.items = items;
    }

    /** {@code items} items in one tree of {@code nodesize} blocks, committed. */
    static ReadImage build(int nodesize, int items, long seed) throws IOException {
        TestTrees t = new TestTrees(nodesize, 64L << 20, 64L << 20, new Random(seed));
        CowRoot r = t.createTree(5, 10);
        r.lock.writeLock().lock();
        try {
            for (int i = 0; i < items; i++) {
                if (!t.cow.insertItem(10, r, key(i), value(i))) {
                    throw new AssertionError("item " + i + " inserted twice");
                }
            }
        } finally {
            r.lock.writeLock().unlock();
        }
        t.commit(r);
        return new ReadImage(t, r.commitRoot(), items);
    }

    static DiskKey key(int i) {
        return new DiskKey(256 + 2L * i, ITEM_TYPE, i);
    }

    /** Item {@code i}'s bytes: a length and contents that differ from item to item. */
    static byte[] value(int i) {
        byte[] v = new byte[16 + i % 97];
        for (int j = 0; j < v.length; j++) {
            v[j] = (byte) (i * 31 + j * 7);
        }
        return v;
    }

    /** A reader with a cold cache of {@code cacheBytes} over the device, readahead on {@code ex}. */
    BTree reader(long cacheBytes, Executor ex) {
        TestTrees t = trees;
        return new BTree(new TreeBlockReader(t.device, t.chunks, t.csum, t.fsid, t.nodesize, 4096,
                new ExtentBufferCache(cacheBytes), ex));
    }

    /** The block as it is on the device (first mirror). */
    byte[] onDisk(long bytenr) throws IOException {
        byte[] b = new byte[trees.nodesize];
        trees.device.read(trees.chunks.map(bytenr, b.length)[0], b, 0, b.length);
        return b;
    }
}
