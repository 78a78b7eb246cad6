package org.jbtrfs.space;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;
import org.jbtrfs.Errno;
import org.jbtrfs.FsException;
import org.jbtrfs.race.RacePoint;

/**
 * The accounting of one kind of space and the queue of reservations waiting for it:
 * struct btrfs_space_info (space-info.h) and the lock-held half of space-info.c.
 *
 * <h2>How does space reservation work</h2>
 *
 * <h3>Basic concepts</h3>
 * <ol>
 *   <li><b>space_info.</b> The final arbiter of how much space we can use. There is one per
 *       {@link SpaceType}: DATA, METADATA, SYSTEM. {@code total_bytes} is the size of all block
 *       groups of that type; the {@code bytes_*} counters say where every byte of it is: in an
 *       extent ({@code bytes_used}), held by the allocator for an extent being written
 *       ({@code bytes_reserved}), freed but not reusable before the transaction commits
 *       ({@code bytes_pinned}), in a read-only block group or a superblock mirror
 *       ({@code bytes_readonly}), or promised to an operation that has not allocated yet
 *       ({@code bytes_may_use}). A reservation asks whether
 *       {@code total_bytes - SUM(bytes_*)} has room.</li>
 *   <li><b>block_rsv.</b> Buckets of metadata reservation ({@link BlockRsv}): a transaction's,
 *       the delayed refs', the global reserve. A block_rsv's {@code reserved} bytes are counted in
 *       its space_info's {@code bytes_may_use}.</li>
 *   <li><b>worst-case sizes.</b> {@link BlockRsvs#calcInsertMetadataSize} and
 *       {@link BlockRsvs#calcMetadataSize}: what inserting or changing N items can cost if every
 *       level of the tree is COWed and split. Reservations are made in these units.</li>
 * </ol>
 *
 * <h3>The counters and their lock</h3>
 * Every counter is guarded by {@link #lock}, a stand-in for the kernel's spinlock: held for a
 * few arithmetic steps, never across IO or a wait. Each counter changes in exactly one updater
 * ({@link #addBytesMayUse} and its siblings, the kernel's DECLARE_SPACE_INFO_UPDATE), which asserts
 * the lock is held and fails with the values when the counter would go below zero: an underflow
 * means a release without a matching reserve somewhere, and every later ENOSPC decision would be
 * wrong. Code outside this class changes counters through the compound operations
 * ({@link #freeBytesMayUse}, {@link #addReservedBytes}, {@link #unpinBytes}, ...), which take the
 * lock, move bytes between counters the way block-group.c and extent-tree.c do, and grant waiting
 * tickets when space came back.
 *
 * <h3>Making reservations, the normal case</h3>
 * {@link SpaceInfos#reserveBytes} (__reserve_bytes) takes the lock and, if no ticket is waiting
 * and {@code used + bytes <= total} (or metadata may overcommit, below), adds the bytes to
 * {@code bytes_may_use} and returns. Later the allocator moves them from {@code bytes_may_use} to
 * {@code bytes_reserved} ({@link #addReservedBytes}), and inserting the extent's reference moves
 * them on to {@code bytes_used} ({@link #allocUsedBytes}). Freeing an extent moves its bytes to
 * {@code bytes_pinned} ({@link #freeUsedBytes}) until the commit unpins them ({@link #unpinBytes}).
 * An operation that reserved more than it used gives the rest back ({@link #freeBytesMayUse}).
 *
 * <h3>When there is no room: tickets</h3>
 * Otherwise the reserver queues a {@link ReserveTicket} for its bytes at the tail of
 * {@code tickets} (FIFO: a small reservation does not overtake a big one that came first, or big
 * ones would starve), sets {@code flush} and kicks the async reclaimer ({@link SpaceReclaimer})
 * unless it is already at work, drops the lock and sleeps. A new reservation also queues when
 * tickets are already waiting, even if it would fit. The ticket ends in exactly one of two ways,
 * under the lock: granted — its bytes were added to {@code bytes_may_use} for it — or failed with
 * an error (ENOSPC, EINTR, EIO, or the reason the reclaimer was stopped). The waiter wakes, checks
 * which under the lock, and returns success or throws. A ticket is never both (asserted in
 * {@link ReserveTicket}).
 *
 * <h3>Priority tickets</h3>
 * A caller that may already hold a transaction cannot wait for a reclaimer that commits
 * (FLUSH_LIMIT, FLUSH_EVICT, FLUSH_FREE_SPACE_INODE). It queues on {@code priority_tickets},
 * which are granted before {@code tickets}, and runs the safe flush stages itself in its own
 * thread; if they free nothing, it fails its ticket with ENOSPC (after trying to steal from the
 * global reserve, for eviction).
 *
 * <h3>Granting</h3>
 * {@link #tryGrantingTickets} runs under the lock whenever space comes back: bytes_may_use,
 * bytes_reserved or bytes_pinned went down, total_bytes went up. It walks priority tickets, then
 * tickets, granting each head while it fits and stopping at the first that does not. Each grant
 * bumps {@code tickets_id}, which is how the reclaimer sees progress.
 *
 * <h3>The flushing states</h3>
 * The reclaimer walks {@link FlushState}s in escalating cost — delayed items, delayed refs,
 * delalloc, chunk allocation, delayed iputs, transaction commit — through the {@link Flusher}
 * hooks, starting over whenever a ticket was granted. After the third trip through every state
 * without progress ("commit cycles"), {@link #maybeFailAllTickets} fails the tickets with ENOSPC,
 * one by one from the head, retrying grants after each: failing a big ticket may let the smaller
 * ones behind it fit. Data space has its own shorter list of states.
 *
 * <h3>Overcommit</h3>
 * Metadata reservations are worst cases that rarely come true, so METADATA and SYSTEM may reserve
 * beyond {@code total_bytes} by part of what could still be allocated as new chunks
 * ({@link #canOvercommit}): the unallocated device space (the caller's {@code freeChunkSpace}),
 * divided by the profile factor (2 for DUP), then by 8 for FLUSH_ALL or by 2 for the others. With
 * no unallocated space left, reservations stay within the allocated chunks. Data never
 * overcommits: data reservations are real bytes.
 *
 * <h3>Interrupts (seed 000)</h3>
 * An interrupt is a signal. Waiting is {@link LockSupport#park}, which an interrupt ends. After
 * every wakeup the waiter takes the lock and checks its ticket <em>first</em>: if it was granted
 * meanwhile, the waiter keeps the grant and returns success (the caller then owns the bytes as on
 * any success and releases them as usual); if it failed meanwhile, that error is returned. Only if
 * the ticket is still pending does the interrupt count: the waiter removes its ticket from the
 * list, under the same lock hold, and fails it with EINTR. Removing it is the fix of seed 000: a
 * failed ticket left on the list could still be granted by the reclaimer, adding bytes to
 * {@code bytes_may_use} that no one would ever release. In every case the thread's interrupt
 * status is left set, as a pending signal stays pending, so the caller's next wait sees it.
 *
 * <h3>Stopping</h3>
 * While no reclaimer runs (before {@link SpaceReclaimer#start}, after {@link SpaceReclaimer#stop})
 * tickets are closed: a reservation that would need to wait on a normal ticket fails at once with
 * the reason, and stopping fails every queued ticket with it, so no one waits forever.
 *
 * <h3>Where jbtrfs differs from the kernel</h3>
 * <ul>
 *   <li>FLUSH_DATA reservations also queue behind waiting tickets (the kernel lets a data
 *       reservation that fits pass queued data tickets); jbtrfs serves all tickets in order.</li>
 *   <li>Counter underflow fails (AssertionError with the values) instead of WARN and clamp.</li>
 *   <li>A granted ticket is flagged granted instead of having its bytes zeroed, so a failed
 *       ticket still says how much it wanted.</li>
 *   <li>No preemptive reclaim, no zoned accounting, no mixed block groups (yet).</li>
 * </ul>
 */
public final class SpaceInfo {
    /** The kernel's clamp on overcommit when a flusher may do anything: 1/8 of the free chunk space. */
    static final int OVERCOMMIT_SHIFT_FLUSH_ALL = 3;
    /** ... and for every other policy: 1/2. */
    static final int OVERCOMMIT_SHIFT_OTHER = 1;
    /** steal_from_global_rsv leaves the global reserve at least this share of its size. */
    static final int GLOBAL_RSV_STEAL_FLOOR_PERCENT = 10;

    /** What this space_info accounts. */
    public final SpaceType type;
    /** Bytes of device per byte of this type (profile factor: 1 SINGLE, 2 DUP). */
    public final int factor;

    /**
     * The spinlock stand-in. Guards every counter, both ticket lists, {@code flush}, {@code full},
     * {@code forceAlloc} and the tickets-closed state, and every {@link ReserveTicket}'s state.
     * Rank: second innermost lock of jbtrfs — only a {@link BlockRsv#lock} may be taken inside it.
     * Never held across IO, a wait, or a call into a {@link Flusher}.
     */
    final ReentrantLock lock = new ReentrantLock();

    /**
     * Unallocated device bytes (the kernel's fs_info->free_chunk_space), read under {@link #lock}:
     * must not block or take a lock.
     */
    private final LongSupplier freeChunkSpace;

    // Counters, guarded by lock; each changes only in its updater below.
    private long totalBytes;
    private long bytesUsed;
    private long bytesPinned;
    private long bytesReserved;
    private long bytesMayUse;
    private long bytesReadonly;
    private long diskTotal;
    private long diskUsed;
    /** Sum of the bytes of all queued tickets, both lists. Guarded by lock. */
    private long reclaimSize;
    /** Bumped on every grant; the reclaimer's measure of progress. Guarded by lock. */
    private long ticketsId;

    /** No more chunks of this type can be allocated. Guarded by lock. */
    private boolean full;
    /**
     * space_info->flush: the async reclaimer has been kicked for this space_info and has not
     * finished; while set, new tickets do not kick it again. Guarded by lock.
     */
    private boolean flushing;
    /** The next chunk allocation should be forced (global rsv outgrew the space). Guarded by lock. */
    private boolean forceAlloc;

    /** Normal tickets, FIFO. Guarded by lock. */
    private final ArrayDeque<ReserveTicket> tickets = new ArrayDeque<>();
    /** Priority tickets, FIFO, granted before {@link #tickets}. Guarded by lock. */
    private final ArrayDeque<ReserveTicket> priorityTickets = new ArrayDeque<>();

    /** Non-null while no reclaimer runs: normal tickets fail at once with it. Guarded by lock. */
    private Errno ticketsClosedErrno = Errno.ENOSPC;
    /** Why tickets are closed. Guarded by lock. */
    private String ticketsClosedReason = "the async space reclaimer is not running";

    /** The global reserve, if it draws on this space_info; set once by {@link BlockRsvs}. */
    private volatile BlockRsv globalRsv;

    SpaceInfo(SpaceType type, int factor, LongSupplier freeChunkSpace) {
        if (factor != 1 && factor != 2) {
            throw new IllegalArgumentException("profile factor " + factor + " for " + type);
        }
        this.type = type;
        this.factor = factor;
        this.freeChunkSpace = freeChunkSpace;
    }

    /** The lock guarding the counters; for code that updates them directly (block-group.c style). */
    public ReentrantLock lock() {
        return lock;
    }

    void setGlobalRsv(BlockRsv rsv) {
        assert globalRsv == null : "global rsv set twice on " + type;
        assert rsv.spaceInfo == this : rsv + " does not draw on " + type;
        globalRsv = rsv;
    }

    // ---------------------------------------------------------------------------------------
    // Updaters: one per counter (DECLARE_SPACE_INFO_UPDATE). Lock held; never below zero.

    private long update(String counter, long value, long delta) {
        assert lock.isHeldByCurrentThread() : type + " " + counter + " updated without its space_info lock";
        long next = value + delta;
        if (next < 0 || ((value ^ next) & (delta ^ next)) < 0) {
            throw new AssertionError(type + " " + counter + " " + (delta < 0 ? "underflow" : "overflow")
                    + ": have " + value + ", delta " + delta + " (" + dumpLocked() + ")");
        }
        return next;
    }

    /** total_bytes += delta. */
    public void addTotalBytes(long delta) {
        totalBytes = update("total_bytes", totalBytes, delta);
    }

    /** bytes_used += delta. */
    public void addBytesUsed(long delta) {
        bytesUsed = update("bytes_used", bytesUsed, delta);
    }

    /** bytes_pinned += delta (btrfs_space_info_update_bytes_pinned). */
    public void addBytesPinned(long delta) {
        bytesPinned = update("bytes_pinned", bytesPinned, delta);
    }

    /** bytes_reserved += delta. */
    public void addBytesReserved(long delta) {
        bytesReserved = update("bytes_reserved", bytesReserved, delta);
    }

    /** bytes_may_use += delta (btrfs_space_info_update_bytes_may_use). */
    public void addBytesMayUse(long delta) {
        bytesMayUse = update("bytes_may_use", bytesMayUse, delta);
    }

    /** bytes_readonly += delta. */
    public void addBytesReadonly(long delta) {
        bytesReadonly = update("bytes_readonly", bytesReadonly, delta);
    }

    /** disk_total += delta (device bytes: total_bytes times the profile factor). */
    public void addDiskTotal(long delta) {
        diskTotal = update("disk_total", diskTotal, delta);
    }

    /** disk_used += delta (device bytes: bytes_used times the profile factor). */
    public void addDiskUsed(long delta) {
        diskUsed = update("disk_used", diskUsed, delta);
    }

    private void addReclaimSize(long delta) {
        reclaimSize = update("reclaim_size", reclaimSize, delta);
    }

    // ---------------------------------------------------------------------------------------
    // Readers. Lock held: a value read without it may be mid-update.

    private void assertLocked() {
        assert lock.isHeldByCurrentThread() : type + " space_info read without its lock";
    }

    public long totalBytes() {
        assertLocked();
        return totalBytes;
    }

    public long bytesUsed() {
        assertLocked();
        return bytesUsed;
    }

    public long bytesPinned() {
        assertLocked();
        return bytesPinned;
    }

    public long bytesReserved() {
        assertLocked();
        return bytesReserved;
    }

    public long bytesMayUse() {
        assertLocked();
        return bytesMayUse;
    }

    public long bytesReadonly() {
        assertLocked();
        return bytesReadonly;
    }

    public boolean isFull() {
        assertLocked();
        return full;
    }

    public boolean forceAlloc() {
        assertLocked();
        return forceAlloc;
    }

    long ticketsId() {
        assertLocked();
        return ticketsId;
    }

    /**
     * Tickets granted so far (tickets_id), read under the lock: how benchmarks and tests prove
     * that reservations really went through the ticket queue rather than the fast path.
     */
    public long ticketsGranted() {
        lock.lock();
        try {
            return ticketsId;
        } finally {
            lock.unlock();
        }
    }

    long reclaimSize() {
        assertLocked();
        return reclaimSize;
    }

    boolean hasTickets() {
        assertLocked();
        return !tickets.isEmpty();
    }

    /** btrfs_space_info_used(): every counted byte, with or without bytes_may_use. */
    public long usedBytes(boolean mayUseIncluded) {
        assertLocked();
        return bytesUsed + bytesReserved + bytesPinned + bytesReadonly + (mayUseIncluded ? bytesMayUse : 0);
    }

    /** All counters, read under the lock at one instant (for df, tests and dumps). */
    public record Counters(long totalBytes, long bytesUsed, long bytesPinned, long bytesReserved,
            long bytesMayUse, long bytesReadonly, long diskTotal, long diskUsed, long reclaimSize,
            int tickets, int priorityTickets, boolean full) {}

    public Counters counters() {
        lock.lock();
        try {
            return new Counters(totalBytes, bytesUsed, bytesPinned, bytesReserved, bytesMayUse, bytesReadonly,
                    diskTotal, diskUsed, reclaimSize, tickets.size(), priorityTickets.size(), full);
        } finally {
            lock.unlock();
        }
    }

    // ---------------------------------------------------------------------------------------
    // Compound operations: take the lock, move bytes, grant tickets when space came back.

    /**
     * btrfs_add_bg_to_space_info(): a block group of {@code length} bytes, {@code used} of them in
     * extents and {@code bytesSuper} covered by superblock mirrors, joins this space_info.
     */
    public void addBlockGroup(long length, long used, long bytesSuper) {
        lock.lock();
        try {
            addTotalBytes(length);
            addDiskTotal(Math.multiplyExact(length, factor));
            addBytesUsed(used);
            addDiskUsed(Math.multiplyExact(used, factor));
            addBytesReadonly(bytesSuper);
            if (length > 0) {
                full = false;
            }
            tryGrantingTickets();
        } finally {
            lock.unlock();
        }
    }

    /**
     * btrfs_remove_block_group()'s accounting: an empty, read-only block group of {@code length}
     * bytes (all of them counted in bytes_readonly) leaves this space_info.
     */
    public void removeBlockGroup(long length) {
        lock.lock();
        try {
            addTotalBytes(-length);
            addDiskTotal(-Math.multiplyExact(length, factor));
            addBytesReadonly(-length);
        } finally {
            lock.unlock();
        }
    }

    /** btrfs_space_info_free_bytes_may_use(): a reservation gives back {@code bytes}. */
    public void freeBytesMayUse(long bytes) {
        lock.lock();
        try {
            addBytesMayUse(-bytes);
            tryGrantingTickets();
        } finally {
            lock.unlock();
        }
    }

    /**
     * btrfs_add_reserved_bytes(): the allocator found an extent of {@code numBytes} for a
     * reservation of {@code ramBytes} (less with compression): bytes_may_use -= ramBytes,
     * bytes_reserved += numBytes.
     */
    public void addReservedBytes(long ramBytes, long numBytes) {
        lock.lock();
        try {
            addBytesReserved(numBytes);
            addBytesMayUse(-ramBytes);
            if (numBytes < ramBytes) {
                tryGrantingTickets();
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * btrfs_free_reserved_bytes(): an allocated extent was never used. Its bytes go back to free,
     * or to bytes_readonly if its block group became read-only meanwhile.
     */
    public void freeReservedBytes(long numBytes, boolean readonlyGroup) {
        lock.lock();
        try {
            addBytesReserved(-numBytes);
            if (readonlyGroup) {
                addBytesReadonly(numBytes);
            }
            tryGrantingTickets();
        } finally {
            lock.unlock();
        }
    }

    /** btrfs_update_block_group(alloc): a reserved extent got its reference; reserved → used. */
    public void allocUsedBytes(long numBytes) {
        lock.lock();
        try {
            addBytesReserved(-numBytes);
            addBytesUsed(numBytes);
            addDiskUsed(Math.multiplyExact(numBytes, factor));
        } finally {
            lock.unlock();
        }
    }

    /** btrfs_update_block_group(free): an extent lost its last reference; used → pinned. */
    public void freeUsedBytes(long numBytes) {
        lock.lock();
        try {
            addBytesUsed(-numBytes);
            addDiskUsed(-Math.multiplyExact(numBytes, factor));
            addBytesPinned(numBytes);
        } finally {
            lock.unlock();
        }
    }

    /** pin_down_extent(reserved): an extent allocated in this transaction is freed; reserved → pinned. */
    public void pinReservedBytes(long numBytes) {
        lock.lock();
        try {
            addBytesReserved(-numBytes);
            addBytesPinned(numBytes);
        } finally {
            lock.unlock();
        }
    }

    /**
     * unpin_extent_range(): after the commit, pinned bytes become free (or read-only if their block
     * group is). Free bytes first top up the global reserve, as the kernel does, then serve tickets.
     */
    public void unpinBytes(long numBytes, boolean readonlyGroup) {
        lock.lock();
        try {
            addBytesPinned(-numBytes);
            if (readonlyGroup) {
                addBytesReadonly(numBytes);
            } else {
                BlockRsv g = globalRsv;
                if (g != null) {
                    g.refillFromUnpinned(numBytes);
                }
            }
            tryGrantingTickets();
        } finally {
            lock.unlock();
        }
    }

    /** inc_block_group_ro(): {@code numBytes} of free space in a block group turned read-only. */
    public void incBlockGroupRo(long numBytes) {
        lock.lock();
        try {
            addBytesReadonly(numBytes);
        } finally {
            lock.unlock();
        }
    }

    /** btrfs_dec_block_group_ro(): a read-only block group's {@code numBytes} free space is back. */
    public void decBlockGroupRo(long numBytes) {
        lock.lock();
        try {
            addBytesReadonly(-numBytes);
            tryGrantingTickets();
        } finally {
            lock.unlock();
        }
    }

    /** The chunk allocator found no device space for this type ({@code full}), or space again. */
    public void setFull(boolean isFull) {
        lock.lock();
        try {
            full = isFull;
        } finally {
            lock.unlock();
        }
    }

    /** btrfs_update_global_block_rsv: the global reserve outgrew the space; force a chunk. */
    void setForceAllocLocked(boolean force) {
        assertLocked();
        forceAlloc = force;
    }

    // ---------------------------------------------------------------------------------------
    // Reservation and tickets (lock-held halves of __reserve_bytes and friends).

    /**
     * calc_available_free_space(): how far past total_bytes metadata may overcommit: the
     * unallocated device space in this profile, 1/8 of it for FLUSH_ALL, 1/2 otherwise.
     */
    long calcAvailableFreeSpace(FlushPolicy flush) {
        assertLocked();
        long avail = Math.max(0, freeChunkSpace.getAsLong()) / factor;
        return avail >> (flush == FlushPolicy.FLUSH_ALL ? OVERCOMMIT_SHIFT_FLUSH_ALL : OVERCOMMIT_SHIFT_OTHER);
    }

    /** btrfs_can_overcommit(): may {@code bytes} more be promised beyond total_bytes? */
    public boolean canOvercommit(long bytes, FlushPolicy flush) {
        assertLocked();
        if (type == SpaceType.DATA) {
            return false;
        }
        return usedBytes(true) + bytes < totalBytes + calcAvailableFreeSpace(flush);
    }

    /**
     * The fast path of __reserve_bytes() and the queueing of its ticket, in one lock hold.
     * Returns null when the bytes were added to bytes_may_use; otherwise a ticket that is either
     * queued (the caller waits on it) or already failed (ENOSPC for a policy that cannot wait, or
     * the reason tickets are closed).
     */
    ReserveTicket reserveOrQueue(long bytes, FlushPolicy flush) {
        lock.lock();
        try {
            // Normal reservations do not jump tickets already waiting; priority ones only wait
            // behind other priority tickets.
            boolean pendingTickets = flush.isNormalFlushing() || flush == FlushPolicy.NO_FLUSH
                    ? !tickets.isEmpty() || !priorityTickets.isEmpty()
                    : !priorityTickets.isEmpty();
            if (!pendingTickets && (usedBytes(true) + bytes <= totalBytes || canOvercommit(bytes, flush))) {
                addBytesMayUse(bytes);
                return null;
            }
            // Things are dire: let the reservation through if there is real space for the block.
            if (flush == FlushPolicy.FLUSH_EMERGENCY && usedBytes(false) + bytes <= totalBytes) {
                addBytesMayUse(bytes);
                return null;
            }
            ReserveTicket ticket = new ReserveTicket(this, bytes, flush.canSteal(), flush.isPriority(),
                    Thread.currentThread());
            if (!flush.canTicket()) {
                ticket.fail(Errno.ENOSPC, "no space for " + bytes + " bytes of " + type + " (" + flush + ")");
                return ticket;
            }
            if (!ticket.priority && ticketsClosedErrno != null) {
                ticket.fail(ticketsClosedErrno, "no space for " + bytes + " bytes of " + type
                        + " and " + ticketsClosedReason);
                return ticket;
            }
            addReclaimSize(bytes);
            ticket.queued = true;
            ticket.enqueued = true;
            if (ticket.priority) {
                priorityTickets.addLast(ticket);
            } else {
                tickets.addLast(ticket);
                if (!flushing) {
                    flushing = true;
                    ticket.kickReclaimer = true;
                }
            }
            return ticket;
        } finally {
            lock.unlock();
        }
    }

    /** remove_ticket(): takes a queued ticket off its list. Lock held. */
    void removeTicket(ReserveTicket ticket) {
        assertLocked();
        if (ticket.queued) {
            boolean removed = (ticket.priority ? priorityTickets : tickets).remove(ticket);
            assert removed : ticket + " flagged queued but on no list of " + type;
            ticket.queued = false;
            addReclaimSize(-ticket.bytes);
        }
    }

    /**
     * btrfs_try_granting_tickets(): grants priority tickets, then tickets, in order, while the head
     * fits. Called with the lock held by everything that returns space.
     */
    public void tryGrantingTickets() {
        assert lock.isHeldByCurrentThread() : "tryGrantingTickets on " + type + " without its space_info lock";
        grantFrom(priorityTickets, FlushPolicy.NO_FLUSH);
        grantFrom(tickets, FlushPolicy.FLUSH_ALL);
    }

    private void grantFrom(ArrayDeque<ReserveTicket> head, FlushPolicy overcommitAs) {
        ReserveTicket ticket;
        while ((ticket = head.peekFirst()) != null) {
            if (usedBytes(true) + ticket.bytes > totalBytes && !canOvercommit(ticket.bytes, overcommitAs)) {
                return;
            }
            RacePoint.TICKET_GRANT.hit();
            addBytesMayUse(ticket.bytes);
            removeTicket(ticket);
            ticket.grant();
            ticketsId++;
        }
    }

    /**
     * wait_reserve_ticket(): sleeps until the ticket is granted or failed. An interrupt fails it
     * with EINTR only if it is still pending when the waiter checks, and then the waiter removes it
     * from the list in the same lock hold (seed 000). The interrupt status is left set.
     */
    void waitReserveTicket(ReserveTicket ticket) {
        assert ticket.waiter == Thread.currentThread() : ticket + " waited on by " + Thread.currentThread();
        lock.lock();
        try {
            while (ticket.isPending()) {
                lock.unlock();
                try {
                    // An interrupt that came before this park makes it return at once, so every
                    // interrupt is noticed below, after the race point.
                    LockSupport.park(ticket);
                    RacePoint.TICKET_WAIT_BEFORE_CHECK.hit();
                } finally {
                    lock.lock();
                }
                if (ticket.isPending() && Thread.currentThread().isInterrupted()) {
                    // Off the list before we fail it, under this same lock hold: once we drop the
                    // lock a granter must not find it, or its bytes_may_use would leak (seed 000).
                    removeTicket(ticket);
                    ticket.fail(Errno.EINTR, "interrupted while waiting for " + ticket.bytes + " bytes of " + type);
                }
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * The end of handle_reserve_ticket(): the ticket is off every list and either granted or
     * failed; throws its error if it failed.
     */
    void finishTicket(ReserveTicket ticket) throws FsException {
        FsException error = null;
        lock.lock();
        try {
            assert !ticket.queued : ticket + " still queued after its wait";
            assert ticket.isGranted() != (ticket.error() != null)
                    : ticket + " granted=" + ticket.isGranted() + " error=" + ticket.error();
            if (!ticket.isGranted()) {
                error = ticket.toException();
            }
        } finally {
            lock.unlock();
        }
        if (error != null) {
            throw error;
        }
    }

    /** Fails a pending ticket that is still queued (priority reclaim gave up). Lock held. */
    void failTicket(ReserveTicket ticket, Errno errno, String reason) {
        assertLocked();
        assert ticket.isPending() : ticket + " failed after it ended";
        removeTicket(ticket);
        ticket.fail(errno, reason);
    }

    /**
     * maybe_fail_all_tickets(): flushing is exhausted; fail tickets from the head (EIO if the
     * filesystem aborted, else ENOSPC, after trying the global reserve for those that may steal),
     * retrying grants after each since a big head may have blocked smaller ones that fit. Returns
     * true if a ticket was granted meanwhile (progress: the caller flushes again).
     */
    boolean maybeFailAllTickets(boolean aborted) {
        assertLocked();
        long startId = ticketsId;
        while (!tickets.isEmpty() && startId == ticketsId) {
            ReserveTicket ticket = tickets.peekFirst();
            if (!aborted && stealFromGlobalRsv(ticket)) {
                return true;
            }
            removeTicket(ticket);
            ticket.fail(aborted ? Errno.EIO : Errno.ENOSPC, aborted
                    ? "filesystem aborted while waiting for " + ticket.bytes + " bytes of " + type
                    : "no space for " + ticket.bytes + " bytes of " + type + " after flushing everything");
            if (!aborted) {
                tryGrantingTickets();
            }
        }
        return startId != ticketsId;
    }

    /**
     * steal_from_global_rsv(): grants a ticket that may steal from the global reserve, if the
     * reserve keeps {@link #GLOBAL_RSV_STEAL_FLOOR_PERCENT} of its size after. The bytes are
     * already in bytes_may_use (as the reserve's), so only their owner changes.
     */
    boolean stealFromGlobalRsv(ReserveTicket ticket) {
        assertLocked();
        BlockRsv g = globalRsv;
        if (!ticket.steal || g == null || g.spaceInfo != this) {
            return false;
        }
        if (!g.takeForTicket(ticket.bytes, GLOBAL_RSV_STEAL_FLOOR_PERCENT)) {
            return false;
        }
        removeTicket(ticket);
        ticket.grant();
        ticketsId++;
        return true;
    }

    /**
     * btrfs_calc_reclaim_metadata_size(): what the reclaimer should aim to free: the queued
     * tickets' bytes, plus how far we are over the overcommit limit if space shrank under us.
     */
    long calcReclaimMetadataSize() {
        assertLocked();
        long toReclaim = reclaimSize;
        long limit = totalBytes + calcAvailableFreeSpace(FlushPolicy.FLUSH_ALL);
        long used = usedBytes(true);
        if (limit < used) {
            toReclaim += used - limit;
        }
        return toReclaim;
    }

    /** The reclaimer is done with this space_info: no ticket waits. Lock held. */
    void clearFlush() {
        assertLocked();
        flushing = false;
    }

    /**
     * No reclaimer runs from now on: fail every queued normal ticket with {@code errno} and refuse
     * new ones. Priority tickets are served by their own threads and end on their own.
     */
    void closeTickets(Errno errno, String reason) {
        lock.lock();
        try {
            ticketsClosedErrno = errno;
            ticketsClosedReason = reason;
            flushing = false;
            ReserveTicket ticket;
            while ((ticket = tickets.peekFirst()) != null) {
                removeTicket(ticket);
                ticket.fail(errno, "waiting for " + ticket.bytes + " bytes of " + type + " when " + reason);
            }
        } finally {
            lock.unlock();
        }
    }

    /** A reclaimer runs: normal tickets may queue again. */
    void openTickets() {
        lock.lock();
        try {
            ticketsClosedErrno = null;
            ticketsClosedReason = null;
        } finally {
            lock.unlock();
        }
    }

    /** Fails every queued ticket, both lists (the reclaimer died: nobody would serve them). */
    void failAllTickets(Errno errno, String reason) {
        lock.lock();
        try {
            flushing = false;
            for (ArrayDeque<ReserveTicket> list : List.of(priorityTickets, tickets)) {
                ReserveTicket ticket;
                while ((ticket = list.peekFirst()) != null) {
                    removeTicket(ticket);
                    ticket.fail(errno, reason);
                }
            }
        } finally {
            lock.unlock();
        }
    }

    /** The bytes of each queued ticket, priority list first, then normal; for tests and dumps. */
    List<Long> queuedTicketBytes(boolean priority) {
        lock.lock();
        try {
            List<Long> out = new ArrayList<>();
            for (ReserveTicket t : priority ? priorityTickets : tickets) {
                out.add(t.bytes);
            }
            return out;
        } finally {
            lock.unlock();
        }
    }

    // ---------------------------------------------------------------------------------------
    // Dumps and leak checks.

    /** __btrfs_dump_space_info(): the kernel's two info lines. */
    public String dump() {
        lock.lock();
        try {
            return dumpLocked();
        } finally {
            lock.unlock();
        }
    }

    private String dumpLocked() {
        return "space_info " + type + " has " + (totalBytes - usedBytes(true)) + " free, is "
                + (full ? "" : "not ") + "full; space_info total=" + totalBytes + ", used=" + bytesUsed
                + ", pinned=" + bytesPinned + ", reserved=" + bytesReserved + ", may_use=" + bytesMayUse
                + ", readonly=" + bytesReadonly + ", reclaim_size=" + reclaimSize + ", tickets="
                + tickets.size() + "+" + priorityTickets.size() + " priority";
    }

    /**
     * The unmount check (btrfs_free_block_groups' WARN_ONs): one line
     * {@code LEAK <type> <counter> <value>} per counter that must be zero once every operation has
     * ended, every transaction committed and every block_rsv released.
     */
    public List<String> leakLines() {
        lock.lock();
        try {
            List<String> out = new ArrayList<>();
            leak(out, "bytes_may_use", bytesMayUse);
            leak(out, "bytes_reserved", bytesReserved);
            leak(out, "bytes_pinned", bytesPinned);
            leak(out, "reclaim_size", reclaimSize);
            leak(out, "tickets", tickets.size() + priorityTickets.size());
            return out;
        } finally {
            lock.unlock();
        }
    }

    private void leak(List<String> out, String counter, long value) {
        if (value != 0) {
            out.add("LEAK " + type + " " + counter + " " + value);
        }
    }

    /** Fails with every leak line and the dump if anything leaked. */
    public void assertNoLeak() {
        List<String> lines = leakLines();
        if (!lines.isEmpty()) {
            throw new AssertionError(String.join("\n", lines) + "\n" + dump());
        }
    }

    @Override
    public String toString() {
        return "SpaceInfo[" + type + "]";
    }
}
