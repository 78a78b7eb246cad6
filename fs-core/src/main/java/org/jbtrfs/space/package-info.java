/**
 * Space accounting and reservation: how many bytes of each kind exist, where each one is, who has
 * been promised which, and who waits for what — so that ENOSPC comes up front, before a
 * modification, never in the middle of a commit.
 *
 * <h2>What it owns</h2>
 * <ul>
 *   <li>{@link org.jbtrfs.space.SpaceInfo} — struct btrfs_space_info: the counters (total, used,
 *       reserved, pinned, may_use, readonly, disk total/used) of one {@link org.jbtrfs.space.SpaceType},
 *       their updaters, the ticket queues and granting, overcommit, the leak check. Its class
 *       Javadoc is the how-it-works essay of the whole package.</li>
 *   <li>{@link org.jbtrfs.space.SpaceInfos} — a filesystem's three space_infos and the entry
 *       points {@code reserveBytes} (__reserve_bytes), {@code reserveMetadataBytes},
 *       {@code reserveDataBytes}; the unmount leak lines.</li>
 *   <li>{@code ReserveTicket} — struct reserve_ticket: a reservation waiting for space.</li>
 *   <li>{@link org.jbtrfs.space.SpaceReclaimer} — the async reclaim workers and flush_space(), the
 *       priority flushers; {@link org.jbtrfs.space.FlushState}, {@link org.jbtrfs.space.FlushPolicy}.</li>
 *   <li>{@link org.jbtrfs.space.Flusher} — the hooks through which reclaim asks the write core to
 *       free space (delayed items and refs, delalloc, chunk allocation, delayed iputs, commit).</li>
 *   <li>{@link org.jbtrfs.space.BlockRsv}, {@link org.jbtrfs.space.BlockRsvs},
 *       {@link org.jbtrfs.space.BlockRsvType} — block reserves: global, transaction, chunk,
 *       delayed inode, delayed refs, empty, temporary; the global reserve's size
 *       ({@link org.jbtrfs.space.GlobalRsvTrees}); worst-case metadata sizes.</li>
 *   <li>{@link org.jbtrfs.space.DelallocSpace} — data reservations for writes.</li>
 * </ul>
 *
 * <h2>Kernel files mirrored</h2>
 * fs/btrfs/space-info.c and space-info.h, block-rsv.c and block-rsv.h, delalloc-space.c (its data
 * half), the size helpers of fs.h and delayed-ref.h, and the space_info counter moves of
 * block-group.c (btrfs_add_reserved_bytes, btrfs_update_block_group, unpin_extent_range). Facts
 * and design come from there; where jbtrfs differs, {@link org.jbtrfs.space.SpaceInfo} and
 * {@link org.jbtrfs.space.SpaceReclaimer} say so under "differs".
 *
 * <h2>Invariants</h2>
 * <ol>
 *   <li>A counter changes only in its updater, with its lock held, and never goes below zero
 *       ({@code SpaceInfo.update}/{@code BlockRsv.update}: assert on the lock, AssertionError with
 *       the values on underflow or overflow, always on).</li>
 *   <li>A ticket ends exactly once, granted or failed, never both, and is off every list before it
 *       ends ({@code ReserveTicket.grant}/{@code fail} asserts; {@code SpaceInfo.finishTicket}
 *       asserts it is off the lists and in exactly one state).</li>
 *   <li>An interrupted waiter whose ticket is still pending removes it from the list and fails it
 *       with EINTR in one hold of the space_info lock, so no grant can follow (seed 000;
 *       {@code SpaceInfo.waitReserveTicket}; tested by {@code Seed000Test}, stressed by
 *       {@code SpaceStressTest}). A grant that came first is kept and the call succeeds. The
 *       thread's interrupt status is left set either way.</li>
 *   <li>Normal tickets are granted in FIFO order, priority tickets before them; a new normal
 *       reservation does not pass waiting tickets ({@code SpaceInfo.reserveOrQueue},
 *       {@code tryGrantingTickets}; {@code TicketTest}).</li>
 *   <li>reclaim_size is the sum of the queued tickets' bytes ({@code SpaceInfo.removeTicket};
 *       zero at the end of every test).</li>
 *   <li>Metadata overcommit stays below total_bytes plus 1/8 (FLUSH_ALL) or 1/2 of the unallocated
 *       space in the profile; data never overcommits ({@code SpaceInfo.canOvercommit};
 *       {@code SpaceInfoTest}).</li>
 *   <li>Tickets fail with ENOSPC only after every flush stage ran three times with no ticket
 *       granted, and then smaller tickets behind a failed one are still granted if they fit
 *       ({@code SpaceReclaimer.asyncReclaimMetadataSpace}, {@code SpaceInfo.maybeFailAllTickets};
 *       {@code SpaceReclaimerTest}).</li>
 *   <li>No ticket waits forever: while no reclaimer runs, a reservation that would wait fails at
 *       once; stopping fails the waiting ones with the reason; a reclaimer that breaks fails them
 *       with EIO and records why ({@code SpaceInfo.closeTickets}, {@code SpaceReclaimer.Worker}).</li>
 *   <li>At unmount every space_info has bytes_may_use, bytes_reserved, bytes_pinned and
 *       reclaim_size zero and no ticket, and every block reserve is released
 *       ({@link org.jbtrfs.space.SpaceInfos#leakLines()}, one {@code LEAK <type> <counter> <value>}
 *       line each).</li>
 * </ol>
 *
 * <h2>Locks, innermost last</h2>
 * <ol>
 *   <li>{@code SpaceReclaimer.lock} — the workers' state. Never held with the two below.</li>
 *   <li>{@code SpaceInfo.lock} — a spinlock stand-in: counters, ticket lists and ticket states.
 *       No IO, no wait, no {@link org.jbtrfs.space.Flusher} call while held.</li>
 *   <li>{@code BlockRsv.lock} — a spinlock stand-in: one reserve's size and reserved. May be
 *       taken inside a SpaceInfo lock, never the reverse; two are never held together.</li>
 * </ol>
 * These are the innermost locks of jbtrfs: no lock of another package is taken while one of them
 * is held, so they rank last in the global order kept in the {@code transaction} package. Callers
 * may hold any outer lock (a transaction handle, a tree lock) when they reserve — except that a
 * reservation whose policy {@link org.jbtrfs.space.FlushPolicy#mayCommit() may commit} must not
 * be made while holding a transaction handle or from a reclaim worker.
 *
 * <h2>Threads</h2>
 * One reclaim worker per space_info ({@code jbtrfs-space-reclaim-DATA|METADATA|SYSTEM}), started
 * and stopped by the Filesystem ({@link org.jbtrfs.space.SpaceReclaimer#start},
 * {@link org.jbtrfs.space.SpaceReclaimer#stop}); priority reservations flush in the caller's
 * thread.
 *
 * <h2>Race points</h2>
 * {@link org.jbtrfs.race.RacePoint#TICKET_QUEUED}, {@link org.jbtrfs.race.RacePoint#TICKET_WAIT_BEFORE_CHECK},
 * {@link org.jbtrfs.race.RacePoint#TICKET_GRANT} (seed 000).
 *
 * <h2>Dependencies</h2>
 * May use {@code org.jbtrfs} (Errno, FsException), {@code format} (block group flags, MAX_LEVEL)
 * and {@code race}. May not call {@code ctree}, {@code extent}, {@code transaction}, {@code inode}
 * or anything above: whatever reclaim needs from them goes through
 * {@link org.jbtrfs.space.Flusher}, and whatever they need to tell space (a block group, an
 * allocated or freed extent, the tree sizes) they tell through this package's methods.
 */
package org.jbtrfs.space;
