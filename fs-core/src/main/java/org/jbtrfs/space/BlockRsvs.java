package org.jbtrfs.space;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.jbtrfs.Errno;
import org.jbtrfs.FsException;
import org.jbtrfs.format.Header;

/**
 * A filesystem's block reserves and the block-rsv.c functions that take an fs_info: the fixed
 * reserves (global, transaction, chunk, delayed inode, delayed refs, empty), temporary ones
 * ({@link #allocBlockRsv}), reserving into them, releasing with spill-over, the global reserve's
 * size, and the worst-case metadata sizes everything is reserved in. How a single reserve works is
 * told at the top of {@link BlockRsv}.
 *
 * <p>Release spill-over (btrfs_block_rsv_release): excess from the delayed refs reserve tops up
 * the global reserve; excess from any other reserve but the global one tops up the delayed refs
 * reserve while it is short; what is left goes back to bytes_may_use.
 */
public final class BlockRsvs {
    /** BTRFS_MAX_LEVEL: the deepest tree; a worst-case item change COWs this many blocks. */
    public static final int MAX_LEVEL = Header.MAX_LEVEL;
    /**
     * BTRFS_UNLINK_METADATA_UNITS: items an unlink changes (orphan item, dir item, dir index,
     * inode ref, inode, parent inode). The global reserve always holds one unlink's worth, so that
     * a full filesystem can still delete files.
     */
    public static final int UNLINK_METADATA_UNITS = 6;
    /** The global reserve never grows past this (SZ_512M in btrfs_update_global_block_rsv). */
    public static final long GLOBAL_RSV_SIZE_MAX_BYTES = 512L << 20;
    /** {@link #release}: shrink the reserve's size to zero, freeing everything it holds. */
    public static final long RELEASE_ALL = -1;

    private final SpaceInfos spaces;

    /** The global reserve: the extent, csum, free space and root trees' last resort. METADATA. */
    public final BlockRsv globalRsv;
    /** trans_block_rsv: the transaction's own metadata. METADATA. */
    public final BlockRsv transRsv;
    /** chunk_block_rsv: chunk tree updates. SYSTEM. */
    public final BlockRsv chunkRsv;
    /** delayed_block_rsv: delayed inode items. METADATA. */
    public final BlockRsv delayedBlockRsv;
    /** delayed_refs_rsv: one insert's worth per outstanding delayed ref. METADATA. */
    public final BlockRsv delayedRefsRsv;
    /** empty_block_rsv: size 0, so use falls through to reserving on demand. METADATA. */
    public final BlockRsv emptyRsv;

    /** Reserves from {@link #allocBlockRsv} not yet freed: every one is a leak at unmount. */
    private final Set<BlockRsv> allocated = ConcurrentHashMap.newKeySet();

    BlockRsvs(SpaceInfos spaces) {
        this.spaces = spaces;
        SpaceInfo meta = spaces.metadata();
        this.globalRsv = new BlockRsv(BlockRsvType.GLOBAL, meta, false);
        this.transRsv = new BlockRsv(BlockRsvType.TRANS, meta, false);
        this.chunkRsv = new BlockRsv(BlockRsvType.CHUNK, spaces.system(), false);
        this.delayedBlockRsv = new BlockRsv(BlockRsvType.DELOPS, meta, false);
        this.delayedRefsRsv = new BlockRsv(BlockRsvType.DELREFS, meta, false);
        this.emptyRsv = new BlockRsv(BlockRsvType.EMPTY, meta, false);
        meta.setGlobalRsv(globalRsv);
    }

    // ---------------------------------------------------------------------------------------
    // Worst-case sizes (fs.h, delayed-ref.h).

    /**
     * btrfs_calc_insert_metadata_size(): inserting {@code items} items may COW every level of the
     * path and split every node on it: nodesize * BTRFS_MAX_LEVEL * 2 per item.
     */
    public static long calcInsertMetadataSize(int nodesize, long items) {
        return Math.multiplyExact(Math.multiplyExact((long) nodesize, (long) MAX_LEVEL * 2), items);
    }

    /** btrfs_calc_metadata_size(): changing {@code items} items in place COWs the path only. */
    public static long calcMetadataSize(int nodesize, long items) {
        return Math.multiplyExact(Math.multiplyExact((long) nodesize, (long) MAX_LEVEL), items);
    }

    /**
     * btrfs_calc_delayed_ref_bytes(): running {@code refs} delayed refs inserts into the extent
     * tree, and with a free space tree changes it as well.
     */
    public static long calcDelayedRefBytes(int nodesize, long refs, boolean freeSpaceTree) {
        long bytes = calcInsertMetadataSize(nodesize, refs);
        return freeSpaceTree ? Math.multiplyExact(bytes, 2) : bytes;
    }

    // ---------------------------------------------------------------------------------------
    // Reserves.

    /** btrfs_alloc_block_rsv(): a new METADATA reserve the caller must {@link #freeBlockRsv}. */
    public BlockRsv allocBlockRsv(BlockRsvType type) {
        if (type == BlockRsvType.GLOBAL) {
            throw new IllegalArgumentException("there is one global reserve");
        }
        BlockRsv rsv = new BlockRsv(type, spaces.metadata(), true);
        allocated.add(rsv);
        return rsv;
    }

    /** btrfs_free_block_rsv(): releases everything the reserve holds and forgets it. */
    public void freeBlockRsv(BlockRsv rsv) {
        boolean known = allocated.remove(rsv);
        assert known : rsv + " was not allocated here, or freed twice";
        release(rsv, RELEASE_ALL);
    }

    /** btrfs_block_rsv_add(): reserve {@code numBytes} in the space_info, add to reserved and size. */
    public void add(BlockRsv rsv, long numBytes, FlushPolicy flush) throws FsException {
        if (numBytes == 0) {
            return;
        }
        spaces.reserveMetadataBytes(rsv.spaceInfo, numBytes, flush);
        rsv.addBytes(numBytes, true);
    }

    /**
     * btrfs_block_rsv_refill(): make the reserve hold at least {@code minReserved}, reserving the
     * difference (size unchanged).
     */
    public void refill(BlockRsv rsv, long minReserved, FlushPolicy flush) throws FsException {
        long needed = rsv.shortOf(minReserved);
        if (needed == 0) {
            return;
        }
        spaces.reserveMetadataBytes(rsv.spaceInfo, needed, flush);
        rsv.addBytes(needed, false);
    }

    /**
     * btrfs_block_rsv_release(): shrink the size by {@code numBytes} ({@link #RELEASE_ALL}: to
     * zero) and give back the excess, spilling into the delayed refs or global reserve first.
     * Returns the excess released.
     */
    public long release(BlockRsv rsv, long numBytes) {
        if (numBytes < 0 && numBytes != RELEASE_ALL) {
            throw new IllegalArgumentException("release of " + numBytes + " bytes from " + rsv.type.kernelName);
        }
        BlockRsv target = null;
        if (rsv == delayedRefsRsv) {
            target = globalRsv;
        } else if (rsv != globalRsv && !delayedRefsRsv.isFull()) {
            target = delayedRefsRsv;
        }
        if (target != null && target.spaceInfo != rsv.spaceInfo) {
            target = null;
        }
        return rsv.releaseBytes(target, numBytes);
    }

    /**
     * btrfs_block_rsv_migrate(): move {@code numBytes} reserved from {@code src} to {@code dst}
     * (and to dst's size with {@code updateSize}); ENOSPC if src holds fewer.
     */
    public static void migrate(BlockRsv src, BlockRsv dst, long numBytes, boolean updateSize) throws FsException {
        if (src.spaceInfo != dst.spaceInfo) {
            throw new IllegalArgumentException("migrate from " + src.type + " to " + dst.type + " across space_infos");
        }
        src.useBytes(numBytes);
        dst.addBytes(numBytes, updateSize);
    }

    /**
     * btrfs_use_block_rsv()'s fallbacks, for allocating one tree block of {@code blocksize} for a
     * root whose reserve is {@code rsv}: take it from rsv; unless rsv is failfast, else reserve it
     * with NO_FLUSH, else take it from the global reserve, else an emergency reservation. Returns
     * the reserve the bytes were taken from (whose reserved bytes the block now uses); ENOSPC if
     * all failed.
     */
    public BlockRsv useBlockRsv(BlockRsv rsv, long blocksize) throws FsException {
        if (rsv.size() != 0) {
            if (rsv.tryUseBytes(blocksize)) {
                return rsv;
            }
            if (rsv.failfast()) {
                throw new FsException(Errno.ENOSPC, rsv.type.kernelName + " (failfast) holds less than " + blocksize);
            }
        }
        try {
            spaces.reserveMetadataBytes(rsv.spaceInfo, blocksize, FlushPolicy.NO_FLUSH);
            return rsv;
        } catch (FsException e) {
            if (e.errno() != Errno.ENOSPC) {
                throw e;
            }
        }
        if (rsv != globalRsv && rsv.spaceInfo == globalRsv.spaceInfo && globalRsv.tryUseBytes(blocksize)) {
            return globalRsv;
        }
        // Our reservations are pessimistic: rather than abort, use real space if there is any.
        spaces.reserveMetadataBytes(rsv.spaceInfo, blocksize, FlushPolicy.FLUSH_EMERGENCY);
        return rsv;
    }

    /** btrfs_unuse_block_rsv(): a tree block allocation was undone; give its bytes back. */
    public void unuseBlockRsv(BlockRsv rsv, long blocksize) {
        rsv.addBytes(blocksize, false);
        release(rsv, 0);
    }

    // ---------------------------------------------------------------------------------------
    // The global reserve.

    /**
     * The global reserve's size the way btrfs_update_global_block_rsv computes it: the bytes used
     * by the root tree and the global roots, but at least one insert per root plus an unlink and
     * its delayed refs, and at most {@link #GLOBAL_RSV_SIZE_MAX_BYTES}.
     */
    public long globalRsvSize(GlobalRsvTrees trees) {
        long numBytes = trees.rootTreeBytesUsed();
        long minItems = 1;
        for (long used : trees.globalRootsBytesUsed()) {
            numBytes = Math.addExact(numBytes, used);
            minItems++;
        }
        minItems += UNLINK_METADATA_UNITS;
        long floor = Math.addExact(calcInsertMetadataSize(spaces.nodesize, minItems),
                calcDelayedRefBytes(spaces.nodesize, UNLINK_METADATA_UNITS, spaces.freeSpaceTree));
        return Math.min(Math.max(numBytes, floor), GLOBAL_RSV_SIZE_MAX_BYTES);
    }

    /**
     * btrfs_update_global_block_rsv(): resize the global reserve to {@link #globalRsvSize} and
     * reserve (or free) the difference at once, without waiting: the global reserve may
     * overcommit, it is what lets a full filesystem still commit.
     */
    public void updateGlobalBlockRsv(GlobalRsvTrees trees) {
        long size = globalRsvSize(trees);
        SpaceInfo sinfo = globalRsv.spaceInfo;
        sinfo.lock.lock();
        try {
            globalRsv.resizeLocked(size);
            sinfo.tryGrantingTickets();
            if (size >= sinfo.totalBytes()) {
                sinfo.setForceAllocLocked(true);
            }
        } finally {
            sinfo.lock.unlock();
        }
    }

    /** btrfs_release_global_block_rsv(): at unmount, after the last commit. */
    public void releaseGlobalBlockRsv() {
        release(globalRsv, RELEASE_ALL);
    }

    /** Every fixed reserve, in the kernel's dump order. */
    public List<BlockRsv> fixed() {
        return List.of(globalRsv, transRsv, chunkRsv, delayedBlockRsv, delayedRefsRsv, emptyRsv);
    }

    /**
     * Leak lines ({@code LEAK <type> <rsv>.size|.reserved <value>}) for every reserve that still
     * has a size or holds bytes, fixed ones (the global one after
     * {@link #releaseGlobalBlockRsv}) and allocated ones never freed (the WARN_ONs of
     * btrfs_release_global_block_rsv).
     */
    public List<String> leakLines() {
        List<String> out = new ArrayList<>();
        for (BlockRsv rsv : fixed()) {
            leak(out, rsv, rsv.type.kernelName);
        }
        for (BlockRsv rsv : allocated) {
            String name = rsv.type.kernelName + "(allocated)";
            leak(out, rsv, name);
            out.add("LEAK " + rsv.spaceInfo.type + " " + name + " not freed"
                    + (rsv.origin == null ? "" : " (created at " + creator(rsv.origin) + ")"));
        }
        return out;
    }

    /** The first frame outside BlockRsv and BlockRsvs: who called {@link #allocBlockRsv}. */
    private static String creator(Throwable origin) {
        for (StackTraceElement e : origin.getStackTrace()) {
            String c = e.getClassName();
            if (!c.equals(BlockRsv.class.getName()) && !c.equals(BlockRsvs.class.getName())) {
                return e.toString();
            }
        }
        return "?";
    }

    private static void leak(List<String> out, BlockRsv rsv, String name) {
        long size = rsv.size();
        long reserved = rsv.reserved();
        if (size != 0) {
            out.add("LEAK " + rsv.spaceInfo.type + " " + name + ".size " + size);
        }
        if (reserved != 0) {
            out.add("LEAK " + rsv.spaceInfo.type + " " + name + ".reserved " + reserved);
        }
    }
}
