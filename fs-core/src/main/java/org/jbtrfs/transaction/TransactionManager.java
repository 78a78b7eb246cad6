package org.jbtrfs.transaction;

import java.io.IOException;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.logging.Logger;
import org.jbtrfs.Errno;
import org.jbtrfs.FsException;

/**
 * Starting, joining, ending and committing transactions (transaction.c: start_transaction,
 * join_transaction, btrfs_end_transaction, btrfs_commit_transaction, btrfs_abort_transaction).
 *
 * <h2>How a commit goes</h2>
 * <ol>
 *   <li>The committer (a handle holder calling {@link #commit}) moves the transaction to
 *       COMMIT_START and waits until it is the only writer left. New handles wait meanwhile.</li>
 *   <li>COMMIT_DOING: {@link CommitWork#commitTrees} runs the delayed refs, writes block groups and
 *       root items until nothing is dirty, and writes every dirty tree block.</li>
 *   <li>UNBLOCKED: a new transaction may open (its handles wait only for trees, not for IO).
 *       {@link CommitWork#writeSuperblocks} flushes and writes the superblocks: the commit
 *       point.</li>
 *   <li>SUPER_COMMITTED, then {@link CommitWork#afterCommit} (unpin), COMPLETED.</li>
 * </ol>
 * Any failure during the commit aborts the transaction: the reason is logged, the filesystem
 * turns read-only, and no superblock is written, so the image stays at its last commit.
 *
 * <h2>Locks</h2>
 * {@link #lock} (rank 1, outermost of the engine's locks after the FUSE layer's) guards
 * {@link #running}, {@link #committing}, {@link #readOnlyReason} and the fields of every
 * {@link Transaction}. It is never held while the commit does IO.
 */
public final class TransactionManager {
    private static final Logger LOG = Logger.getLogger(TransactionManager.class.getName());

    /** The filesystem-specific steps of a commit. */
    public interface CommitWork {
        /** Everything up to writing the dirty tree blocks (commit_cowonly_roots, write the trees). */
        void commitTrees(long transid) throws IOException;

        /** Flush, then write all superblock copies for {@code transid}. */
        void writeSuperblocks(long transid) throws IOException;

        /** After the superblocks are durable: unpin extents, switch commit roots. */
        void afterCommit(long transid) throws IOException;
    }

    /** Guards the transaction states. Rank 1. */
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final CommitWork work;
    private Transaction running;
    private Transaction committing;
    private long lastCommitted;
    private String readOnlyReason;

    /** Set by a remount to read-only (seed 003); guarded by {@link #lock}. */
    private boolean remountedReadOnly;

    public TransactionManager(CommitWork work, long lastCommittedGeneration) {
        this.work = work;
        this.lastCommitted = lastCommittedGeneration;
    }

    /** start_transaction(): attaches to the running transaction, opening one if none runs. */
    public TransHandle start() throws FsException {
        lock.lock();
        try {
            while (true) {
                checkWritable();
                if (running != null && running.state == TransactionState.RUNNING) {
                    running.writers++;
                    return new TransHandle(this, running);
                }
                if (running == null && (committing == null || committing.state.compareTo(TransactionState.UNBLOCKED) >= 0)) {
                    long next = Math.max(lastCommitted, committing != null ? committing.transid() : 0) + 1;
                    running = new Transaction(next);
                    running.writers = 1;
                    return new TransHandle(this, running);
                }
                awaitUninterruptibly();
            }
        } finally {
            lock.unlock();
        }
    }

    /** btrfs_join_transaction(): like start; kept separate for the reservation work of later issues. */
    public TransHandle join() throws FsException {
        return start();
    }

    /** btrfs_end_transaction(). */
    public void end(TransHandle h) {
        lock.lock();
        try {
            if (!h.markEnded()) {
                throw new AssertionError("handle of " + h.transaction() + " ended twice");
            }
            Transaction t = h.transaction();
            assert t.writers > 0 : t + " has no writers to end";
            t.writers--;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /**
     * btrfs_commit_transaction(): commits the handle's transaction and ends the handle. If another
     * thread is already committing it, waits for that commit instead.
     */
    public void commit(TransHandle h) throws IOException {
        Transaction t = h.transaction();
        lock.lock();
        try {
            if (t.state != TransactionState.RUNNING) {
                // Someone else commits it: end our handle and wait for the outcome.
                endLocked(h);
                while (t.state != TransactionState.COMPLETED && t.abortReason == null) {
                    awaitUninterruptibly();
                }
                if (t.abortReason != null) {
                    throw new FsException(Errno.EROFS, t + ": commit failed");
                }
                return;
            }
            t.state = TransactionState.COMMIT_START;
            changed.signalAll();
            while (t.writers > 1 || committing != null) {
                // Writers finish first; and the previous commit must reach its superblocks before ours.
                awaitUninterruptibly();
            }
            endLocked(h);
            if (t.abortReason != null) {
                throw new FsException(Errno.EROFS, t + ": aborted before commit");
            }
            t.state = TransactionState.COMMIT_DOING;
            running = null;
            committing = t;
        } finally {
            lock.unlock();
        }
        try {
            work.commitTrees(t.transid());
            setState(t, TransactionState.UNBLOCKED);
            work.writeSuperblocks(t.transid());
            setState(t, TransactionState.SUPER_COMMITTED);
            work.afterCommit(t.transid());
        } catch (IOException | RuntimeException | Error e) {
            abort(t, "commit of transaction " + t.transid() + " failed: " + e);
            throw e;
        }
        lock.lock();
        try {
            t.state = TransactionState.COMPLETED;
            lastCommitted = t.transid();
            committing = null;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private void endLocked(TransHandle h) {
        if (!h.markEnded()) {
            throw new AssertionError("handle of " + h.transaction() + " ended twice");
        }
        h.transaction().writers--;
        changed.signalAll();
    }

    private void setState(Transaction t, TransactionState s) {
        lock.lock();
        try {
            assert s.compareTo(t.state) > 0 : t + " cannot go back to " + s;
            t.state = s;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /**
     * btrfs_abort_transaction(): the transaction can never commit; the filesystem turns
     * read-only with {@code reason} logged. Called where the error is found.
     */
    public void abort(Transaction t, String reason) {
        lock.lock();
        try {
            if (t.abortReason == null) {
                t.abortReason = reason;
            }
            if (readOnlyReason == null) {
                readOnlyReason = reason;
                LOG.severe("transaction " + t.transid() + " aborted, filesystem is now read-only: " + reason);
            }
            if (committing == t) {
                committing = null;
            }
            if (running == t) {
                running = null;
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Why the filesystem is read-only after an abort, or null. */
    public String readOnlyReason() {
        lock.lock();
        try {
            return readOnlyReason;
        } finally {
            lock.unlock();
        }
    }

    public long lastCommitted() {
        lock.lock();
        try {
            return lastCommitted;
        } finally {
            lock.unlock();
        }
    }

    /** Whether a transaction is open or committing (the unmount check of the lifecycle issue). */
    public boolean busy() {
        lock.lock();
        try {
            return running != null || committing != null;
        } finally {
            lock.unlock();
        }
    }

    /** Threads waiting for a state change: for tests that must see a thread blocked, without sleeping. */
    int waiters() {
        lock.lock();
        try {
            return lock.getWaitQueueLength(changed);
        } finally {
            lock.unlock();
        }
    }

    private void checkWritable() throws FsException {
        assert lock.isHeldByCurrentThread();
        if (readOnlyReason != null) {
            throw new FsException(Errno.EROFS, "filesystem is read-only after an aborted transaction: " + readOnlyReason);
        }
        // Seed 003: once remounted read-only nothing may start a transaction; callers check first.
        assert !remountedReadOnly : "a transaction starts on a filesystem remounted read-only";
        if (remountedReadOnly) {
            throw new FsException(Errno.EROFS, "the filesystem is read-only");
        }
    }

    /**
     * Read-only by remount (true) or back to read-write (false). Going read-only requires that no
     * transaction is open or committing: the remount committed it first.
     */
    public void setReadOnly(boolean ro) {
        lock.lock();
        try {
            if (ro && (running != null || committing != null)) {
                throw new IllegalStateException("remount read-only with " + (running != null ? running : committing)
                        + " still open");
            }
            remountedReadOnly = ro;
        } finally {
            lock.unlock();
        }
    }

    private void awaitUninterruptibly() {
        assert lock.isHeldByCurrentThread();
        changed.awaitUninterruptibly();
    }
}
