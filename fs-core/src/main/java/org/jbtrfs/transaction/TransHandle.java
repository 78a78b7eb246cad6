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
