package org.jbtrfs.subvol;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.ItemType;
import org.jbtrfs.format.ObjectIds;
import org.jbtrfs.format.RootItem;
import org.jbtrfs.race.RacePoint;
import org.jbtrfs.transaction.FsTrees;

/**
 * fs_info->dead_roots and btrfs_clean_one_deleted_snapshot / btrfs_find_orphan_roots: the deleted
 * subvolumes whose trees the cleaner still has to drop, and the loop that drops them step by step.
 *
 * <h2>Lifecycle of a dead root</h2>
 * <ol>
 *   <li>Queued by {@link #add} when a subvolume is deleted (ready once that transaction committed:
 *       the drop reads the tree as the ROOT_ITEM records it), or by {@link #findOrphanRoots} at a
 *       read-write mount for every ORPHAN_ITEM of the root tree whose ROOT_ITEM has refs 0 — a
 *       read-only mount never looks (seed 003, patch 2).</li>
 *   <li>The cleaner runs {@link #run}: {@link DropSnapshot} steps of at most
 *       {@link #STEP_BLOCKS} blocks, each in its own transaction, until the tree is gone or the
 *       cleaner must yield (a remount to read-only, an unmount, someone waiting for the cleaner);
 *       the progress is in the ROOT_ITEM, so the next round — or the next read-write mount — goes on.</li>
 *   <li>The last step deletes the ROOT_ITEM and the orphan item; the root leaves the queue.</li>
 * </ol>
 *
 * <p>{@link #lock} guards the queue only; steps run without it.
 */
public final class DeadRoots {
    /**
     * Tree blocks one drop step drops or frees before it ends its transaction (the kernel ends one
     * when btrfs_should_end_transaction says so): bounds the delayed refs and dirty blocks a step adds.
     */
    public static final int STEP_BLOCKS = 64;

    /** Runs one drop step of a root in a transaction of its own; true when the root is gone. */
    @FunctionalInterface
    public interface Steps {
        boolean step(long rootId, int maxBlocks) throws IOException;
    }

    /** Guards {@link #queue}. Leaf lock. */
    private final ReentrantLock lock = new ReentrantLock();
    /** Root id → the transaction that deleted it (0: found at mount, ready at once). Guarded by {@link #lock}. */
    private final Map<Long, Long> queue = new LinkedHashMap<>();

    /** btrfs_add_dead_root: queue {@code rootId}, deleted in transaction {@code transid}. */
    public void add(long rootId, long transid) {
        lock.lock();
        try {
            queue.putIfAbsent(rootId, transid);
        } finally {
            lock.unlock();
        }
    }

    /** Dead roots not dropped yet. */
    public List<Long> pending() {
        lock.lock();
        try {
            return new ArrayList<>(queue.keySet());
        } finally {
            lock.unlock();
        }
    }

    /**
     * btrfs_find_orphan_roots: queues every root the root tree marks with an orphan item whose
     * ROOT_ITEM has refs 0 — or has no ROOT_ITEM left (a drop that ended before deleting its orphan
     * item: the first step deletes it). Reads only; the drops start transactions, which only a
     * read-write mount may do. Returns how many were queued.
     */
    public int findOrphanRoots(FsTrees trees) throws IOException {
        List<Long> orphans = new ArrayList<>();
        trees.reads().scan(ObjectIds.ROOT_TREE, new DiskKey(ObjectIds.ORPHAN, ItemType.ORPHAN_ITEM, 0),
                new DiskKey(ObjectIds.ORPHAN, ItemType.ORPHAN_ITEM, -1L), (k, b, o, l) -> {
                    orphans.add(k.offset());
                    return true;
                });
        int queued = 0;
        for (long id : orphans) {
            RootItem ri = trees.reads().rootItem(id);
            if (ri == null || ri.refs() == 0) {
                add(id, 0);
                queued++;
            }
        }
        return queued;
    }

    /**
     * Drops the ready dead roots in steps until none is left, {@code shouldYield} says stop, or
     * {@code maxSteps} steps ran. Returns how many roots were finished.
     */
    public int run(Steps steps, LongSupplier lastCommitted, BooleanSupplier shouldYield, long maxSteps)
            throws IOException {
        int finished = 0;
        long ran = 0;
        for (long id : ready(lastCommitted.getAsLong())) {
            while (true) {
                if (ran >= maxSteps || shouldYield.getAsBoolean()) {
                    return finished;
                }
                boolean done = steps.step(id, STEP_BLOCKS);
                ran++;
                RacePoint.DROP_SNAPSHOT_STEP.hit();
                if (done) {
                    lock.lock();
                    try {
                        queue.remove(id);
                    } finally {
                        lock.unlock();
                    }
                    finished++;
                    break;
                }
            }
        }
        return finished;
    }

    /** Roots whose deleting transaction is on disk. */
    private List<Long> ready(long lastCommitted) {
        lock.lock();
        try {
            List<Long> out = new ArrayList<>();
            for (Map.Entry<Long, Long> e : queue.entrySet()) {
                if (e.getValue() <= lastCommitted) {
                    out.add(e.getKey());
                }
            }
            return out;
        } finally {
            lock.unlock();
        }
    }

    /** Whether a root is queued and ready (the cleaner has work). */
    public boolean hasReady(long lastCommitted) {
        return !ready(lastCommitted).isEmpty();
    }
}
