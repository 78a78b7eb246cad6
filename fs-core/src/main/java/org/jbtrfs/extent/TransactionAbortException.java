package org.jbtrfs.extent;

import java.io.IOException;

/**
 * The running transaction cannot commit (btrfs_abort_transaction in transaction.h): a change was
 * found that does not apply to the trees, such as a delayed ref dropping a backref that is not
 * there. It is thrown where the problem is found, so the message names the cause — for a delayed
 * ref, the extent's bytenr, the backref and what the extent tree holds against what the ref
 * expected ("have 1 expect 2").
 *
 * <p>Whoever catches it must treat the in-memory trees of the transaction as garbage: the
 * transaction layer turns the filesystem read-only, logs the reason, and never writes the
 * transaction's blocks or a superblock pointing to them, so the image keeps the last committed
 * state. (This lives in {@code extent} because the first thrower is here; the transaction layer
 * may catch it by this type.)
 */
public class TransactionAbortException extends IOException {
    private static final long serialVersionUID = 1L;

    /** The extent the failing change was about, or 0 when the abort is not about one extent. */
    private final long bytenr;

    public TransactionAbortException(long bytenr, String message) {
        super(message);
        this.bytenr = bytenr;
    }

    public TransactionAbortException(long bytenr, String message, Throwable cause) {
        super(message, cause);
        this.bytenr = bytenr;
    }

    public long bytenr() {
        return bytenr;
    }
}
