package org.jbtrfs.transaction;

import java.io.IOException;

/**
 * struct btrfs_trans_handle: a caller's attachment to the running transaction. Every change to the
 * trees happens through a handle; {@link #close()} ends it ({@link TransactionManager#end}).
 * A handle belongs to one thread at a time.
 */
public final class TransHandle implements AutoCloseable {
    private final TransactionManager manager;
    private final Transaction transaction;
    private boolean ended;
    /** Set by the first change to a tree through this handle: an error after it must abort. */
    private boolean changed;

    TransHandle(TransactionManager manager, Transaction transaction) {
        this.manager = manager;
        this.transaction = transaction;
    }

    public Transaction transaction() {
        return transaction;
    }

    public long transid() {
        return transaction.transid();
    }

    /** Notes that this handle has changed a tree (TRANS_HANDLE dirty in the kernel's terms). */
    public void markChanged() {
        changed = true;
    }

    /** Whether this handle changed a tree: a failure after that leaves a half-done change and must abort. */
    public boolean changed() {
        return changed;
    }

    boolean markEnded() {
        boolean was = ended;
        ended = true;
        return !was;
    }

    /** btrfs_end_transaction(). */
    @Override
    public void close() throws IOException {
        manager.end(this);
    }
}
