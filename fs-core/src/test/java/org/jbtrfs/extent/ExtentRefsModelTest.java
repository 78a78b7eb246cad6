package org.jbtrfs.extent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import org.jbtrfs.ctree.BTree;
import org.jbtrfs.ctree.TreeRoot;
import org.jbtrfs.extent.DelayedRefs.Action;
import org.jbtrfs.extent.ExtentRefsHarness.ExtentState;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.ItemType;
import org.jbtrfs.format.ObjectIds;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Model-based test of delayed refs (the way H2's TestRandomMapOps checks a map against a TreeMap):
 * random allocations, adds and drops of tree block and data backrefs — root-keyed and shared, one
 * at a time and in bursts that push refs out of the extent item into keyed items — against a plain
 * model of who points where. The refs run in batches (sometimes partially first); after each full
 * run the in-memory extent tree must equal the model, and after each commit the tree read back from
 * the device through a cold cache must. The extent tree's own blocks are part of the expectation:
 * each must have its METADATA_ITEM with one TREE_BLOCK_REF of the extent tree, since the harness
 * queues delayed refs for them like the kernel does. Now and then a ref that does not apply is
 * queued: the run must abort, and after a rollback to the last commit everything goes on.
 * Prints the seed; replay with -Djbtrfs.seed=N.
 */
class ExtentRefsModelTest {
    static final int TRANSACTIONS = Integer.getInteger("jbtrfs.extent.txns", 100);
    static final long META_BASE = 1L << 32;
    static final long DATA_BASE = 1L << 36;
    static final long[] ROOTS = {5, 7, 256, 257, 258, 300, 1L << 40};
    /** Addresses per kind; at most {@link #MAX_EXTENTS} are used at once, so a free one is always near. */
    static final int SLOTS = 2000;
    /** Above this many extents the model drains, which keeps each full comparison cheap. */
    static final int MAX_EXTENTS = 400;

    /** One extent of the model: size, kind, level and its backrefs with their counts. */
    static final class MExtent {
        final long numBytes;
        final boolean metadata;
        final int level;
        final TreeMap<DelayedRefKey, Long> refs = new TreeMap<>();

        MExtent(long numBytes, boolean metadata, int level) {
            this.numBytes = numBytes;
            this.metadata = metadata;
            this.level = level;
        }

        MExtent copy() {
            MExtent c = new MExtent(numBytes, metadata, level);
            c.refs.putAll(refs);
            return c;
        }

        long total() {
            return refs.values().stream().mapToLong(Long::longValue).sum();
        }
    }

    static final class Model {
        final TreeMap<Long, MExtent> extents = new TreeMap<>();

        Model copy() {
            Model m = new Model();
            extents.forEach((b, e) -> m.extents.put(b, e.copy()));
            return m;
        }
    }

    private final List<String> log = new ArrayList<>();
    private Random rnd;
    private ExtentRefsHarness h;
    private Model model;
    /** Extents freed in the running transaction: pinned, not to be allocated again before the commit. */
    private final Set<Long> pinnedThisTxn = new HashSet<>();
    private long aborts;
    private long heads;

    @ParameterizedTest
    @ValueSource(ints = {4096, 16384})
    void randomRefsMatchAModel(int nodesize) throws IOException {
        long seed = Long.getLong("jbtrfs.seed", System.nanoTime());
        System.out.println("ExtentRefsModelTest nodesize " + nodesize + ": seed=" + seed + " (replay with -Djbtrfs.seed=" + seed + ")");
        rnd = new Random(seed);
        h = new ExtentRefsHarness(nodesize, 64L << 20, rnd, BackrefCodec.KERNEL_HASH);
        model = new Model();
        Model committed = model.copy();
        int txn = 0;
        try {
            for (txn = 0; txn < TRANSACTIONS; txn++) {
                boolean aborted = false;
                int batches = 1 + rnd.nextInt(4);
                for (int batch = 0; batch < batches && !aborted; batch++) {
                    int ops = 1 + rnd.nextInt(40);
                    for (int i = 0; i < ops; i++) {
                        randomOp();
                    }
                    if (rnd.nextInt(3) == 0) {
                        heads += h.runner.run(h.transid, h.extentRoot, h.refs, rnd.nextInt(6));
                    }
                    heads += h.runAll();
                    assertMatches("in memory", h.btree, h.currentRoot());
                    if (rnd.nextInt(12) == 0) {
                        badBatch();
                        model = committed.copy();
                        pinnedThisTxn.clear();
                        aborted = true;
                    }
                }
                if (aborted) {
                    continue;
                }
                h.commit();
                pinnedThisTxn.clear();
                committed = model.copy();
                assertMatches("committed", h.coldReader(), h.extentRoot.commitRoot());
                log.clear();
            }
        } catch (AssertionError | IOException | RuntimeException e) {
            throw new AssertionError("seed " + seed + " transaction " + txn + ", ops since the last commit:\n  "
                    + String.join("\n  ", log.subList(Math.max(0, log.size() - 60), log.size())) + "\n" + e, e);
        }
        System.out.println("  extents " + model.extents.size() + ", heads run " + heads + ", aborts " + aborts
                + ", allocated " + h.allocatedCalls + ", freed " + h.freedCalls);
        assertTrue(aborts > 0 || TRANSACTIONS < 30, "the test should have exercised aborts");
    }

    // ---- valid operations -------------------------------------------------------------------

    private void randomOp() {
        int r = rnd.nextInt(100);
        if (model.extents.size() > MAX_EXTENTS && r < 40) {
            r += 55; // a full model drains: drops instead of allocations and adds
        }
        if (r < 20 || model.extents.isEmpty()) {
            allocate();
        } else if (r < 55) {
            addRef(pickExtent(), 1);
        } else if (r < 92) {
            dropRef(pickExtent());
        } else {
            addRef(pickExtent(), 20 + rnd.nextInt(h.nodesize == 4096 ? 40 : 130));
        }
    }

    private long pickExtent() {
        Long b = model.extents.ceilingKey(rnd.nextBoolean() ? META_BASE + rnd.nextInt(SLOTS) * 16384L
                : DATA_BASE + rnd.nextInt(SLOTS) * 65536L);
        return b != null ? b : model.extents.firstKey();
    }

    /** A free address of the kind asked for: no extent in the model, not freed in this transaction. */
    private long freeAddress(boolean metadata) {
        while (true) {
            long bytenr = metadata ? META_BASE + rnd.nextInt(SLOTS) * 16384L : DATA_BASE + rnd.nextInt(SLOTS) * 65536L;
            if (!model.extents.containsKey(bytenr) && !pinnedThisTxn.contains(bytenr)) {
                return bytenr;
            }
        }
    }

    private void allocate() {
        boolean metadata = rnd.nextBoolean();
        long bytenr = freeAddress(metadata);
        MExtent e = metadata ? new MExtent(h.nodesize, true, rnd.nextInt(4)) : new MExtent(4096L * (1 + rnd.nextInt(16)), false, -1);
        DelayedRefKey k = randomKey(e);
        long count = metadata ? 1 : 1 + rnd.nextInt(3);
        queue(bytenr, e, k, Action.ADD, count, true);
        e.refs.put(k, count);
        model.extents.put(bytenr, e);
    }

    private DelayedRefKey randomKey(MExtent e) {
        boolean shared = rnd.nextInt(5) == 0;
        long parent = (1 + rnd.nextInt(64)) * 4096L;
        if (e.metadata) {
            return shared ? DelayedRefKey.sharedBlock(parent) : DelayedRefKey.treeBlock(ROOTS[rnd.nextInt(ROOTS.length)]);
        }
        return shared ? DelayedRefKey.sharedData(parent)
                : DelayedRefKey.extentData(ROOTS[rnd.nextInt(ROOTS.length)], 256 + rnd.nextInt(40), rnd.nextInt(8) * 4096L);
    }

    private void addRef(long bytenr, int n) {
        MExtent e = model.extents.get(bytenr);
        for (int i = 0; i < n; i++) {
            DelayedRefKey k;
            if (e.metadata) {
                // Enough distinct keys for bursts: roots and parents from wide ranges.
                k = rnd.nextInt(3) == 0 ? DelayedRefKey.sharedBlock((1 + rnd.nextInt(4096)) * 4096L)
                        : DelayedRefKey.treeBlock(ROOTS[rnd.nextInt(ROOTS.length)] + (n > 1 ? rnd.nextInt(100_000) : 0));
                if (e.refs.containsKey(k)) {
                    continue;
                }
            } else {
                k = n == 1 && !e.refs.isEmpty() && rnd.nextBoolean() ? randomExisting(e)
                        : DelayedRefKey.extentData(ROOTS[rnd.nextInt(ROOTS.length)], 256 + rnd.nextInt(1000), rnd.nextInt(64) * 4096L);
            }
            long count = e.metadata ? 1 : 1 + rnd.nextInt(3);
            queue(bytenr, e, k, Action.ADD, count, false);
            e.refs.merge(k, count, Long::sum);
        }
    }

    private DelayedRefKey randomExisting(MExtent e) {
        List<DelayedRefKey> keys = new ArrayList<>(e.refs.keySet());
        return keys.get(rnd.nextInt(keys.size()));
    }

    private void dropRef(long bytenr) {
        MExtent e = model.extents.get(bytenr);
        int n = e.refs.size() > 10 && rnd.nextInt(4) == 0 ? 1 + rnd.nextInt(e.refs.size()) : 1;
        for (int i = 0; i < n && !e.refs.isEmpty(); i++) {
            DelayedRefKey k = randomExisting(e);
            long have = e.refs.get(k);
            long drop = e.metadata ? 1 : 1 + rnd.nextInt((int) have);
            queue(bytenr, e, k, Action.DROP, drop, false);
            if (have == drop) {
                e.refs.remove(k);
            } else {
                e.refs.put(k, have - drop);
            }
        }
        if (e.refs.isEmpty()) {
            model.extents.remove(bytenr);
            pinnedThisTxn.add(bytenr);
        }
    }

    private void queue(long bytenr, MExtent e, DelayedRefKey k, Action a, long count, boolean alloc) {
        log.add((alloc ? "alloc " : "") + a + " " + count + " x " + k + " on " + bytenr + (e.metadata ? " level " + e.level
                : " (" + e.numBytes + " bytes)"));
        if (e.metadata) {
            for (long i = 0; i < count; i++) {
                h.refs.addTreeRef(bytenr, e.numBytes, e.level, k.isShared() ? 5 : k.root(), k.parent(), a, alloc,
                        new DiskKey(256, ItemType.INODE_ITEM, 0), h.transid);
            }
        } else {
            h.refs.addDataRef(bytenr, e.numBytes, k.isShared() ? 5 : k.root(), k.isShared() ? 257 : k.objectid(), k.offset(),
                    k.parent(), a, (int) count, alloc, h.transid);
        }
    }

    // ---- refs that do not apply ---------------------------------------------------------------

    /**
     * Queues one ref that cannot apply (on an empty queue, so nothing merges it away) plus valid
     * ones on other extents; the run must abort naming the bad extent. Then rolls back.
     */
    private void badBatch() throws IOException {
        assertEquals(0, h.refs.numHeads(), "bad refs go on an empty queue");
        long bad = badRef();
        for (int i = 0; i < 5 && !model.extents.isEmpty(); i++) {
            long b = pickExtent();
            if (b != bad) {
                addRef(b, 1);
            }
        }
        TransactionAbortException e = assertThrows(TransactionAbortException.class, h::runAll, "run after " + log.get(log.size() - 1));
        assertEquals(bad, e.bytenr(), e.getMessage());
        assertTrue(e.getMessage().contains(Long.toUnsignedString(bad)), e.getMessage());
        aborts++;
        h.rollback();
        log.add("aborted and rolled back: " + e.getMessage());
    }

    /** Queues a ref that does not apply to the model's state; returns its extent. */
    private long badRef() {
        int kind = rnd.nextInt(6);
        if (model.extents.isEmpty()) {
            kind = 2;
        }
        long b = kind == 2 || kind == 3 ? 0 : pickExtent();
        MExtent e = model.extents.get(b);
        switch (kind) {
            case 0 -> { // drop of a ref the extent does not have
                DelayedRefKey k;
                do {
                    k = randomKey(e);
                } while (e.refs.containsKey(k));
                queue(b, e, k, Action.DROP, 1, false);
            }
            case 1 -> { // drop of more than a ref holds (tree refs hold one)
                DelayedRefKey k = randomExisting(e);
                long have = e.refs.get(k);
                if (e.metadata) {
                    queue(b, e, k, Action.DROP, 1, false);
                    queue(b, e, k, Action.DROP, 1, false);
                } else {
                    queue(b, e, k, Action.DROP, have + 1, false);
                }
            }
            case 2 -> { // an add to an extent that has no item and was not allocated now
                long nb = freeAddress(false);
                queue(nb, new MExtent(8192, false, -1), DelayedRefKey.extentData(5, 300, 0), Action.ADD, 1, false);
                b = nb;
            }
            case 3 -> { // a drop on an extent with no item
                long nb = freeAddress(true);
                queue(nb, new MExtent(h.nodesize, true, 0), DelayedRefKey.treeBlock(5), Action.DROP, 1, false);
                b = nb;
            }
            case 4 -> { // allocating an extent that has an item
                queue(b, e, randomKey(e), Action.ADD, 1, true);
            }
            default -> { // a tree block ref it already has, or a data count beyond u32
                DelayedRefKey k = randomExisting(e);
                if (e.metadata) {
                    queue(b, e, k, Action.ADD, 1, false);
                } else {
                    for (int i = 0; i < 3; i++) {
                        queue(b, e, k, Action.ADD, Integer.MAX_VALUE, false);
                    }
                }
            }
        }
        return b;
    }

    // ---- comparison ---------------------------------------------------------------------------

    /** The extent tree under {@code root} holds exactly the model plus the extent tree's own blocks. */
    private void assertMatches(String where, BTree reader, TreeRoot root) throws IOException {
        TreeMap<Long, ExtentState> tree = ExtentRefsHarness.readExtentTree(reader, root, h.nodesize, h.hash);
        TreeMap<Long, MExtent> expect = new TreeMap<>(Long::compareUnsigned);
        expect.putAll(model.extents);
        for (Map.Entry<Long, Integer> blk : ExtentRefsHarness.treeBlocks(reader, root).entrySet()) {
            MExtent own = new MExtent(h.nodesize, true, blk.getValue());
            own.refs.put(DelayedRefKey.treeBlock(ObjectIds.EXTENT_TREE), 1L);
            expect.put(blk.getKey(), own);
        }
        assertEquals(expect.keySet(), tree.keySet(), where + ": extents");
        for (Map.Entry<Long, MExtent> x : expect.entrySet()) {
            MExtent m = x.getValue();
            ExtentState s = tree.get(x.getKey());
            String what = where + ": extent " + x.getKey();
            DiskKey expectKey = m.metadata ? new DiskKey(x.getKey(), ItemType.METADATA_ITEM, m.level)
                    : new DiskKey(x.getKey(), ItemType.EXTENT_ITEM, m.numBytes);
            assertEquals(expectKey, s.key(), what);
            assertEquals(m.refs, new TreeMap<>(s.refs()), what + " backrefs");
            assertEquals(m.total(), s.item().refs(), what + " refs");
        }
        TreeMap<Long, Long> sizes = new TreeMap<>(Long::compareUnsigned);
        expect.forEach((b, m) -> sizes.put(b, m.numBytes));
        assertEquals(sizes, new TreeMap<>(h.allocated), where + ": the accounting's allocated extents");
        for (DelayedRefObserver.HeadRun run : h.observed) {
            long sum = run.changes().stream().mapToLong(DelayedRefObserver.AppliedRef::delta).sum();
            assertEquals(run.refsAfter(), run.refsBefore() + sum, "observer: " + run);
        }
        h.observed.clear();
    }
}
