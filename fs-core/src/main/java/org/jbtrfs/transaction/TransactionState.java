package org.jbtrfs.transaction;

/**
 * The states of a transaction, as transaction.c names them and in the order it passes them:
 *
 * <pre>
 * RUNNING ──commit()──► COMMIT_START ──writers gone──► COMMIT_DOING ──trees written──►
 *   UNBLOCKED ──superblocks written──► SUPER_COMMITTED ──unpinned──► COMPLETED
 * </pre>
 *
 * Who may attach: {@link TransactionManager#start} and {@link TransactionManager#join} attach to
 * a RUNNING transaction; during COMMIT_START new handles wait (the committer is waiting for the
 * attached writers to end, which is how the kernel keeps a commit from starving); from
 * COMMIT_DOING on they wait for the next transaction, which opens at UNBLOCKED. An aborted
 * transaction is never committed and every later start fails with EROFS.
 */
public enum TransactionState {
    RUNNING,
    COMMIT_START,
    COMMIT_DOING,
    UNBLOCKED,
    SUPER_COMMITTED,
    COMPLETED
}
