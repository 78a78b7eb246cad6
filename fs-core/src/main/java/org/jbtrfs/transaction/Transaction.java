package org.jbtrfs.transaction;

/**
 * struct btrfs_transaction: one generation of changes. Fields are guarded by the
 * {@link TransactionManager}'s lock.
 */
public final class Transaction {
    private final long transid;
    TransactionState state = TransactionState.RUNNING;
    /** Handles attached and not yet ended (num_writers). */
    int writers;
    /** Set when the transaction was aborted; it will never be committed. */
    String abortReason;

    Transaction(long transid) {
        this.transid = transid;
    }

    public long transid() {
        return transid;
    }

    @Override
    public String toString() {
        return "transaction " + transid + " " + state + (abortReason != null ? " aborted: " + abortReason : "");
    }
}
