package org.jbtrfs.space;

import java.util.concurrent.locks.LockSupport;
import org.jbtrfs.Errno;
import org.jbtrfs.FsException;

/**
 * A reservation waiting for space: struct reserve_ticket (space-info.h).
 *
 * <p>Lifecycle, every step under the owning {@link SpaceInfo#lock}:
 * <ol>
 *   <li>queued: on {@link SpaceInfo}'s tickets or priority tickets list, its bytes counted in
 *       reclaim_size;</li>
 *   <li>then exactly one of: granted ({@link #grant()}: taken off the list by
 *       tryGrantingTickets or steal_from_global_rsv, its bytes added to bytes_may_use on the owner's
 *       behalf) or failed ({@link #fail}: taken off the list by maybe_fail_all_tickets, the
 *       priority flusher, a stopping reclaimer, or its own interrupted waiter).</li>
 * </ol>
 * A ticket is never both granted and failed, and never granted or failed while still on a list:
 * a failed ticket left queued is exactly seed 000 (a grant after the failure leaked bytes_may_use,
 * since the caller that saw the error never released them). Both are asserted here.
 */
final class ReserveTicket {
    /** The space_info whose lock guards every mutable field below. */
    final SpaceInfo space;
    /** Bytes asked for. The kernel zeroes ticket->bytes on grant; we keep it and flag instead. */
    final long bytes;
    /** May be served from the global reserve (FLUSH_ALL_STEAL, FLUSH_EVICT). */
    final boolean steal;
    /** Queued on priority_tickets rather than tickets. */
    final boolean priority;
    /** The thread to wake on grant or failure (the kernel's ticket->wait). */
    final Thread waiter;

    /** Guarded by space.lock. True while on one of the space_info's lists. */
    boolean queued;
    /**
     * Set by {@link SpaceInfo#reserveOrQueue} in the owner's thread when queueing this ticket set
     * the space_info's flush bit: the owner must kick the reclaimer. Read by the owner only.
     */
    boolean kickReclaimer;
    /**
     * Set by {@link SpaceInfo#reserveOrQueue} in the owner's thread when the ticket was queued
     * (rather than failed at once): the owner must wait or flush for it. Read by the owner only.
     */
    boolean enqueued;
    /** Guarded by space.lock. Set once by {@link #grant()}. */
    private boolean granted;
    /** Guarded by space.lock. Set once by {@link #fail}; null unless failed. */
    private Errno error;
    /** Guarded by space.lock. Why it failed, for the exception the waiter throws. */
    private String errorReason;

    ReserveTicket(SpaceInfo space, long bytes, boolean steal, boolean priority, Thread waiter) {
        assert bytes > 0 : "empty ticket on " + space.type;
        this.space = space;
        this.bytes = bytes;
        this.steal = steal;
        this.priority = priority;
        this.waiter = waiter;
    }

    /** Neither granted nor failed yet. */
    boolean isPending() {
        assert space.lock.isHeldByCurrentThread() : "ticket read without its space_info lock";
        return !granted && error == null;
    }

    boolean isGranted() {
        assert space.lock.isHeldByCurrentThread() : "ticket read without its space_info lock";
        return granted;
    }

    Errno error() {
        assert space.lock.isHeldByCurrentThread() : "ticket read without its space_info lock";
        return error;
    }

    /** Marks the ticket's bytes reserved (already added to bytes_may_use) and wakes the waiter. */
    void grant() {
        assert space.lock.isHeldByCurrentThread() : "ticket granted without its space_info lock";
        assert error == null : "ticket of " + bytes + " bytes on " + space.type
                + " both failed (" + error + ": " + errorReason + ") and granted (seed 000)";
        assert !granted : "ticket of " + bytes + " bytes on " + space.type + " granted twice";
        assert !queued : "ticket of " + bytes + " bytes on " + space.type + " granted while still queued";
        granted = true;
        LockSupport.unpark(waiter);
    }

    /** Fails the ticket with {@code errno}; the waiter will throw it. Wakes the waiter. */
    void fail(Errno errno, String reason) {
        assert space.lock.isHeldByCurrentThread() : "ticket failed without its space_info lock";
        assert !granted : "ticket of " + bytes + " bytes on " + space.type
                + " both granted and failed (" + errno + ": " + reason + ") (seed 000)";
        assert error == null : "ticket of " + bytes + " bytes on " + space.type + " failed twice: "
                + error + " then " + errno;
        assert !queued : "ticket of " + bytes + " bytes on " + space.type + " failed with " + errno
                + " while still queued: a later grant would leak bytes_may_use (seed 000)";
        error = errno;
        errorReason = reason;
        LockSupport.unpark(waiter);
    }

    /** The exception for a failed ticket, built in the waiter's thread so its stack is useful. */
    FsException toException() {
        assert space.lock.isHeldByCurrentThread() : "ticket read without its space_info lock";
        assert error != null : "exception asked of a ticket that did not fail";
        return new FsException(error, errorReason);
    }

    @Override
    public String toString() {
        // Racy by design (debug output only): no lock taken.
        return "ticket[" + bytes + " bytes " + space.type + (priority ? " priority" : "")
                + " waiter " + waiter.getName() + "]";
    }
}
