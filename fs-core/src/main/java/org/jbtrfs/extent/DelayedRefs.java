package org.jbtrfs.extent;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.locks.ReentrantLock;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.ExtentItem;
import org.jbtrfs.format.Header;
import org.jbtrfs.format.ObjectIds;

/**
 * struct btrfs_delayed_ref_root (delayed-ref.h, delayed-ref.c): the backref changes queued in one
 * transaction, not yet applied to the extent tree.
 *
 * <h2>Why delay</h2>
 * Every COW of a tree block, every file extent written or dropped changes the reference count of
 * some extent, and so the extent tree. Doing that at once would modify the extent tree from inside
 * a modification of another tree (or of the extent tree itself, whose own COW allocates and frees
 * blocks), and would rewrite the same extent items over and over: a block COWed twice in one
 * transaction gains and loses a backref, a file rewritten twice adds and drops the same data ref.
 * So callers only queue the change here — cheap, under one short lock, from any thread — and
 * {@link ExtentRefsRunner} applies the queue later, in bytenr order, at commit or when the queue
 * grows. Changes that cancel out never reach the disk.
 *
 * <h2>How it is kept</h2>
 * <ul>
 *   <li>One {@link DelayedRefHead} per extent ({@code bytenr}), in a map ordered by bytenr (the
 *       kernel's href xarray). The head sums the signed changes of its nodes ({@code ref_mod}),
 *       remembers that the extent was just allocated ({@code must_insert_reserved}: the first add
 *       that runs creates the extent item with its flags, generation and, for tree blocks, level)
 *       and holds a pending flag update (the extent op, e.g. FULL_BACKREF).</li>
 *   <li>Under a head, one {@link DelayedRefNode} per backref ({@link DelayedRefKey}: type, then
 *       root or parent, objectid, offset), each an ADD or a DROP of some count. A new change is
 *       merged into the node for the same backref as it is queued (insert_delayed_ref): same action,
 *       the counts add; opposite actions, the smaller count is subtracted from the larger and the
 *       node takes the larger one's action; equal counts cancel and the node goes. So an add and a
 *       drop of the same ref leave nothing, and the head's {@code ref_mod} says what the total
 *       reference count of the extent will become, relative to the tree.</li>
 *   <li>Tree blocks have at most one ref per backref; a tree node whose count is not 1 when it runs
 *       aborts the transaction, as run_delayed_tree_ref does.</li>
 * </ul>
 *
 * <h2>Running (the lifecycle of a head)</h2>
 * <ol>
 *   <li>Queued: created by the first ref for its bytenr; more refs merge in; ready to run.</li>
 *   <li>Selected: a runner marks it {@code processing} (btrfs_select_ref_head) so no other runner
 *       takes it, then holds its run mutex (head->mutex).</li>
 *   <li>Taken: under {@link #lock} the runner takes all its nodes (adds first, so a drop never
 *       brings the count to zero while adds wait — select_delayed_ref), the must-insert flag and
 *       the extent op, leaving the head empty but still in the map; refs queued meanwhile land in
 *       it and are taken in the next round.</li>
 *   <li>Applied to the extent tree without this lock (the runner holds the extent root's lock).</li>
 *   <li>Settled: when a round finds nothing new, the head leaves the map (btrfs_delete_ref_head).</li>
 * </ol>
 * A head that was allocated and freed within the transaction before it ran is empty but for its
 * must-insert flag; {@link #checkRefCleanup} removes such a head at once (check_ref_cleanup), so
 * the tree block code can reuse the space without ever touching the extent tree.
 *
 * <h2>For callers</h2>
 * <ul>
 *   <li>A tree block allocator (btrfs_alloc_tree_block) queues {@code addTreeRef(..., ADD,
 *       newlyAllocated=true, firstKey, transid)} with the owner tree as root and parent 0.</li>
 *   <li>Freeing a tree block (btrfs_free_tree_block) queues {@code addTreeRef(..., DROP, false, ...)};
 *       a normal tree drops its root-keyed ref, so the parent argument stays 0 (only relocation
 *       trees and FULL_BACKREF blocks use shared refs). A block of the running transaction that was
 *       never written then asks {@link #checkRefCleanup}: true means the space is free again now.</li>
 *   <li>A file extent written queues {@code addDataRef(..., ADD, 1, newlyAllocated=true, transid)};
 *       cloning adds refs, dropping a file extent item drops one.</li>
 * </ul>
 *
 * <h2>Locks and threads</h2>
 * {@link #lock} guards the head map, every head's mutable fields and nodes, and the counters. It is
 * a leaf lock (the kernel's spinlock): nothing waits, does IO or takes another lock while holding
 * it. Lock order: a head's run mutex, then the extent root's lock, then {@link #lock}. Any thread
 * may queue refs at any time, also while a runner applies the same head.
 *
 * <h2>After an abort</h2>
 * A head that failed stays in the map with the nodes that were not taken yet (the taken ones are
 * gone, some of their changes possibly applied to the in-memory extent tree); {@link #abortCause}
 * is set and every later run refuses. The transaction layer then calls {@link #destroy}
 * (btrfs_destroy_delayed_refs) to learn which reserved extents never got their item.
 */
public final class DelayedRefs {
    /** What a queued ref does (BTRFS_ADD_DELAYED_REF / BTRFS_DROP_DELAYED_REF). */
    public enum Action { ADD, DROP }

    /** A queued node as seen from outside, for tests and for lookups of pending counts. */
    public record NodeState(DelayedRefKey key, Action action, long refMod) {
    }

    /** A head as seen from outside; {@code nodes} in comp_refs order. */
    public record HeadState(long bytenr, long numBytes, boolean isData, int level, long refMod, long totalRefMod,
            boolean mustInsertReserved, boolean hasExtentOp, long flagsToSet, boolean processing,
            List<NodeState> nodes) {
    }

    /** An extent whose space was reserved but whose item was never inserted (returned by {@link #destroy}). */
    public record ReservedExtent(long bytenr, long numBytes, boolean metadata) {
    }

    /**
     * What a runner took out of a head in one round: the nodes (adds first, each group in key
     * order) and the head's one-shot state. Owned by that runner alone.
     */
    record HeadWork(DelayedRefHead head, List<DelayedRefNode> nodes, boolean mustInsertReserved, boolean hasExtentOp,
            long flagsToSet, long numBytes, long generation, DiskKey firstKey) {
    }

    private final long transid;

    /**
     * Guards {@link #heads}, every head's mutable fields and nodes, {@link #numEntries},
     * {@link #numHeadsReady} and {@link #runDelayedStart}. Rank: leaf (spinlock); innermost of the
     * package. Never held across IO, waiting, or another lock.
     */
    final ReentrantLock lock = new ReentrantLock();
    /** Heads by bytenr, unsigned order. Guarded by {@link #lock}. */
    private final TreeMap<Long, DelayedRefHead> heads = new TreeMap<>(Long::compareUnsigned);
    /** Queued nodes over all heads (num_entries). Guarded by {@link #lock}. */
    private long numEntries;
    /** Heads not selected by a runner (num_heads_ready). Guarded by {@link #lock}. */
    private long numHeadsReady;
    /** Where the next head selection starts (run_delayed_start), so runners sweep in bytenr order. Guarded by {@link #lock}. */
    private long runDelayedStart;
    /** Set once by the first failed run; later runs refuse. */
    private volatile TransactionAbortException abortCause;

    public DelayedRefs(long transid) {
        assert transid > 0 : "transid " + transid;
        this.transid = transid;
    }

    /** The transaction these refs belong to. */
    public long transid() {
        return transid;
    }

    /**
     * btrfs_add_delayed_tree_ref(): queues a change of one backref of a tree block. {@code parent}
     * != 0 makes it a SHARED_BLOCK_REF of that parent block (then {@code root} is informational),
     * else a TREE_BLOCK_REF of {@code root}. {@code newlyAllocated} (only with ADD) says the block
     * was just allocated and has no extent item yet; {@code firstKey} and {@code generation} then
     * describe the new item.
     */
    public void addTreeRef(long bytenr, long numBytes, int level, long root, long parent, Action action,
            boolean newlyAllocated, DiskKey firstKey, long generation) {
        checkCommon(bytenr, numBytes, action, newlyAllocated, generation);
        if (level < 0 || level >= Header.MAX_LEVEL) {
            throw new IllegalArgumentException("tree block " + Long.toUnsignedString(bytenr) + " level " + level);
        }
        if (parent == 0 && root == 0) {
            throw new IllegalArgumentException("tree ref of block " + Long.toUnsignedString(bytenr) + " without root or parent");
        }
        DelayedRefKey key = parent != 0 ? DelayedRefKey.sharedBlock(parent) : DelayedRefKey.treeBlock(root);
        queue(bytenr, numBytes, false, level, key, action, 1, newlyAllocated, firstKey, generation);
    }

    /**
     * btrfs_add_delayed_data_ref(): queues {@code count} references of a data extent by file
     * extent items of inode {@code objectid} in tree {@code root} at file offset minus extent
     * offset {@code offset} (an EXTENT_DATA_REF), or, with {@code parent} != 0, by that leaf (a
     * SHARED_DATA_REF; root, objectid and offset are then informational).
     */
    public void addDataRef(long bytenr, long numBytes, long root, long objectid, long offset, long parent, Action action,
            int count, boolean newlyAllocated, long generation) {
        checkCommon(bytenr, numBytes, action, newlyAllocated, generation);
        if (count <= 0) {
            throw new IllegalArgumentException("data ref of " + Long.toUnsignedString(bytenr) + " with count " + count);
        }
        if (parent == 0 && (root == 0 || Long.compareUnsigned(objectid, ObjectIds.FIRST_FREE) < 0)) {
            throw new IllegalArgumentException("data ref of " + Long.toUnsignedString(bytenr) + " root " + root
                    + " objectid " + Long.toUnsignedString(objectid) + ": not an inode of a tree");
        }
        DelayedRefKey key = parent != 0 ? DelayedRefKey.sharedData(parent) : DelayedRefKey.extentData(root, objectid, offset);
        queue(bytenr, numBytes, true, -1, key, action, count, newlyAllocated, null, generation);
    }

    /**
     * btrfs_add_delayed_extent_op() with update_flags: ORs {@code flags} (e.g.
     * {@link ExtentItem#FLAG_FULL_BACKREF}) into the extent item when the head
     * runs. {@code level} is the tree block level, or -1 for a data extent.
     */
    public void setExtentFlags(long bytenr, long numBytes, int level, long flags) {
        if (bytenr == 0 || numBytes <= 0 || flags == 0 || level >= Header.MAX_LEVEL
                || (level < 0 && (flags & ExtentItem.FLAG_FULL_BACKREF) != 0)) {
            throw new IllegalArgumentException("extent op on " + Long.toUnsignedString(bytenr) + " flags " + flags);
        }
        lock.lock();
        try {
            DelayedRefHead head = headFor(bytenr, numBytes, level < 0, level, false);
            head.hasExtentOp = true;
            head.flagsToSet |= flags;
        } finally {
            lock.unlock();
        }
    }

    private static void checkCommon(long bytenr, long numBytes, Action action, boolean newlyAllocated, long generation) {
        if (bytenr == 0 || numBytes <= 0) {
            throw new IllegalArgumentException("delayed ref for extent " + Long.toUnsignedString(bytenr) + " of " + numBytes + " bytes");
        }
        if (newlyAllocated && (action != Action.ADD || generation <= 0)) {
            throw new IllegalArgumentException("newly allocated extent " + Long.toUnsignedString(bytenr) + " with action "
                    + action + " generation " + generation);
        }
    }

    private void queue(long bytenr, long numBytes, boolean isData, int level, DelayedRefKey key, Action action, long mod,
            boolean newlyAllocated, DiskKey firstKey, long generation) {
        lock.lock();
        try {
            DelayedRefHead head = headFor(bytenr, numBytes, isData, level, newlyAllocated);
            if (newlyAllocated) {
                head.mustInsertReserved = true;
                head.numBytes = numBytes;
                head.generation = generation;
                head.firstKey = firstKey;
            }
            insertNode(head, key, action, mod);
        } finally {
            lock.unlock();
        }
    }

    /** Finds or creates the head of {@code bytenr} (add_delayed_ref_head / update_existing_head_ref). */
    private DelayedRefHead headFor(long bytenr, long numBytes, boolean isData, int level, boolean newlyAllocated) {
        assert lock.isHeldByCurrentThread();
        DelayedRefHead head = heads.get(bytenr);
        if (head == null) {
            head = new DelayedRefHead(bytenr, isData, isData ? -1 : level, numBytes);
            heads.put(bytenr, head);
            numHeadsReady++;
            return head;
        }
        if (head.isData != isData || (!isData && head.level != level)) {
            throw new IllegalArgumentException(head + ": ref for a " + (isData ? "data extent" : "tree block of level " + level));
        }
        if (!newlyAllocated && head.numBytes != numBytes) {
            throw new IllegalArgumentException(head + ": ref with " + numBytes + " bytes");
        }
        return head;
    }

    /** insert_delayed_ref(): merges the change into the node of the same backref, or adds a node. */
    private void insertNode(DelayedRefHead head, DelayedRefKey key, Action action, long mod) {
        assert lock.isHeldByCurrentThread();
        assert key.isData() == head.isData : key + " on " + head;
        DelayedRefNode exist = head.refs.get(key);
        if (exist == null) {
            head.refs.put(key, new DelayedRefNode(key, action, mod));
            numEntries++;
        } else if (exist.action == action) {
            exist.refMod = Math.addExact(exist.refMod, mod);
        } else if (exist.refMod > mod) {
            exist.refMod -= mod;
        } else if (exist.refMod < mod) {
            exist.action = action;
            exist.refMod = mod - exist.refMod;
        } else {
            head.refs.remove(key);
            numEntries--;
        }
        long signed = action == Action.ADD ? mod : -mod;
        head.refMod = Math.addExact(head.refMod, signed);
        head.totalRefMod = Math.addExact(head.totalRefMod, signed);
        assert head.refMod == sumOfNodes(head) : head + " ref_mod " + head.refMod + " nodes " + head.refs.values();
    }

    private static long sumOfNodes(DelayedRefHead head) {
        long sum = 0;
        for (DelayedRefNode n : head.refs.values()) {
            sum += n.signedMod();
        }
        return sum;
    }

    /**
     * check_ref_cleanup(): called when a tree block allocated in this transaction is freed before
     * it was written. If its head has nothing left to run (the add and the drop cancelled), the
     * head is removed and the result says whether the extent had only been reserved — then the
     * caller may hand the space back at once, since no extent item was ever inserted.
     */
    public boolean checkRefCleanup(long bytenr) {
        lock.lock();
        try {
            DelayedRefHead head = heads.get(bytenr);
            if (head == null || head.processing || !head.refs.isEmpty() || (head.hasExtentOp && !head.mustInsertReserved)) {
                return false;
            }
            heads.remove(bytenr);
            numHeadsReady--;
            return head.mustInsertReserved;
        } finally {
            lock.unlock();
        }
    }

    /** The live head of {@code bytenr}, or null (for {@link ExtentInfo}, which waits on its run mutex). */
    DelayedRefHead headOf(long bytenr) {
        lock.lock();
        try {
            return heads.get(bytenr);
        } finally {
            lock.unlock();
        }
    }

    /** The head of {@code bytenr} as it stands, or null. */
    public HeadState head(long bytenr) {
        lock.lock();
        try {
            DelayedRefHead h = heads.get(bytenr);
            if (h == null) {
                return null;
            }
            List<NodeState> nodes = new ArrayList<>(h.refs.size());
            for (DelayedRefNode n : h.refs.values()) {
                nodes.add(new NodeState(n.key, n.action, n.refMod));
            }
            return new HeadState(h.bytenr, h.numBytes, h.isData, h.level, h.refMod, h.totalRefMod, h.mustInsertReserved,
                    h.hasExtentOp, h.flagsToSet, h.processing, List.copyOf(nodes));
        } finally {
            lock.unlock();
        }
    }

    /** Heads queued, selected ones included. */
    public int numHeads() {
        lock.lock();
        try {
            return heads.size();
        } finally {
            lock.unlock();
        }
    }

    /** Heads no runner has selected (num_heads_ready). */
    public long numHeadsReady() {
        lock.lock();
        try {
            return numHeadsReady;
        } finally {
            lock.unlock();
        }
    }

    /** Queued nodes over all heads (num_entries). */
    public long numEntries() {
        lock.lock();
        try {
            return numEntries;
        } finally {
            lock.unlock();
        }
    }

    /** The abort that stopped the runs of this transaction, or null. */
    public TransactionAbortException abortCause() {
        return abortCause;
    }

    void markAborted(TransactionAbortException e) {
        lock.lock();
        try {
            if (abortCause == null) {
                abortCause = e;
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * btrfs_destroy_delayed_refs(): after an abort, drops every queued head and returns the
     * extents that were reserved but never got an extent item, so the caller can return their
     * reservations (the kernel pins them).
     */
    public List<ReservedExtent> destroy() {
        lock.lock();
        try {
            assert abortCause != null : "destroying the delayed refs of a transaction that did not abort";
            List<ReservedExtent> reserved = new ArrayList<>();
            for (DelayedRefHead h : heads.values()) {
                assert !h.processing : h + " is being run while the transaction is destroyed";
                if (h.mustInsertReserved) {
                    reserved.add(new ReservedExtent(h.bytenr, h.numBytes, !h.isData));
                }
            }
            heads.clear();
            numEntries = 0;
            numHeadsReady = 0;
            return reserved;
        } finally {
            lock.unlock();
        }
    }

    // ---- for the runner ------------------------------------------------------------------

    /**
     * btrfs_select_ref_head(): the next ready head at or after the sweep position (wrapping
     * around), marked processing; null when every head is taken or none is left.
     */
    DelayedRefHead selectHead() {
        lock.lock();
        try {
            DelayedRefHead head = firstReady(heads.tailMap(runDelayedStart, true));
            if (head == null) {
                head = firstReady(heads);
            }
            if (head == null) {
                return null;
            }
            head.processing = true;
            numHeadsReady--;
            runDelayedStart = head.bytenr + head.numBytes;
            return head;
        } finally {
            lock.unlock();
        }
    }

    private static DelayedRefHead firstReady(Map<Long, DelayedRefHead> m) {
        for (DelayedRefHead h : m.values()) {
            if (!h.processing) {
                return h;
            }
        }
        return null;
    }

    /** Some head another runner is processing, to wait for; null when no head is left. */
    DelayedRefHead anyHead() {
        lock.lock();
        try {
            return heads.isEmpty() ? null : heads.firstEntry().getValue();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Takes everything queued on a selected head: its nodes (adds first), its must-insert flag and
     * its extent op. Returns null when there is nothing to take.
     */
    HeadWork takeWork(DelayedRefHead head) {
        assert head.runMutex.isHeldByCurrentThread() : "taking work of " + head + " without its run mutex";
        lock.lock();
        try {
            assert head.processing && heads.get(head.bytenr) == head : head + " not selected";
            if (head.isSettled()) {
                return null;
            }
            List<DelayedRefNode> nodes = new ArrayList<>(head.refs.size());
            for (Action a : Action.values()) {
                for (DelayedRefNode n : head.refs.values()) {
                    if (n.action == a) {
                        nodes.add(n);
                    }
                }
            }
            for (DelayedRefNode n : nodes) {
                head.refMod -= n.signedMod();
            }
            assert head.refMod == 0 : head + " ref_mod " + head.refMod + " after taking every node";
            numEntries -= nodes.size();
            head.refs.clear();
            HeadWork w = new HeadWork(head, List.copyOf(nodes), head.mustInsertReserved, head.hasExtentOp, head.flagsToSet,
                    head.numBytes, head.generation, head.firstKey);
            head.mustInsertReserved = false;
            head.hasExtentOp = false;
            head.flagsToSet = 0;
            return w;
        } finally {
            lock.unlock();
        }
    }

    /**
     * The end of a round: removes the head if nothing new was queued on it meanwhile
     * (btrfs_delete_ref_head) and returns true; false means the runner must take another round.
     */
    boolean finishHead(DelayedRefHead head) {
        assert head.runMutex.isHeldByCurrentThread();
        lock.lock();
        try {
            assert head.processing && heads.get(head.bytenr) == head : head + " not selected";
            if (!head.isSettled()) {
                return false;
            }
            heads.remove(head.bytenr);
            head.processing = false;
            return true;
        } finally {
            lock.unlock();
        }
    }

    /**
     * unselect_delayed_ref_head(): a run of the head failed; it goes back to ready with what was
     * not taken. {@code stillReserved} puts the must-insert flag back when the extent item was not
     * created, so {@link #destroy} reports the reservation.
     */
    void unselectHead(DelayedRefHead head, boolean stillReserved) {
        lock.lock();
        try {
            assert head.processing : head + " not selected";
            head.processing = false;
            head.mustInsertReserved |= stillReserved;
            if (heads.get(head.bytenr) == head) {
                numHeadsReady++;
            }
        } finally {
            lock.unlock();
        }
    }
}
