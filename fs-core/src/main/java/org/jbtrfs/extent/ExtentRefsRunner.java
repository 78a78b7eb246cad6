package org.jbtrfs.extent;

import java.io.IOException;
import java.util.List;
import org.jbtrfs.ctree.CowBTree;
import org.jbtrfs.ctree.CowRoot;

/**
 * btrfs_run_delayed_refs() (extent-tree.c): applies the queued {@link DelayedRefs} of a
 * transaction to the extent tree.
 *
 * <h2>How a run goes</h2>
 * <ol>
 *   <li>Select the next ready head in bytenr order, sweeping on from where the last selection
 *       left off (btrfs_select_ref_head); mark it processing and take its run mutex. Heads that
 *       another runner holds are skipped.</li>
 *   <li>Take everything queued on it (adds first) and, holding the extent root's write lock,
 *       apply it with {@link ExtentRefsUpdater}: the first add of a newly allocated extent inserts
 *       its extent item — a skinny METADATA_ITEM (bytenr METADATA_ITEM level) with flags TREE_BLOCK,
 *       or an EXTENT_ITEM (bytenr EXTENT_ITEM num_bytes) with flags DATA, each with one inline
 *       backref — and tells {@link ExtentAccounting#extentAllocated}; other adds go inline or keyed;
 *       drops decrement and remove backrefs, and the drop of the last reference deletes the extent
 *       item and tells {@link ExtentAccounting#extentFreed}; a pending flag update is ORed in.
 *       Fat (non-skinny) tree block items of older images are read and updated in their form;
 *       new ones are always skinny.</li>
 *   <li>Drop the root lock; if refs were queued on the head meanwhile, take another round; else
 *       remove the head (cleanup_ref_head) and tell the {@link DelayedRefObserver}.</li>
 * </ol>
 * Modifying the extent tree COWs its blocks, which queues more refs (the extent tree's own blocks
 * have extent items too). {@code run(..., RUN_ALL)} therefore loops until no head is left, waiting
 * for heads other runners hold; it converges because blocks already COWed in the transaction are
 * changed in place.
 *
 * <p>A head that was allocated and whose every ref cancelled out before it ran still holds a
 * reservation: the run calls {@code extentAllocated} then {@code extentFreed} for it, which moves
 * the space from reserved to pinned as the kernel's btrfs_pin_extent(reserved) does, without an
 * extent item ever being written. Tree blocks freed before their head ran avoid even that through
 * {@link DelayedRefs#checkRefCleanup}.
 *
 * <h2>Errors</h2>
 * A ref that does not apply — a drop of a backref that is not there or of more references than it
 * holds, an add to an extent without an extent item that was not newly allocated, a second
 * reference of a tree block by the same root or parent, a count overflow, an extent item that is
 * already there for a new extent, a corrupt extent item — throws a
 * {@link TransactionAbortException} naming the extent, the ref and have/expect. So does any other
 * IO failure during a run. Then {@link DelayedRefs#abortCause()} is set, every later run refuses,
 * and what stays behind is documented there: the failing head is back in the queue without the
 * nodes the failed round took; the in-memory extent tree holds the refs applied before the failing
 * one (each ref is checked in full before its change begins, see {@link ExtentRefsUpdater}). The
 * caller must not commit it.
 *
 * <h2>Threads and locks</h2>
 * Any number of threads may run at once; each applies different heads, and tree changes are
 * serialised by the extent root's write lock, held per round of one head. Lock order: head run
 * mutex, extent root lock, {@link DelayedRefs#lock}. A run must not start while the caller holds
 * any tree lock — in particular never from inside a tree operation or a
 * {@link org.jbtrfs.ctree.TreeBlockAllocator} callback (asserted for the extent root): the run
 * would modify the extent tree in the middle of another modification.
 *
 * <p>{@link ExtentAccounting} and the tree block allocator are called by the runner thread with the
 * head's run mutex and the extent root's write lock held, but never while a path into the extent
 * tree is open. They may queue delayed refs (COW of the free space tree does) and take locks ranked
 * below the extent root; they must not run delayed refs. For data, the
 * {@link DataExtentFreedListener} is told right after extentFreed, under the same rules: that is
 * where the checksums of the extent go (do_free_extent_accounting deletes them in the kernel), so
 * the csum tree lock ranks below the extent root lock.
 */
public final class ExtentRefsRunner {
    /** {@code maxHeads} for "until the queue is empty, including refs queued during the run" (count -1). */
    public static final long RUN_ALL = -1;

    private final ExtentRefsUpdater updater;
    private final DelayedRefObserver observer;

    public ExtentRefsRunner(CowBTree cow, ExtentAccounting accounting, DelayedRefObserver observer) {
        this(cow, accounting, observer, DataExtentFreedListener.NONE);
    }

    /** With {@code dataFreed} told of every data extent whose last reference goes (its csums go). */
    public ExtentRefsRunner(CowBTree cow, ExtentAccounting accounting, DelayedRefObserver observer,
            DataExtentFreedListener dataFreed) {
        this(cow, accounting, observer, BackrefCodec.KERNEL_HASH, dataFreed);
    }

    /** With another EXTENT_DATA_REF key hash: only for tests that force hash collisions. */
    ExtentRefsRunner(CowBTree cow, ExtentAccounting accounting, DelayedRefObserver observer, BackrefCodec.DataRefHash hash) {
        this(cow, accounting, observer, hash, DataExtentFreedListener.NONE);
    }

    private ExtentRefsRunner(CowBTree cow, ExtentAccounting accounting, DelayedRefObserver observer,
            BackrefCodec.DataRefHash hash, DataExtentFreedListener dataFreed) {
        this.updater = new ExtentRefsUpdater(cow, accounting, hash, dataFreed);
        this.observer = observer;
    }

    /**
     * Runs delayed ref heads of transaction {@code transid} against {@code extentRoot}.
     * {@code maxHeads}: at most that many heads; 0 for the heads ready when the run starts;
     * {@link #RUN_ALL} until none is left. Returns the number of heads this call ran.
     */
    public long run(long transid, CowRoot extentRoot, DelayedRefs refs, long maxHeads) throws IOException {
        assert refs.transid() == transid : "delayed refs of transaction " + refs.transid() + " run in " + transid;
        assert !extentRoot.lock.isWriteLockedByCurrentThread() && extentRoot.lock.getReadHoldCount() == 0
                : "delayed refs run with the extent root locked: nested in a tree operation";
        checkNotAborted(refs);
        boolean runAll = maxHeads < 0;
        long target = maxHeads == 0 ? refs.numHeadsReady() : maxHeads;
        long ran = 0;
        while (runAll || ran < target) {
            DelayedRefHead head = refs.selectHead();
            if (head == null) {
                if (!runAll) {
                    break;
                }
                DelayedRefHead busy = refs.anyHead();
                if (busy == null) {
                    break;
                }
                // Another runner holds it: wait for it to finish its round, then look again.
                busy.runMutex.lock();
                busy.runMutex.unlock();
                Thread.yield();
                checkNotAborted(refs);
                continue;
            }
            runHead(transid, extentRoot, refs, head);
            ran++;
        }
        return ran;
    }

    private static void checkNotAborted(DelayedRefs refs) throws TransactionAbortException {
        TransactionAbortException cause = refs.abortCause();
        if (cause != null) {
            throw new TransactionAbortException(cause.bytenr(), "transaction " + refs.transid() + " already aborted: "
                    + cause.getMessage(), cause);
        }
    }

    /** Runs one selected head until it is settled (the loop of __btrfs_run_delayed_refs for one head). */
    private void runHead(long transid, CowRoot root, DelayedRefs refs, DelayedRefHead head) throws IOException {
        ExtentRefsUpdater.HeadProgress pr = new ExtentRefsUpdater.HeadProgress();
        long numBytes = -1;
        head.runMutex.lock();
        try {
            while (true) {
                DelayedRefs.HeadWork w = refs.takeWork(head);
                if (w == null) {
                    if (refs.finishHead(head)) {
                        break;
                    }
                    continue;
                }
                numBytes = w.numBytes();
                root.lock.writeLock().lock();
                try {
                    updater.apply(transid, root, w, pr);
                } finally {
                    root.lock.writeLock().unlock();
                }
            }
        } catch (TransactionAbortException e) {
            fail(refs, head, pr, e);
            throw e;
        } catch (IOException e) {
            TransactionAbortException abort = new TransactionAbortException(head.bytenr, "running the delayed refs of extent "
                    + Long.toUnsignedString(head.bytenr) + " failed: " + e.getMessage(), e);
            fail(refs, head, pr, abort);
            throw abort;
        } catch (RuntimeException | Error e) {
            fail(refs, head, pr, new TransactionAbortException(head.bytenr, "running the delayed refs of extent "
                    + Long.toUnsignedString(head.bytenr) + " hit a bug: " + e, e));
            throw e;
        } finally {
            head.runMutex.unlock();
        }
        if (numBytes >= 0) {
            notifyObserver(transid, refs, head, numBytes, pr);
        }
    }

    private static void fail(DelayedRefs refs, DelayedRefHead head, ExtentRefsUpdater.HeadProgress pr,
            TransactionAbortException e) {
        refs.markAborted(e);
        refs.unselectHead(head, pr.insertPending);
    }

    private void notifyObserver(long transid, DelayedRefs refs, DelayedRefHead head, long numBytes,
            ExtentRefsUpdater.HeadProgress pr) throws TransactionAbortException {
        long before = Math.max(pr.refsBefore, 0);
        DelayedRefObserver.HeadRun run = new DelayedRefObserver.HeadRun(transid, head.bytenr, numBytes, !head.isData, before,
                pr.deleted ? 0 : pr.refsAfter, List.copyOf(pr.changes));
        try {
            observer.headRun(run);
        } catch (IOException e) {
            TransactionAbortException abort = new TransactionAbortException(head.bytenr, "delayed ref observer failed on extent "
                    + Long.toUnsignedString(head.bytenr) + ": " + e.getMessage(), e);
            refs.markAborted(abort);
            throw abort;
        }
    }
}
