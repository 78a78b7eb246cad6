package org.jbtrfs.space;

/**
 * How much a reservation may do to make room: enum btrfs_reserve_flush_enum (space-info.h).
 *
 * <p>Three families: those that never wait ({@link #NO_FLUSH}, {@link #FLUSH_EMERGENCY}); the
 * <em>normal</em> ones that queue a ticket on {@link SpaceInfo}'s FIFO list and sleep until the
 * async reclaimer ({@link SpaceReclaimer}) grants or fails it ({@link #FLUSH_ALL},
 * {@link #FLUSH_ALL_STEAL}, {@link #FLUSH_DATA}); and the <em>priority</em> ones that queue on the
 * priority list, served first, and flush in their own thread the stages that are safe for a caller
 * that may already hold a transaction ({@link #FLUSH_LIMIT}, {@link #FLUSH_EVICT},
 * {@link #FLUSH_FREE_SPACE_INODE}).
 */
public enum FlushPolicy {
    /** Fail with ENOSPC at once; no ticket. Used inside a transaction for small extra bytes. */
    NO_FLUSH,
    /** Priority ticket; flush delayed items and allocate a chunk, no commit (may hold a trans). */
    FLUSH_LIMIT,
    /** Priority ticket for inode eviction: every stage but the final commit comes first. */
    FLUSH_EVICT,
    /** Normal data ticket, served by the data reclaim worker. */
    FLUSH_DATA,
    /** Priority data ticket for the free space cache inode: only allocates chunks. */
    FLUSH_FREE_SPACE_INODE,
    /** Normal metadata ticket: the async reclaimer may do anything, commit included. */
    FLUSH_ALL,
    /** As FLUSH_ALL, and may take the bytes from the global reserve before failing. */
    FLUSH_ALL_STEAL,
    /** Last resort before an abort: succeeds if the bytes are free ignoring bytes_may_use. */
    FLUSH_EMERGENCY;

    /** can_ticket(): NO_FLUSH and FLUSH_EMERGENCY fail as quickly as possible instead. */
    public boolean canTicket() {
        return this != NO_FLUSH && this != FLUSH_EMERGENCY;
    }

    /**
     * True for reservations served by the async reclaimer (they go on the FIFO list and wait).
     * The kernel's is_normal_flushing() leaves FLUSH_DATA out of the "wait behind queued tickets"
     * rule; jbtrfs keeps data reservations in FIFO order too (see {@link SpaceInfo}).
     */
    public boolean isNormalFlushing() {
        return this == FLUSH_ALL || this == FLUSH_ALL_STEAL || this == FLUSH_DATA;
    }

    /** Priority tickets: queued on priority_tickets and flushed by their own thread. */
    public boolean isPriority() {
        return this == FLUSH_LIMIT || this == FLUSH_EVICT || this == FLUSH_FREE_SPACE_INODE;
    }

    /** can_steal(): may take the ticket's bytes from the global reserve when all else failed. */
    public boolean canSteal() {
        return this == FLUSH_ALL_STEAL || this == FLUSH_EVICT;
    }

    /**
     * Policies that may trigger a transaction commit, directly or through the reclaimer. A thread
     * holding a transaction handle, and the reclaimer's own workers, must not use them: they would
     * wait for a commit that waits for them (the kernel's ASSERTs on current->journal_info).
     */
    public boolean mayCommit() {
        return this == FLUSH_ALL || this == FLUSH_ALL_STEAL || this == FLUSH_EVICT || this == FLUSH_DATA;
    }
}
