package org.jbtrfs.space;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;
import org.jbtrfs.FsException;
import org.jbtrfs.race.RacePoint;

/**
 * A filesystem's space accounting: its three {@link SpaceInfo}s (fs_info->space_info,
 * data_sinfo), its {@link BlockRsvs}, its {@link SpaceReclaimer}, and the reservation entry points
 * of space-info.c that take an fs_info: {@link #reserveBytes} (__reserve_bytes),
 * {@link #reserveMetadataBytes}, {@link #reserveDataBytes}. How it all works is told at the top of
 * {@link SpaceInfo}.
 *
 * <h2>Lifecycle (owned by the Filesystem)</h2>
 * <ol>
 *   <li>construct, then {@link SpaceInfo#addBlockGroup} for every block group read at mount;</li>
 *   <li>{@link BlockRsvs#updateGlobalBlockRsv} once the tree sizes are known;</li>
 *   <li>{@link SpaceReclaimer#start} with the write core's {@link Flusher} when mounting
 *       read-write (until then, a reservation that would have to wait fails at once);</li>
 *   <li>at remount-RO or unmount: {@link SpaceReclaimer#stop} (fails waiting tickets with the
 *       reason), then after the final commit {@link BlockRsvs#releaseGlobalBlockRsv} and
 *       {@link #leakLines()}, which must be empty.</li>
 * </ol>
 */
public final class SpaceInfos {
    /** Tree block size: the unit of every metadata worst case. */
    public final int nodesize;
    /** Data allocation unit: data reservations are rounded to it. */
    public final int sectorsize;
    /** The filesystem has a free space tree: every delayed ref may change it too. */
    public final boolean freeSpaceTree;

    private final Map<SpaceType, SpaceInfo> infos = new EnumMap<>(SpaceType.class);
    private final SpaceReclaimer reclaimer;
    private final BlockRsvs blockRsvs;

    /**
     * @param nodesize tree block size
     * @param sectorsize data block size
     * @param dataProfile profile flags of data block groups (0 for SINGLE, {@code BlockGroupItem.DUP})
     * @param metadataProfile profile flags of metadata block groups
     * @param systemProfile profile flags of system block groups
     * @param freeSpaceTree the filesystem has a free space tree
     * @param freeChunkSpace unallocated device bytes (fs_info->free_chunk_space), which bound
     *     metadata overcommit; read under a space_info lock, so a plain read (an AtomicLong, say)
     */
    public SpaceInfos(int nodesize, int sectorsize, long dataProfile, long metadataProfile, long systemProfile,
            boolean freeSpaceTree, LongSupplier freeChunkSpace) {
        if (Integer.bitCount(nodesize) != 1 || Integer.bitCount(sectorsize) != 1 || nodesize < sectorsize) {
            throw new IllegalArgumentException("nodesize " + nodesize + " sectorsize " + sectorsize);
        }
        this.nodesize = nodesize;
        this.sectorsize = sectorsize;
        this.freeSpaceTree = freeSpaceTree;
        infos.put(SpaceType.SYSTEM, new SpaceInfo(SpaceType.SYSTEM, SpaceType.profileFactor(systemProfile), freeChunkSpace));
        infos.put(SpaceType.METADATA,
                new SpaceInfo(SpaceType.METADATA, SpaceType.profileFactor(metadataProfile), freeChunkSpace));
        infos.put(SpaceType.DATA, new SpaceInfo(SpaceType.DATA, SpaceType.profileFactor(dataProfile), freeChunkSpace));
        this.reclaimer = new SpaceReclaimer(this);
        this.blockRsvs = new BlockRsvs(this);
    }

    public SpaceInfo get(SpaceType type) {
        return infos.get(type);
    }

    public SpaceInfo data() {
        return infos.get(SpaceType.DATA);
    }

    public SpaceInfo metadata() {
        return infos.get(SpaceType.METADATA);
    }

    public SpaceInfo system() {
        return infos.get(SpaceType.SYSTEM);
    }

    /** All three, in the kernel's creation order (SYSTEM, METADATA, DATA). */
    public List<SpaceInfo> all() {
        return List.of(system(), metadata(), data());
    }

    public SpaceReclaimer reclaimer() {
        return reclaimer;
    }

    public BlockRsvs blockRsvs() {
        return blockRsvs;
    }

    /**
     * __reserve_bytes(): adds {@code bytes} to {@code space}'s bytes_may_use, waiting for the
     * reclaimer or flushing as {@code flush} allows. On success the caller owns the bytes and must
     * give them back ({@link SpaceInfo#freeBytesMayUse}, or by handing them to a block_rsv); on
     * failure nothing was reserved. Fails with ENOSPC, EINTR (a waiting thread was interrupted;
     * see {@link SpaceInfo}, "Interrupts"), EIO (the filesystem aborted) or the errno the
     * reclaimer was stopped with.
     */
    public void reserveBytes(SpaceInfo space, long bytes, FlushPolicy flush) throws FsException {
        if (bytes <= 0) {
            throw new IllegalArgumentException("reservation of " + bytes + " bytes of " + space.type);
        }
        assert infos.get(space.type) == space : space + " belongs to another filesystem";
        assert !flush.mayCommit() || !SpaceReclaimer.isReclaimWorker(Thread.currentThread())
                : "the reclaimer would wait for itself: " + flush + " reservation from " + Thread.currentThread();
        ReserveTicket ticket = space.reserveOrQueue(bytes, flush);
        if (ticket == null) {
            return;
        }
        if (ticket.enqueued) {
            RacePoint.TICKET_QUEUED.hit();
            if (ticket.kickReclaimer) {
                reclaimer.kick(space);
            }
            handleReserveTicket(space, ticket, flush);
        }
        space.finishTicket(ticket);
    }

    /** handle_reserve_ticket(): wait for the reclaimer, or flush in this thread for priority. */
    private void handleReserveTicket(SpaceInfo space, ReserveTicket ticket, FlushPolicy flush) {
        switch (flush) {
            case FLUSH_DATA, FLUSH_ALL, FLUSH_ALL_STEAL -> space.waitReserveTicket(ticket);
            case FLUSH_LIMIT -> reclaimer.priorityReclaimMetadataSpace(space, ticket,
                    SpaceReclaimer.PRIORITY_FLUSH_STATES);
            case FLUSH_EVICT -> reclaimer.priorityReclaimMetadataSpace(space, ticket, SpaceReclaimer.EVICT_FLUSH_STATES);
            case FLUSH_FREE_SPACE_INODE -> reclaimer.priorityReclaimDataSpace(space, ticket);
            default -> throw new AssertionError(flush + " queued a ticket");
        }
    }

    /** btrfs_reserve_metadata_bytes(): a metadata (or system) reservation. */
    public void reserveMetadataBytes(SpaceInfo space, long bytes, FlushPolicy flush) throws FsException {
        assert space.type != SpaceType.DATA : "metadata reservation on DATA";
        reserveBytes(space, bytes, flush);
    }

    /** btrfs_reserve_data_bytes(): a data reservation (FLUSH_DATA, FLUSH_FREE_SPACE_INODE or NO_FLUSH). */
    public void reserveDataBytes(long bytes, FlushPolicy flush) throws FsException {
        assert flush == FlushPolicy.FLUSH_DATA || flush == FlushPolicy.FLUSH_FREE_SPACE_INODE
                || flush == FlushPolicy.NO_FLUSH : "data reservation with " + flush;
        reserveBytes(data(), bytes, flush);
    }

    /**
     * The unmount leak check: every block_rsv's leak lines, then every space_info's. Call after
     * the reclaimer stopped, the last transaction committed and the global reserve was released;
     * anything listed is a leak (design brief, "Unmount").
     */
    public List<String> leakLines() {
        List<String> out = new ArrayList<>(blockRsvs.leakLines());
        for (SpaceInfo s : all()) {
            out.addAll(s.leakLines());
        }
        return out;
    }

    /** Fails loudly, with every leak line and the space_info dumps, if anything leaked. */
    public void assertNoLeak() {
        List<String> lines = leakLines();
        if (!lines.isEmpty()) {
            StringBuilder sb = new StringBuilder(String.join("\n", lines));
            for (SpaceInfo s : all()) {
                sb.append('\n').append(s.dump());
            }
            throw new AssertionError(sb.toString());
        }
    }
}
