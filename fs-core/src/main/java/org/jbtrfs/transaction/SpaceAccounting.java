package org.jbtrfs.transaction;

import java.io.IOException;
import java.util.EnumMap;
import java.util.Map;
import org.jbtrfs.FsException;
import org.jbtrfs.extent.BlockGroup;
import org.jbtrfs.extent.BlockGroups;
import org.jbtrfs.extent.ExtentAccounting;
import org.jbtrfs.extent.TreeBlockSpace;
import org.jbtrfs.format.BlockGroupItem;
import org.jbtrfs.space.BlockRsv;
import org.jbtrfs.space.BlockRsvType;
import org.jbtrfs.space.BlockRsvs;
import org.jbtrfs.space.FlushPolicy;
import org.jbtrfs.space.GlobalRsvTrees;
import org.jbtrfs.space.SpaceInfo;
import org.jbtrfs.space.SpaceInfos;
import org.jbtrfs.space.SpaceType;

/**
 * The space_info counters of a writable filesystem kept in step with its block groups: where the
 * write core tells the {@code space} package what happened to each byte (block-group.c's
 * btrfs_add_bg_to_space_info, btrfs_add_reserved_bytes, btrfs_update_block_group,
 * unpin_extent_range; block-rsv.c's btrfs_use_block_rsv).
 *
 * <h2>A metadata byte's path</h2>
 * An operation reserves its worst case up front into its own block reserve ({@link #reserveOp}):
 * bytes_may_use grows, and ENOSPC comes here, before anything changed. Each tree block it COWs
 * takes a block's worth from that reserve ({@link TreeBlockSpace#take}) and, once the allocator
 * found the block, moves it to bytes_reserved; running the delayed refs at commit moves it to
 * bytes_used (the extent item exists), freeing moves it to bytes_pinned, the commit unpins it.
 * What the operation did not use is released when it ends. Blocks COWed by the commit itself (the
 * extent, free space and root trees) are paid from the global reserve, refilled after every
 * commit, so that a commit never fails for want of a reservation.
 *
 * <h2>Data</h2>
 * A write reserves its sector-aligned range as data bytes_may_use ({@link #reserveData}) before
 * it starts; the data extents it allocates move from may_use to reserved, then to used when their
 * extent items are inserted. The rest is released when the write ends.
 *
 * <p>Which reserve pays for tree blocks is per thread: the operation running on it
 * ({@link #reserveOp}), else the global reserve.
 */
public final class SpaceAccounting implements TreeBlockSpace, ExtentAccounting {
    private final SpaceInfos spaces;
    private final BlockGroups groups;
    private final ThreadLocal<OpReservation> current = new ThreadLocal<>();

    /** One operation's reservations: metadata in a block reserve, data as plain may_use bytes. */
    public final class OpReservation implements AutoCloseable {
        private final BlockRsv rsv;
        private long dataLeft;
        private final OpReservation outer;

        private OpReservation(BlockRsv rsv, OpReservation outer) {
            this.rsv = rsv;
            this.outer = outer;
        }

        /** Releases what was not used and stops paying this thread's allocations from it. */
        @Override
        public void close() {
            current.set(outer);
            if (dataLeft > 0) {
                spaces.data().freeBytesMayUse(dataLeft);
                dataLeft = 0;
            }
            spaces.blockRsvs().freeBlockRsv(rsv);
        }
    }

    SpaceAccounting(SpaceInfos spaces, BlockGroups groups) {
        this.spaces = spaces;
        this.groups = groups;
        for (BlockGroup bg : groups.all()) {
            addBlockGroup(bg);
        }
    }

    public SpaceInfos spaces() {
        return spaces;
    }

    private SpaceInfo info(long type) {
        return spaces.get(SpaceType.ofFlags(type & BlockGroupItem.TYPE_MASK));
    }

    /**
     * Whether an empty group may leave: its space_info keeps room for everything already promised
     * (used, reserved, pinned, may_use, read-only) without it (btrfs_inc_block_group_ro's check).
     */
    boolean canRemove(BlockGroup bg) {
        SpaceInfo.Counters c = info(bg.flags()).counters();
        long without = c.totalBytes() - bg.length();
        return without >= c.bytesUsed() + c.bytesReserved() + c.bytesPinned() + c.bytesMayUse() + c.bytesReadonly()
                - bg.superBytes();
    }

    /** An empty group leaves its space_info: its free bytes turn read-only, then all of it goes. */
    void removeBlockGroup(BlockGroup bg) {
        SpaceInfo s = info(bg.flags());
        s.incBlockGroupRo(bg.length() - bg.superBytes());
        s.removeBlockGroup(bg.length());
    }

    /** A block group joins the accounting (at open, or a new chunk). */
    public void addBlockGroup(BlockGroup bg) {
        info(bg.flags()).addBlockGroup(bg.length(), bg.used(), bg.superBytes());
    }

    /**
     * Reserves the worst case of changing {@code items} items (and {@code dataBytes} of new data)
     * for the operation about to run on this thread, flushing (commit, chunk allocation) as
     * needed; ENOSPC (or EINTR) before anything changed. Close the result when the operation ends.
     */
    public OpReservation reserveOp(long items, long dataBytes) throws FsException {
        return reserveOp(items, dataBytes, false);
    }

    /**
     * Like {@link #reserveOp(long, long)}; with {@code orGlobal}, an operation that frees space
     * (unlink, rmdir, evicting an inode) may take its metadata from the global reserve when
     * nothing else is left, as long as that keeps at least half of it
     * (btrfs_start_transaction_fallback_global_rsv): a full filesystem can always delete.
     */
    public OpReservation reserveOp(long items, long dataBytes, boolean orGlobal) throws FsException {
        return reserveOp(items, dataBytes, orGlobal, FlushPolicy.FLUSH_ALL);
    }

    /**
     * Like {@link #reserveOp(long, long, boolean)} with the metadata reserved under {@code policy}:
     * a space reclaimer hook that evicts inodes (RUN_DELAYED_IPUTS) must not wait for the reclaimer
     * running it, so it asks NO_FLUSH and falls back on the global reserve (BTRFS_RESERVE_FLUSH_EVICT
     * stealing from it).
     */
    public OpReservation reserveOp(long items, long dataBytes, boolean orGlobal, FlushPolicy policy) throws FsException {
        assert dataBytes == 0 || policy == FlushPolicy.FLUSH_ALL : "data reserved with metadata policy " + policy;
        BlockRsvs rsvs = spaces.blockRsvs();
        BlockRsv rsv = rsvs.allocBlockRsv(BlockRsvType.TEMP);
        OpReservation op = new OpReservation(rsv, current.get());
        try {
            if (items > 0) {
                long bytes = BlockRsvs.calcInsertMetadataSize(spaces.nodesize, items);
                try {
                    rsvs.add(rsv, bytes, policy);
                } catch (FsException e) {
                    BlockRsv global = rsvs.globalRsv;
                    if (!orGlobal || e.errno() != org.jbtrfs.Errno.ENOSPC || global.reserved() < global.size() / 2 + bytes) {
                        throw e;
                    }
                    BlockRsvs.migrate(global, rsv, bytes, true);
                }
            }
            if (dataBytes > 0) {
                spaces.reserveDataBytes(dataBytes, FlushPolicy.FLUSH_DATA);
                op.dataLeft = dataBytes;
            }
        } catch (FsException | RuntimeException e) {
            rsvs.freeBlockRsv(rsv);
            throw e;
        }
        current.set(op);
        return op;
    }

    /**
     * A data extent of {@code numBytes} was reserved in a block group: paid from this thread's
     * data reservation (or, beyond it, a reservation made now without flushing).
     */
    public void dataExtentReserved(long numBytes) throws FsException {
        OpReservation op = current.get();
        long fromOp = op == null ? 0 : Math.min(op.dataLeft, numBytes);
        if (fromOp < numBytes) {
            spaces.reserveDataBytes(numBytes - fromOp, FlushPolicy.NO_FLUSH);
        }
        if (op != null) {
            op.dataLeft -= fromOp;
        }
        spaces.data().addReservedBytes(numBytes, numBytes);
    }

    /** A reserved data extent was given back unused. */
    public void dataExtentUnreserved(long numBytes) {
        spaces.data().freeReservedBytes(numBytes, false);
    }

    // ---- TreeBlockSpace ----------------------------------------------------------------

    @Override
    public BlockRsv take(long type) throws FsException {
        BlockRsvs rsvs = spaces.blockRsvs();
        if ((type & BlockGroupItem.SYSTEM) != 0) {
            // The chunk tree is paid from SYSTEM directly (the kernel's chunk reserve).
            spaces.reserveMetadataBytes(spaces.system(), spaces.nodesize, FlushPolicy.FLUSH_EMERGENCY);
            return null;
        }
        OpReservation op = current.get();
        return rsvs.useBlockRsv(op != null ? op.rsv : rsvs.globalRsv, spaces.nodesize);
    }

    @Override
    public void reserved(long type) {
        info(type).addReservedBytes(spaces.nodesize, spaces.nodesize);
    }

    @Override
    public void giveBack(long type, BlockRsv rsv) {
        if (rsv == null) {
            info(type).freeBytesMayUse(spaces.nodesize);
        } else {
            spaces.blockRsvs().unuseBlockRsv(rsv, spaces.nodesize);
        }
    }

    @Override
    public void unreserved(long type) {
        info(type).freeReservedBytes(spaces.nodesize, false);
    }

    // ---- ExtentAccounting: running delayed refs ------------------------------------------

    @Override
    public void extentAllocated(long transid, long bytenr, long numBytes, boolean metadata) throws IOException {
        groups.extentAllocated(transid, bytenr, numBytes, metadata);
        info(groups.find(bytenr).flags()).allocUsedBytes(numBytes);
    }

    @Override
    public void extentFreed(long transid, long bytenr, long numBytes, boolean metadata) throws IOException {
        groups.extentFreed(transid, bytenr, numBytes, metadata);
        info(groups.find(bytenr).flags()).freeUsedBytes(numBytes);
    }

    // ---- Commit --------------------------------------------------------------------------

    /** unpin_extent_range() for everything pinned: the space_infos first, then the block groups. */
    void unpinAll() {
        Map<SpaceType, long[]> pinned = new EnumMap<>(SpaceType.class);
        for (BlockGroup bg : groups.all()) {
            long p = bg.pinned();
            if (p > 0) {
                pinned.computeIfAbsent(SpaceType.ofFlags(bg.flags()), t -> new long[1])[0] += p;
            }
        }
        groups.unpinAll();
        for (Map.Entry<SpaceType, long[]> e : pinned.entrySet()) {
            spaces.get(e.getKey()).unpinBytes(e.getValue()[0], false);
        }
    }

    /**
     * After a commit: the delayed refs reserve is spent (its refs ran) and the global reserve is
     * sized again and topped up.
     */
    void afterCommit() {
        BlockRsvs rsvs = spaces.blockRsvs();
        rsvs.release(rsvs.delayedRefsRsv, BlockRsvs.RELEASE_ALL);
        rsvs.updateGlobalBlockRsv(GLOBAL_MINIMUM);
    }

    /** The global reserve at its floor: enough to insert into every global tree and run an unlink's refs. */
    static final GlobalRsvTrees GLOBAL_MINIMUM = new GlobalRsvTrees() {
        @Override
        public long rootTreeBytesUsed() {
            return 0;
        }

        @Override
        public long[] globalRootsBytesUsed() {
            return new long[4];
        }
    };

    /**
     * Unmount: the reclaimer stops, the global reserve goes, then nothing may be left (design
     * brief, "Unmount"). Returns the leak lines (empty when all is well).
     */
    java.util.List<String> closeAndCheckLeaks() {
        spaces.reclaimer().stop(org.jbtrfs.Errno.EROFS, "the filesystem is closing");
        spaces.blockRsvs().releaseGlobalBlockRsv();
        return spaces.leakLines();
    }
}
