package org.jbtrfs.extent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.jbtrfs.extent.DelayedRefs.Action;
import org.jbtrfs.extent.ExtentRefsHarness.ExtentState;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.ExtentItem;
import org.jbtrfs.format.ItemType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Running delayed refs against a real extent tree on the in-memory harness: the items written are
 * read back from disk through a cold cache and compared with tables of expected extent items —
 * key, refs, flags, inline refs in kernel order, keyed refs — and with the accounting calls.
 */
class ExtentRefsRunnerTest {
    /** Fake extents live far above the harness's metadata chunk. */
    static final long TREE_BASE = 1L << 32;
    static final long DATA_BASE = 1L << 34;
    static final long P1 = 1L << 20;
    static final long P2 = 2L << 20;

    /** One queued ref of the tables; for tree refs {@code count} is 1. */
    record Op(Action action, DelayedRefKey key, int count, boolean alloc) {
        static Op alloc(DelayedRefKey k, int count) {
            return new Op(Action.ADD, k, count, true);
        }

        static Op add(DelayedRefKey k, int count) {
            return new Op(Action.ADD, k, count, false);
        }

        static Op drop(DelayedRefKey k, int count) {
            return new Op(Action.DROP, k, count, false);
        }
    }

    static DelayedRefKey tree(long root) {
        return DelayedRefKey.treeBlock(root);
    }

    static DelayedRefKey data(long root, long ino, long off) {
        return DelayedRefKey.extentData(root, ino, off);
    }

    static void queue(ExtentRefsHarness h, long bytenr, long numBytes, int level, Op op) {
        DelayedRefKey k = op.key();
        if (k.isData()) {
            h.refs.addDataRef(bytenr, numBytes, k.isShared() ? 5 : k.root(), k.isShared() ? 257 : k.objectid(), k.offset(),
                    k.parent(), op.action(), op.count(), op.alloc(), h.transid);
        } else {
            for (int i = 0; i < op.count(); i++) {
                h.refs.addTreeRef(bytenr, numBytes, level, k.isShared() ? 5 : k.root(), k.parent(), op.action(), op.alloc(),
                        new DiskKey(1, 1, 0), h.transid);
            }
        }
    }

    static TreeMap<Long, ExtentState> committed(ExtentRefsHarness h) throws IOException {
        return ExtentRefsHarness.readExtentTree(h.coldReader(), h.extentRoot.commitRoot(), h.nodesize, h.hash);
    }

    /** The kernel order of inline refs (type ascending, sequence descending), for building expectations. */
    static Comparator<DelayedRefKey> kernelOrder(BackrefCodec.DataRefHash hash) {
        return Comparator.comparingInt(DelayedRefKey::type)
                .thenComparing((a, b) -> Long.compareUnsigned(BackrefCodec.seq(b, hash), BackrefCodec.seq(a, hash)));
    }

    /** What an extent must look like after a step: total refs, inline refs in order with counts, keyed refs with counts. */
    record Expect(long refs, List<DelayedRefKey> inlineOrder, Map<DelayedRefKey, Long> counts, int keyed) {
    }

    static void assertExtent(String what, ExtentState s, Expect e, BackrefCodec.DataRefHash hash) {
        assertNotNull(s, what + ": no extent item");
        assertEquals(e.refs(), s.item().refs(), what + ": refs");
        List<DelayedRefKey> inline = new ArrayList<>();
        for (ExtentItem.InlineRef r : s.item().inlineRefs()) {
            inline.add(BackrefCodec.keyOf(r));
        }
        assertEquals(e.inlineOrder(), inline, what + ": inline refs in order");
        List<DelayedRefKey> sorted = new ArrayList<>(inline);
        sorted.sort(kernelOrder(hash));
        assertEquals(sorted, inline, what + ": inline order is the kernel's");
        assertEquals(e.keyed(), s.keyed().size(), what + ": keyed refs");
        assertEquals(new TreeMap<>(e.counts()), new TreeMap<>(s.refs()), what + ": every backref and its count");
    }

    // ---- new extents ------------------------------------------------------------------------

    @Test
    void newTreeBlockGetsASkinnyMetadataItem() throws IOException {
        ExtentRefsHarness h = new ExtentRefsHarness(16384, new Random(1));
        long b = TREE_BASE;
        queue(h, b, 16384, 1, Op.alloc(tree(5), 1));
        long gen = h.transid;
        h.commit();
        ExtentState s = committed(h).get(b);
        assertEquals(new DiskKey(b, ItemType.METADATA_ITEM, 1), s.key());
        assertEquals(new ExtentItem(1, gen, ExtentItem.FLAG_TREE_BLOCK, null, -1, List.of(ExtentItem.InlineRef.treeBlock(5))),
                s.item());
        assertEquals(1, h.allocatedTimes.get(b));
        assertNull(h.freedTimes.get(b));
        assertEquals(16384L, h.allocated.get(b));
        DelayedRefObserver.HeadRun run = h.observed.stream().filter(r -> r.bytenr() == b).findFirst().orElseThrow();
        assertEquals(new DelayedRefObserver.HeadRun(gen, b, 16384, true, 0, 1,
                List.of(new DelayedRefObserver.AppliedRef(tree(5), 1))), run);
    }

    @Test
    void newDataExtentGetsAnExtentItemWithItsCount() throws IOException {
        ExtentRefsHarness h = new ExtentRefsHarness(16384, new Random(2));
        long b = DATA_BASE;
        queue(h, b, 1 << 20, -1, Op.alloc(data(5, 257, 0), 2));
        queue(h, b + (1 << 20), 8192, -1, Op.alloc(DelayedRefKey.sharedData(P1), 3));
        long gen = h.transid;
        h.commit();
        TreeMap<Long, ExtentState> t = committed(h);
        assertEquals(new DiskKey(b, ItemType.EXTENT_ITEM, 1 << 20), t.get(b).key());
        assertEquals(new ExtentItem(2, gen, ExtentItem.FLAG_DATA, null, -1,
                List.of(ExtentItem.InlineRef.extentData(5, 257, 0, 2))), t.get(b).item());
        assertEquals(new ExtentItem(3, gen, ExtentItem.FLAG_DATA, null, -1, List.of(ExtentItem.InlineRef.sharedData(P1, 3))),
                t.get(b + (1 << 20)).item());
        assertEquals(1L << 20, h.allocated.get(b));
        assertEquals(8192L, h.allocated.get(b + (1 << 20)));
    }

    @Test
    void flagsOfANewBlockAndOfAnOldOne() throws IOException {
        ExtentRefsHarness h = new ExtentRefsHarness(16384, new Random(3));
        long b = TREE_BASE;
        queue(h, b, 16384, 0, Op.alloc(tree(5), 1));
        h.refs.setExtentFlags(b, 16384, 0, ExtentItem.FLAG_FULL_BACKREF);
        queue(h, b + 16384, 16384, 0, Op.alloc(tree(5), 1));
        h.commit();
        assertEquals(ExtentItem.FLAG_TREE_BLOCK | ExtentItem.FLAG_FULL_BACKREF, committed(h).get(b).item().flags());
        assertEquals(ExtentItem.FLAG_TREE_BLOCK, committed(h).get(b + 16384).item().flags());
        h.refs.setExtentFlags(b + 16384, 16384, 0, ExtentItem.FLAG_FULL_BACKREF);
        h.commit();
        assertEquals(ExtentItem.FLAG_TREE_BLOCK | ExtentItem.FLAG_FULL_BACKREF, committed(h).get(b + 16384).item().flags());
    }

    @Test
    void aReservedExtentWhoseRefsCancelNeverGetsAnItem() throws IOException {
        ExtentRefsHarness h = new ExtentRefsHarness(16384, new Random(4));
        long b = DATA_BASE;
        queue(h, b, 4096, -1, Op.alloc(data(5, 257, 0), 1));
        queue(h, b, 4096, -1, Op.drop(data(5, 257, 0), 1));
        assertEquals(1, h.refs.numHeads());
        h.commit();
        assertNull(committed(h).get(b));
        // reserved -> pinned goes through allocated + freed, once each.
        assertEquals(1, h.allocatedTimes.get(b));
        assertEquals(1, h.freedTimes.get(b));
        assertFalse(h.allocated.containsKey(b));
    }

    // ---- inline order and keyed fallback ------------------------------------------------------

    record Step(String name, List<Op> ops, Expect expect) {
    }

    static Stream<Arguments> treeBlockSteps() {
        List<Step> big = List.of(
                new Step("first ref", List.of(Op.alloc(tree(5), 1)),
                        new Expect(1, List.of(tree(5)), Map.of(tree(5), 1L), 0)),
                new Step("roots sort descending", List.of(Op.add(tree(7), 1), Op.add(tree(6), 1), Op.add(tree(256), 1)),
                        new Expect(4, List.of(tree(256), tree(7), tree(6), tree(5)),
                                Map.of(tree(5), 1L, tree(6), 1L, tree(7), 1L, tree(256), 1L), 0)),
                new Step("shared refs after tree refs, parents descending",
                        List.of(Op.add(DelayedRefKey.sharedBlock(P1), 1), Op.add(DelayedRefKey.sharedBlock(P2), 1)),
                        new Expect(6, List.of(tree(256), tree(7), tree(6), tree(5), DelayedRefKey.sharedBlock(P2),
                                DelayedRefKey.sharedBlock(P1)), Map.of(tree(5), 1L, tree(6), 1L, tree(7), 1L, tree(256), 1L,
                                        DelayedRefKey.sharedBlock(P1), 1L, DelayedRefKey.sharedBlock(P2), 1L), 0)),
                new Step("drop from the middle shrinks the item", List.of(Op.drop(tree(7), 1), Op.drop(DelayedRefKey.sharedBlock(P2), 1)),
                        new Expect(4, List.of(tree(256), tree(6), tree(5), DelayedRefKey.sharedBlock(P1)),
                                Map.of(tree(5), 1L, tree(6), 1L, tree(256), 1L, DelayedRefKey.sharedBlock(P1), 1L), 0)));
        // 4 KiB nodes: BTRFS_MAX_EXTENT_ITEM_SIZE = (3995 >> 4) - 25 = 224, so 22 tree refs fit (24 + 22 * 9 = 222).
        List<Op> many = new ArrayList<>();
        Map<DelayedRefKey, Long> counts = new LinkedHashMap<>();
        List<DelayedRefKey> inline = new ArrayList<>();
        for (long r = 6; r <= 35; r++) {
            many.add(Op.add(tree(r), 1));
        }
        for (long r = 5; r <= 35; r++) {
            counts.put(tree(r), 1L);
        }
        for (long r = 26; r >= 5; r--) {
            inline.add(tree(r));
        }
        Map<DelayedRefKey, Long> afterSwap = new LinkedHashMap<>(counts);
        afterSwap.remove(tree(10));
        afterSwap.put(tree(36), 1L);
        List<DelayedRefKey> inlineSwap = new ArrayList<>(inline);
        inlineSwap.remove(tree(10));
        Map<DelayedRefKey, Long> noKeyed = new LinkedHashMap<>(afterSwap);
        for (long r = 27; r <= 36; r++) {
            noKeyed.remove(tree(r));
        }
        Map<DelayedRefKey, Long> plus37 = new LinkedHashMap<>(noKeyed);
        plus37.put(tree(37), 1L);
        List<DelayedRefKey> inlineLast = new ArrayList<>(inlineSwap);
        inlineLast.add(0, tree(37));
        List<Op> dropKeyed = new ArrayList<>();
        for (long r = 27; r <= 36; r++) {
            dropKeyed.add(Op.drop(tree(r), 1));
        }
        List<Step> small = List.of(
                new Step("first ref", List.of(Op.alloc(tree(5), 1)), new Expect(1, List.of(tree(5)), Map.of(tree(5), 1L), 0)),
                new Step("30 more: 22 inline, the rest keyed", many, new Expect(31, inline, counts, 9)),
                new Step("once keyed refs exist, a new ref goes keyed even with room inline",
                        List.of(Op.drop(tree(10), 1), Op.add(tree(36), 1)), new Expect(31, inlineSwap, afterSwap, 10)),
                new Step("drop every keyed ref", dropKeyed, new Expect(21, inlineSwap, noKeyed, 0)),
                new Step("without keyed refs, inline again (222 < 224 bytes)", List.of(Op.add(tree(37), 1)),
                        new Expect(22, inlineLast, plus37, 0)));
        return Stream.of(Arguments.of(16384, big), Arguments.of(4096, small));
    }

    @ParameterizedTest(name = "nodesize {0}")
    @MethodSource("treeBlockSteps")
    void treeBlockRefsInlineThenKeyed(int nodesize, List<Step> steps) throws IOException {
        runSteps(new ExtentRefsHarness(nodesize, new Random(nodesize)), TREE_BASE, nodesize, 2, steps);
    }

    static Stream<Arguments> dataSteps() {
        BackrefCodec.DataRefHash hash = BackrefCodec.KERNEL_HASH;
        // 4 KiB nodes: 6 data refs fit inline (24 + 6 * 29 = 198; a 7th would make 227 >= 224).
        List<Op> ten = new ArrayList<>();
        Map<DelayedRefKey, Long> counts = new LinkedHashMap<>();
        counts.put(data(5, 257, 0), 1L);
        for (long i = 1; i <= 9; i++) {
            ten.add(Op.add(data(5, 257 + i, i * 4096), 1));
            counts.put(data(5, 257 + i, i * 4096), 1L);
        }
        List<DelayedRefKey> inline = new ArrayList<>();
        inline.add(data(5, 257, 0));
        for (long i = 1; i <= 5; i++) {
            inline.add(data(5, 257 + i, i * 4096));
        }
        inline.sort(kernelOrder(hash));
        Map<DelayedRefKey, Long> bumped = new LinkedHashMap<>(counts);
        bumped.put(data(5, 257, 0), 3L);
        bumped.put(data(5, 266, 9 * 4096), 5L);
        bumped.put(DelayedRefKey.sharedData(P1), 3L);
        Map<DelayedRefKey, Long> dropped = new LinkedHashMap<>(bumped);
        dropped.put(data(5, 266, 9 * 4096), 1L);
        dropped.remove(data(5, 265, 8 * 4096));
        dropped.put(data(5, 257, 0), 2L);
        List<Step> small = List.of(
                new Step("allocated with count 1", List.of(Op.alloc(data(5, 257, 0), 1)),
                        new Expect(1, List.of(data(5, 257, 0)), Map.of(data(5, 257, 0), 1L), 0)),
                new Step("nine more: 6 inline by hash descending, 4 keyed", ten, new Expect(10, inline, counts, 4)),
                new Step("counts grow inline and keyed; a shared ref goes keyed", List.of(Op.add(data(5, 257, 0), 2),
                        Op.add(data(5, 266, 9 * 4096), 4), Op.add(DelayedRefKey.sharedData(P1), 3)),
                        new Expect(19, inline, bumped, 5)),
                new Step("counts shrink; a keyed ref goes", List.of(Op.drop(data(5, 257, 0), 1),
                        Op.drop(data(5, 266, 9 * 4096), 4), Op.drop(data(5, 265, 8 * 4096), 1)),
                        new Expect(13, inline, dropped, 4)));
        return Stream.of(Arguments.of(4096, small));
    }

    @ParameterizedTest(name = "nodesize {0}")
    @MethodSource("dataSteps")
    void dataRefsInlineThenKeyed(int nodesize, List<Step> steps) throws IOException {
        runSteps(new ExtentRefsHarness(nodesize, new Random(nodesize + 1)), DATA_BASE, 65536, -1, steps);
    }

    private static void runSteps(ExtentRefsHarness h, long b, long numBytes, int level, List<Step> steps) throws IOException {
        for (Step s : steps) {
            for (Op op : s.ops()) {
                queue(h, b, numBytes, level, op);
            }
            h.commit();
            assertExtent(s.name(), committed(h).get(b), s.expect(), h.hash);
        }
        // Drop everything that is left: the item and every keyed ref go, the accounting hears once.
        ExtentState last = committed(h).get(b);
        assertEquals(1, h.allocatedTimes.get(b));
        assertNull(h.freedTimes.get(b));
        for (Map.Entry<DelayedRefKey, Long> e : last.refs().entrySet()) {
            queue(h, b, numBytes, level, Op.drop(e.getKey(), (int) (long) e.getValue()));
        }
        h.commit();
        TreeMap<Long, ExtentState> t = committed(h);
        assertNull(t.get(b), "extent item after the last drop");
        assertFalse(h.allocated.containsKey(b));
        assertEquals(1, h.freedTimes.get(b));
    }

    // ---- both forms of tree block items ----------------------------------------------------------

    @Test
    void fatTreeBlockItemsOfOlderImagesAreUpdatedInTheirForm() throws IOException {
        ExtentRefsHarness h = new ExtentRefsHarness(16384, new Random(5));
        long b = TREE_BASE;
        DiskKey first = new DiskKey(256, ItemType.INODE_ITEM, 0);
        ExtentItem fat = new ExtentItem(1, 3, ExtentItem.FLAG_TREE_BLOCK, first, 1, List.of(ExtentItem.InlineRef.treeBlock(5)));
        h.insertRaw(new DiskKey(b, ItemType.EXTENT_ITEM, 16384), fat.encode());
        h.allocated.put(b, 16384L); // the accounting knew it from the image
        h.commit();
        queue(h, b, 16384, 1, Op.add(tree(7), 1));
        h.commit();
        ExtentState s = committed(h).get(b);
        assertEquals(new DiskKey(b, ItemType.EXTENT_ITEM, 16384), s.key());
        assertEquals(new ExtentItem(2, 3, ExtentItem.FLAG_TREE_BLOCK, first, 1,
                List.of(ExtentItem.InlineRef.treeBlock(7), ExtentItem.InlineRef.treeBlock(5))), s.item());
        queue(h, b, 16384, 1, Op.drop(tree(5), 1));
        queue(h, b, 16384, 1, Op.drop(tree(7), 1));
        h.commit();
        assertNull(committed(h).get(b));
        assertFalse(h.allocated.containsKey(b));
    }

    // ---- hash collisions of keyed data refs --------------------------------------------------

    @Test
    void keyedDataRefCollisionsTakeTheNextOffsetAndSurviveGaps() throws IOException {
        long collide = 1000;
        ExtentRefsHarness h = new ExtentRefsHarness(4096, 16L << 20, new Random(6), (r, o, f) -> collide);
        long b = DATA_BASE;
        queue(h, b, 4096, -1, Op.alloc(data(5, 257, 0), 1));
        for (long i = 1; i <= 8; i++) {
            queue(h, b, 4096, -1, Op.add(data(5, 257 + i, 0), 1));
        }
        h.commit();
        ExtentState s = committed(h).get(b);
        assertEquals(3, s.keyed().size(), "6 inline, 3 keyed");
        assertEquals(List.of(collide, collide + 1, collide + 2), s.keyed().stream().map(DiskKey::offset).toList());
        // Drop the ref at the hash itself: the two behind the gap must still be found.
        DelayedRefKey atHash = keyedRefAt(h, b, collide);
        DelayedRefKey behind = keyedRefAt(h, b, collide + 2);
        queue(h, b, 4096, -1, Op.drop(atHash, 1));
        queue(h, b, 4096, -1, Op.add(behind, 2));
        h.commit();
        s = committed(h).get(b);
        assertEquals(List.of(collide + 1, collide + 2), s.keyed().stream().map(DiskKey::offset).toList());
        assertEquals(3L, s.refs().get(behind));
        // A new ref fills the gap at the hash.
        queue(h, b, 4096, -1, Op.add(data(5, 999, 0), 1));
        h.commit();
        assertEquals(data(5, 999, 0), keyedRefAt(h, b, collide));
    }

    private static DelayedRefKey keyedRefAt(ExtentRefsHarness h, long b, long offset) throws IOException {
        DiskKey key = new DiskKey(b, ItemType.EXTENT_DATA_REF, offset);
        var it = h.coldReader().lookup(h.extentRoot.commitRoot(), key);
        assertNotNull(it, "no item " + key);
        return BackrefCodec.decodeKeyed(key, it.data(), 0, it.size()).ref();
    }

    // ---- refs that do not apply abort -----------------------------------------------------------

    static Stream<Arguments> abortTable() {
        DelayedRefKey d = data(5, 257, 0);
        return Stream.of(
                Arguments.of("drop of a missing tree ref", true, List.of(Op.alloc(tree(5), 1)), List.of(Op.drop(tree(6), 1)),
                        "backref not found (have 0, expect 1)"),
                Arguments.of("drop of a missing data ref", false, List.of(Op.alloc(d, 2)), List.of(Op.drop(data(5, 258, 0), 1)),
                        "backref not found (have 0, expect 1)"),
                Arguments.of("drop of more than the ref holds", false, List.of(Op.alloc(d, 2), Op.add(data(6, 257, 0), 5)),
                        List.of(Op.drop(d, 3)), "inline backref holds fewer (have 2, expect at least 3)"),
                Arguments.of("drop of more than the extent holds", false, List.of(Op.alloc(d, 2)), List.of(Op.drop(d, 3)),
                        "the extent holds fewer references (have 2, expect at least 3)"),
                Arguments.of("add to an extent without item", false, List.of(), List.of(Op.add(d, 1)),
                        "no extent item, and the extent was not newly allocated"),
                Arguments.of("drop from an extent without item", true, List.of(), List.of(Op.drop(tree(5), 1)),
                        "no extent item (have 0 references, expect 1)"),
                Arguments.of("a tree block ref added twice", true, List.of(Op.alloc(tree(5), 1)), List.of(Op.add(tree(5), 1)),
                        "already has this backref inline (have 1, expect 0)"),
                Arguments.of("two references of one tree ref in one head", true, List.of(Op.alloc(tree(5), 1)),
                        List.of(Op.add(tree(6), 1), Op.add(tree(6), 1)), "has 2 references rather than 1"),
                Arguments.of("allocating an extent that has an item", true, List.of(Op.alloc(tree(5), 1)),
                        List.of(Op.alloc(tree(6), 1)), "exists (have 1 extent item, expect 0)"),
                Arguments.of("data ref count overflow", false, List.of(Op.alloc(d, Integer.MAX_VALUE), Op.add(d, Integer.MAX_VALUE)),
                        List.of(Op.add(d, 2)), "count overflows"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("abortTable")
    void refsThatDoNotApplyAbortTheTransaction(String name, boolean tree, List<Op> setup, List<Op> bad, String expect)
            throws IOException {
        ExtentRefsHarness h = new ExtentRefsHarness(16384, new Random(name.hashCode()));
        long b = tree ? TREE_BASE : DATA_BASE;
        long numBytes = tree ? 16384 : 65536;
        int level = tree ? 1 : -1;
        for (Op op : setup) {
            queue(h, b, numBytes, level, op);
        }
        h.commit();
        TreeMap<Long, ExtentState> before = committed(h);
        // Valid refs on another extent in the same run do not hide the failure.
        queue(h, b + (1L << 30), numBytes, level, Op.alloc(tree ? tree(5) : data(5, 300, 0), 1));
        for (Op op : bad) {
            queue(h, b, numBytes, level, op);
        }
        TransactionAbortException e = assertThrows(TransactionAbortException.class, h::runAll);
        assertEquals(b, e.bytenr());
        assertTrue(e.getMessage().contains("extent " + b), e.getMessage());
        assertTrue(e.getMessage().contains(expect), e.getMessage());
        assertEquals(e, h.refs.abortCause());
        TransactionAbortException again = assertThrows(TransactionAbortException.class, h::runAll);
        assertTrue(again.getMessage().contains("already aborted"), again.getMessage());
        assertNotNull(h.refs.head(b), "the failed head stays queued");
        h.rollback();
        assertEquals(before.keySet(), committed(h).keySet(), "the committed tree is untouched");
        h.commit();
        assertEquals(before.keySet(), committed(h).keySet());
    }

    @Test
    void destroyReportsReservationsThatNeverGotAnItem() throws IOException {
        ExtentRefsHarness h = new ExtentRefsHarness(16384, new Random(7));
        long b = TREE_BASE;
        queue(h, b, 16384, 1, Op.alloc(tree(5), 1));
        h.commit();
        queue(h, b, 16384, 1, Op.alloc(tree(5), 1));
        assertThrows(TransactionAbortException.class, h::runAll);
        assertEquals(List.of(new DelayedRefs.ReservedExtent(b, 16384, true)), h.refs.destroy());
        assertEquals(0, h.refs.numHeads());
        h.rollback();
    }

    /**
     * Threads queue refs on their own extents while two runners run the queue at the same time:
     * each head is applied by one runner at a time, nothing is lost or applied twice, and the
     * result equals what the queued refs say.
     */
    @Test
    void runnersAndQueuersInParallel() throws Exception {
        ExtentRefsHarness h = new ExtentRefsHarness(4096, 64L << 20, new Random(9), BackrefCodec.KERNEL_HASH);
        int queuers = 4;
        int extentsEach = 150;
        AtomicBoolean done = new AtomicBoolean();
        ExecutorService pool = Executors.newFixedThreadPool(queuers + 2);
        List<Future<Map<Long, Map<DelayedRefKey, Long>>>> results = new ArrayList<>();
        List<Future<?>> runners = new ArrayList<>();
        Map<Long, Map<DelayedRefKey, Long>> expect = new TreeMap<>();
        try {
            for (int r = 0; r < 2; r++) {
                runners.add(pool.submit(() -> {
                    while (!done.get()) {
                        h.runner.run(h.transid, h.extentRoot, h.refs, ExtentRefsRunner.RUN_ALL);
                    }
                    return null;
                }));
            }
            for (int t = 0; t < queuers; t++) {
                int id = t;
                results.add(pool.submit(() -> queueOwnExtents(h, id, extentsEach, new Random(id))));
            }
            for (var f : results) {
                expect.putAll(f.get());
            }
            done.set(true);
            for (var f : runners) {
                f.get();
            }
        } finally {
            done.set(true);
            pool.shutdown();
        }
        h.commit();
        TreeMap<Long, ExtentState> t = committed(h);
        int checked = 0;
        for (int q = 0; q < queuers; q++) {
            for (int i = 0; i < extentsEach; i++) {
                long b = DATA_BASE + (q * 1000L + i) * 65536;
                Map<DelayedRefKey, Long> refs = expect.get(b);
                ExtentState s = t.get(b);
                if (refs.isEmpty()) {
                    assertNull(s, "extent " + b);
                } else {
                    assertEquals(refs, new TreeMap<>(s.refs()), "extent " + b);
                    checked++;
                }
            }
        }
        assertTrue(checked > 0);
        assertEquals(queuers * extentsEach, checked + h.freedTimes.keySet().stream().filter(b -> b >= DATA_BASE).count());
    }

    /** Allocates, grows and shrinks the refs of one thread's own extents; returns what must remain. */
    private static Map<Long, Map<DelayedRefKey, Long>> queueOwnExtents(ExtentRefsHarness h, int id, int n, Random rnd) {
        Map<Long, Map<DelayedRefKey, Long>> out = new TreeMap<>();
        for (int i = 0; i < n; i++) {
            long b = DATA_BASE + (id * 1000L + i) * 65536;
            Map<DelayedRefKey, Long> refs = new TreeMap<>();
            DelayedRefKey first = data(5, 300 + id, i * 4096L);
            h.refs.addDataRef(b, 65536, 5, 300 + id, i * 4096L, 0, Action.ADD, 1, true, h.transid);
            refs.put(first, 1L);
            int more = rnd.nextInt(12);
            for (int j = 0; j < more; j++) {
                DelayedRefKey k = data(5 + j % 3, 400 + j, 0);
                h.refs.addDataRef(b, 65536, k.root(), k.objectid(), 0, 0, Action.ADD, 2, false, 0);
                refs.merge(k, 2L, Long::sum);
                Thread.yield();
            }
            for (DelayedRefKey k : new ArrayList<>(refs.keySet())) {
                if (rnd.nextInt(3) == 0) {
                    long have = refs.get(k);
                    h.refs.addDataRef(b, 65536, k.root(), k.objectid(), k.offset(), 0, Action.DROP, (int) have, false, 0);
                    refs.remove(k);
                }
            }
            out.put(b, refs);
        }
        return out;
    }

    @Test
    void partialRunsLeaveTheRestQueued() throws IOException {
        ExtentRefsHarness h = new ExtentRefsHarness(16384, new Random(8));
        for (int i = 0; i < 10; i++) {
            queue(h, TREE_BASE + i * 16384L, 16384, 0, Op.alloc(tree(5), 1));
        }
        assertEquals(3, h.runner.run(h.transid, h.extentRoot, h.refs, 3));
        assertTrue(h.refs.numHeads() >= 7);
        long ready = h.refs.numHeadsReady();
        assertEquals(ready, h.runner.run(h.transid, h.extentRoot, h.refs, 0), "0 runs the heads ready at the start");
        h.commit();
        TreeMap<Long, ExtentState> t = committed(h);
        for (int i = 0; i < 10; i++) {
            assertNotNull(t.get(TREE_BASE + i * 16384L));
        }
    }
}
