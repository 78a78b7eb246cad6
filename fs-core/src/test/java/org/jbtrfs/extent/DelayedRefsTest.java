package org.jbtrfs.extent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.jbtrfs.extent.DelayedRefs.Action;
import org.jbtrfs.extent.DelayedRefs.HeadState;
import org.jbtrfs.extent.DelayedRefs.NodeState;
import org.jbtrfs.format.ExtentItem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Queueing and merging of delayed refs on {@link DelayedRefs} alone, table-driven like the kernel's
 * fs/btrfs/tests/delayed-refs-tests.c: each row queues a sequence of refs on one extent and states
 * the head (ref_mod, total_ref_mod, must_insert_reserved) and the nodes that must result.
 */
class DelayedRefsTest {
    static final long FAKE_BYTENR = 1L << 30;
    static final long NODESIZE = 16384;
    static final int FAKE_LEVEL = 1;
    static final long FAKE_ROOT = 256;
    static final long FAKE_INO = 257;
    static final long FAKE_PARENT = 1L << 20;
    static final long GEN = 7;

    static final DelayedRefKey TREE = DelayedRefKey.treeBlock(FAKE_ROOT);
    static final DelayedRefKey TREE_7 = DelayedRefKey.treeBlock(7);
    static final DelayedRefKey SHARED_BLOCK = DelayedRefKey.sharedBlock(FAKE_PARENT);
    static final DelayedRefKey DATA = DelayedRefKey.extentData(FAKE_ROOT, FAKE_INO, 0);
    static final DelayedRefKey SHARED_DATA = DelayedRefKey.sharedData(FAKE_PARENT);

    /** One queued ref: {@code count} references of {@code key} (tree refs: that many calls of one). */
    record Step(Action action, int count, DelayedRefKey key, boolean newlyAllocated) {
        static Step add(int count, DelayedRefKey key) {
            return new Step(Action.ADD, count, key, false);
        }

        static Step drop(int count, DelayedRefKey key) {
            return new Step(Action.DROP, count, key, false);
        }

        static Step alloc(int count, DelayedRefKey key) {
            return new Step(Action.ADD, count, key, true);
        }
    }

    record HeadCheck(long refMod, long totalRefMod, boolean mustInsert) {
    }

    static Step[] steps(Object... s) {
        List<Step> out = new ArrayList<>();
        for (Object o : s) {
            if (o instanceof Step st) {
                out.add(st);
            } else {
                Step[] many = (Step[]) o;
                out.addAll(List.of(many));
            }
        }
        return out.toArray(new Step[0]);
    }

    static Step[] times(int n, Step s) {
        Step[] a = new Step[n];
        Arrays.fill(a, s);
        return a;
    }

    static NodeState node(DelayedRefKey key, Action action, long refMod) {
        return new NodeState(key, action, refMod);
    }

    static Arguments row(String name, Step[] steps, HeadCheck head, NodeState... nodes) {
        return Arguments.of(name, steps, head, List.of(nodes));
    }

    static Stream<Arguments> mergeTable() {
        return Stream.of(
                row("single add tree block", steps(Step.add(1, TREE)), new HeadCheck(1, 1, false), node(TREE, Action.ADD, 1)),
                row("single add shared block", steps(Step.add(1, SHARED_BLOCK)), new HeadCheck(1, 1, false),
                        node(SHARED_BLOCK, Action.ADD, 1)),
                row("single add extent data", steps(Step.add(1, DATA)), new HeadCheck(1, 1, false), node(DATA, Action.ADD, 1)),
                row("single add shared data", steps(Step.add(1, SHARED_DATA)), new HeadCheck(1, 1, false),
                        node(SHARED_DATA, Action.ADD, 1)),
                row("single drop tree block", steps(Step.drop(1, TREE)), new HeadCheck(-1, -1, false), node(TREE, Action.DROP, 1)),
                row("single drop shared data of 3", steps(Step.drop(3, SHARED_DATA)), new HeadCheck(-3, -3, false),
                        node(SHARED_DATA, Action.DROP, 3)),
                row("tree add then drop cancel", steps(Step.add(1, TREE), Step.drop(1, TREE)), new HeadCheck(0, 0, false)),
                row("data add then drop cancel", steps(Step.add(1, DATA), Step.drop(1, DATA)), new HeadCheck(0, 0, false)),
                row("shared data drop then add cancel", steps(Step.drop(2, SHARED_DATA), Step.add(2, SHARED_DATA)),
                        new HeadCheck(0, 0, false)),
                row("data double add sums", steps(Step.add(1, DATA), Step.add(1, DATA)), new HeadCheck(2, 2, false),
                        node(DATA, Action.ADD, 2)),
                row("data double drop sums", steps(Step.drop(1, DATA), Step.drop(1, DATA)), new HeadCheck(-2, -2, false),
                        node(DATA, Action.DROP, 2)),
                row("10 adds then 12 drops go negative", steps(times(10, Step.add(1, DATA)), times(12, Step.drop(1, DATA))),
                        new HeadCheck(-2, -2, false), node(DATA, Action.DROP, 2)),
                row("10 drops then 12 adds go positive", steps(times(10, Step.drop(1, DATA)), times(12, Step.add(1, DATA))),
                        new HeadCheck(2, 2, false), node(DATA, Action.ADD, 2)),
                row("counted add 5 drop 3", steps(Step.add(5, DATA), Step.drop(3, DATA)), new HeadCheck(2, 2, false),
                        node(DATA, Action.ADD, 2)),
                row("counted drop 2 add 5 flips the action", steps(Step.drop(2, DATA), Step.add(5, DATA)),
                        new HeadCheck(3, 3, false), node(DATA, Action.ADD, 3)),
                row("different roots stay separate", steps(Step.add(1, TREE), Step.add(1, TREE_7), Step.drop(1, TREE)),
                        new HeadCheck(1, 1, false), node(TREE_7, Action.ADD, 1)),
                row("tree and shared block refs stay separate", steps(Step.add(1, SHARED_BLOCK), Step.add(1, TREE)),
                        new HeadCheck(2, 2, false), node(TREE, Action.ADD, 1), node(SHARED_BLOCK, Action.ADD, 1)),
                row("data refs differ by root, inode and offset",
                        steps(Step.add(1, DelayedRefKey.extentData(6, 257, 0)), Step.add(1, DelayedRefKey.extentData(5, 258, 0)),
                                Step.add(1, DelayedRefKey.extentData(5, 257, 4096)), Step.drop(1, DelayedRefKey.extentData(5, 257, 0)),
                                Step.add(2, SHARED_DATA)),
                        new HeadCheck(4, 4, false),
                        node(DelayedRefKey.extentData(5, 257, 0), Action.DROP, 1),
                        node(DelayedRefKey.extentData(5, 257, 4096), Action.ADD, 1),
                        node(DelayedRefKey.extentData(5, 258, 0), Action.ADD, 1),
                        node(DelayedRefKey.extentData(6, 257, 0), Action.ADD, 1),
                        node(SHARED_DATA, Action.ADD, 2)),
                row("new tree block freed before running keeps must_insert", steps(Step.alloc(1, TREE), Step.drop(1, TREE)),
                        new HeadCheck(0, 0, true)),
                row("new data extent gains refs, must_insert preserved", steps(Step.alloc(1, DATA), Step.add(2, DATA),
                        Step.add(1, SHARED_DATA)), new HeadCheck(4, 4, true), node(DATA, Action.ADD, 3),
                        node(SHARED_DATA, Action.ADD, 1)),
                row("a tree ref added twice merges to 2 (the run aborts on it)", steps(Step.add(1, TREE), Step.add(1, TREE)),
                        new HeadCheck(2, 2, false), node(TREE, Action.ADD, 2)));
    }

    static void queue(DelayedRefs r, Step s) {
        DelayedRefKey k = s.key();
        if (k.isData()) {
            long root = k.isShared() ? FAKE_ROOT : k.root();
            long ino = k.isShared() ? FAKE_INO : k.objectid();
            r.addDataRef(FAKE_BYTENR, NODESIZE, root, ino, k.offset(), k.parent(), s.action(), s.count(), s.newlyAllocated(), GEN);
        } else {
            for (int i = 0; i < s.count(); i++) {
                r.addTreeRef(FAKE_BYTENR, NODESIZE, FAKE_LEVEL, k.isShared() ? FAKE_ROOT : k.root(), k.parent(), s.action(),
                        s.newlyAllocated(), null, GEN);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("mergeTable")
    void mergesLikeTheKernel(String name, Step[] steps, HeadCheck expectHead, List<NodeState> expectNodes) {
        DelayedRefs r = new DelayedRefs(GEN);
        for (Step s : steps) {
            queue(r, s);
        }
        HeadState h = r.head(FAKE_BYTENR);
        assertEquals(FAKE_BYTENR, h.bytenr());
        assertEquals(NODESIZE, h.numBytes());
        assertEquals(expectHead.refMod(), h.refMod(), "ref_mod");
        assertEquals(expectHead.totalRefMod(), h.totalRefMod(), "total_ref_mod");
        assertEquals(expectHead.mustInsert(), h.mustInsertReserved(), "must_insert_reserved");
        assertEquals(expectNodes, h.nodes(), "nodes");
        assertEquals(expectNodes.size(), r.numEntries(), "num_entries");
        assertEquals(1, r.numHeads());
        assertEquals(1, r.numHeadsReady());
    }

    @Test
    void takingWorkClearsRefModButNotTotal() {
        DelayedRefs r = new DelayedRefs(GEN);
        queue(r, Step.alloc(1, DATA));
        queue(r, Step.add(1, SHARED_DATA));
        queue(r, Step.drop(2, DelayedRefKey.extentData(9, 300, 0)));
        DelayedRefHead head = r.selectHead();
        assertEquals(FAKE_BYTENR, head.bytenr);
        assertNull(r.selectHead(), "a processing head is not selected twice");
        assertEquals(0, r.numHeadsReady());
        head.runMutex.lock();
        try {
            DelayedRefs.HeadWork w = r.takeWork(head);
            assertTrue(w.mustInsertReserved());
            // Adds first (select_delayed_ref), each group in key order.
            assertEquals(List.of(Action.ADD, Action.ADD, Action.DROP), w.nodes().stream().map(n -> n.action).toList());
            assertEquals(List.of(DATA, SHARED_DATA, DelayedRefKey.extentData(9, 300, 0)),
                    w.nodes().stream().map(n -> n.key).toList());
            HeadState h = r.head(FAKE_BYTENR);
            assertEquals(0, h.refMod(), "ref_mod after taking every node");
            assertEquals(0, h.totalRefMod(), "total_ref_mod keeps 1 + 1 - 2");
            assertFalse(h.mustInsertReserved());
            assertTrue(h.processing());
            assertEquals(0, r.numEntries());
            // A ref queued while the head runs lands in it and needs another round.
            queue(r, Step.add(1, DATA));
            assertFalse(r.finishHead(head));
            assertEquals(1, r.takeWork(head).nodes().size());
            assertNull(r.takeWork(head));
            assertTrue(r.finishHead(head));
        } finally {
            head.runMutex.unlock();
        }
        assertNull(r.head(FAKE_BYTENR));
        assertEquals(0, r.numHeads());
        assertEquals(0, r.numHeadsReady());
    }

    @Test
    void headsAreSelectedInUnsignedBytenrOrder() {
        DelayedRefs r = new DelayedRefs(GEN);
        long[] bytenrs = {3L << 20, -(1L << 20), 1L << 20, 2L << 20};
        for (long b : bytenrs) {
            r.addTreeRef(b, NODESIZE, 0, 5, 0, Action.ADD, false, null, 0);
        }
        assertEquals(4, r.numHeadsReady());
        List<Long> order = new ArrayList<>();
        for (DelayedRefHead h; (h = r.selectHead()) != null;) {
            order.add(h.bytenr);
        }
        assertEquals(List.of(1L << 20, 2L << 20, 3L << 20, -(1L << 20)), order);
        assertEquals(0, r.numHeadsReady());
    }

    static Stream<Arguments> cleanupTable() {
        return Stream.of(
                Arguments.of("allocated then freed: reusable at once", steps(Step.alloc(1, TREE), Step.drop(1, TREE)), true, false),
                Arguments.of("cancelled refs of an old block: head goes, space not free", steps(Step.add(1, TREE_7),
                        Step.drop(1, TREE_7)), false, false),
                Arguments.of("a drop still pending: head stays", steps(Step.alloc(1, TREE), Step.drop(1, TREE),
                        Step.drop(1, TREE_7)), false, true),
                Arguments.of("allocated, not freed: head stays", steps(Step.alloc(1, TREE)), false, true));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cleanupTable")
    void checkRefCleanup(String name, Step[] steps, boolean expectReusable, boolean expectHeadStays) {
        DelayedRefs r = new DelayedRefs(GEN);
        for (Step s : steps) {
            queue(r, s);
        }
        assertEquals(expectReusable, r.checkRefCleanup(FAKE_BYTENR));
        assertEquals(expectHeadStays, r.head(FAKE_BYTENR) != null);
        assertEquals(expectHeadStays ? 1 : 0, r.numHeadsReady());
    }

    @Test
    void extentOpsMergeFlags() {
        DelayedRefs r = new DelayedRefs(GEN);
        r.setExtentFlags(FAKE_BYTENR, NODESIZE, FAKE_LEVEL, ExtentItem.FLAG_FULL_BACKREF);
        r.setExtentFlags(FAKE_BYTENR, NODESIZE, FAKE_LEVEL, 1L << 9);
        HeadState h = r.head(FAKE_BYTENR);
        assertTrue(h.hasExtentOp());
        assertEquals(ExtentItem.FLAG_FULL_BACKREF | (1L << 9), h.flagsToSet());
        assertEquals(0, h.refMod());
        assertFalse(r.checkRefCleanup(FAKE_BYTENR), "a pending flag update keeps the head");
    }

    static Stream<Arguments> refusedTable() {
        return Stream.of(
                Arguments.of("data ref on a tree block head", (Runnable) () -> {
                    DelayedRefs r = new DelayedRefs(GEN);
                    queue(r, Step.add(1, TREE));
                    queue(r, Step.add(1, DATA));
                }),
                Arguments.of("another level for the same block", (Runnable) () -> {
                    DelayedRefs r = new DelayedRefs(GEN);
                    queue(r, Step.add(1, TREE));
                    r.addTreeRef(FAKE_BYTENR, NODESIZE, FAKE_LEVEL + 1, 5, 0, Action.ADD, false, null, 0);
                }),
                Arguments.of("another size for the same extent", (Runnable) () -> {
                    DelayedRefs r = new DelayedRefs(GEN);
                    queue(r, Step.add(1, DATA));
                    r.addDataRef(FAKE_BYTENR, NODESIZE * 2, 5, 257, 0, 0, Action.ADD, 1, false, 0);
                }),
                Arguments.of("newly allocated drop", (Runnable) () -> new DelayedRefs(GEN).addTreeRef(FAKE_BYTENR, NODESIZE, 0, 5, 0,
                        Action.DROP, true, null, GEN)),
                Arguments.of("data ref of a non-inode", (Runnable) () -> new DelayedRefs(GEN).addDataRef(FAKE_BYTENR, NODESIZE, 5,
                        255, 0, 0, Action.ADD, 1, false, 0)),
                Arguments.of("zero count", (Runnable) () -> new DelayedRefs(GEN).addDataRef(FAKE_BYTENR, NODESIZE, 5, 257, 0, 0,
                        Action.ADD, 0, false, 0)),
                Arguments.of("FULL_BACKREF on data", (Runnable) () -> new DelayedRefs(GEN).setExtentFlags(FAKE_BYTENR, NODESIZE, -1,
                        ExtentItem.FLAG_FULL_BACKREF)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("refusedTable")
    void callerMistakesAreRefused(String name, Runnable r) {
        assertThrows(IllegalArgumentException.class, r::run);
    }

    /**
     * Many threads queue adds and drops on a few extents at once; the merged result depends only
     * on the net count per backref, so it must equal what a sequential sum says.
     */
    @Test
    void concurrentQueueingMergesExactly() throws Exception {
        long seed = Long.getLong("jbtrfs.seed", System.nanoTime());
        System.out.println("DelayedRefsTest.concurrentQueueingMergesExactly: seed=" + seed);
        int threads = 8;
        int opsPerThread = 20_000;
        DelayedRefs r = new DelayedRefs(GEN);
        List<Map<String, Long>> nets = new ArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<Map<String, Long>>> fs = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                Random rnd = new Random(seed + t);
                fs.add(pool.submit(() -> {
                    Map<String, Long> net = new HashMap<>();
                    for (int i = 0; i < opsPerThread; i++) {
                        long bytenr = (1 + rnd.nextInt(32)) * NODESIZE;
                        long ino = 256 + rnd.nextInt(4);
                        int count = 1 + rnd.nextInt(3);
                        Action a = rnd.nextBoolean() ? Action.ADD : Action.DROP;
                        r.addDataRef(bytenr, NODESIZE, 5, ino, 0, 0, a, count, false, 0);
                        net.merge(bytenr + "/" + ino, a == Action.ADD ? (long) count : -count, Long::sum);
                    }
                    return net;
                }));
            }
            for (Future<Map<String, Long>> f : fs) {
                nets.add(f.get());
            }
        } finally {
            pool.shutdown();
        }
        Map<String, Long> total = new HashMap<>();
        for (Map<String, Long> n : nets) {
            n.forEach((k, v) -> total.merge(k, v, Long::sum));
        }
        long entries = 0;
        for (int b = 1; b <= 32; b++) {
            long bytenr = b * NODESIZE;
            HeadState h = r.head(bytenr);
            long headNet = 0;
            for (long ino = 256; ino < 260; ino++) {
                long net = total.getOrDefault(bytenr + "/" + ino, 0L);
                headNet += net;
                DelayedRefKey key = DelayedRefKey.extentData(5, ino, 0);
                NodeState n = h == null ? null
                        : h.nodes().stream().filter(x -> x.key().equals(key)).findFirst().orElse(null);
                if (net == 0) {
                    assertNull(n, "cancelled node of " + bytenr + " " + key);
                } else {
                    entries++;
                    assertEquals(node(key, net > 0 ? Action.ADD : Action.DROP, Math.abs(net)), n);
                }
            }
            if (h != null) {
                assertEquals(headNet, h.refMod(), "ref_mod of " + bytenr);
                assertEquals(headNet, h.totalRefMod(), "total_ref_mod of " + bytenr);
            }
        }
        assertEquals(entries, r.numEntries());
    }
}
