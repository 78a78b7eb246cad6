package org.jbtrfs.extent;

import org.jbtrfs.Errno;
import org.jbtrfs.FsException;
import org.jbtrfs.format.BlockGroupItem;
import org.jbtrfs.format.Le;

/**
 * How big a new chunk is and where its stripes go, for one device with the SINGLE or DUP profile
 * (struct alloc_chunk_ctl and init_alloc_chunk_ctl_policy_regular, gather_device_info,
 * decide_stripe_size_regular in volumes.c; calc_chunk_size in space-info.c). Pure: the device is
 * given as its {@link DevExtents}.
 *
 * <ol>
 *   <li>Largest chunk for the type: data 1 GiB (10 GiB over 50 GiB of device), metadata 256 MiB
 *       (1 GiB over 50 GiB), system 32 MiB; a stripe is at most that and at most 1 GiB; a chunk is
 *       at most 10% of the device, that cap rounded up to 16 MiB.</li>
 *   <li>The device extent wanted is one stripe per copy on the device (two for DUP, back to back
 *       in one hole); the first hole that big from 1 MiB up is used, else the biggest hole — down to
 *       one 64 KiB stripe per copy (dev_extent_min), below which the answer is ENOSPC.</li>
 *   <li>The stripe is rounded down to 64 KiB; the chunk's logical length is one stripe (SINGLE
 *       and DUP have one data stripe).</li>
 * </ol>
 */
public final class ChunkSizing {
    /** BTRFS_STRIPE_LEN. */
    public static final long STRIPE_LEN = 64L << 10;
    static final long SZ_16M = 16L << 20;
    static final long SZ_32M = 32L << 20;
    static final long SZ_256M = 256L << 20;
    static final long SZ_1G = 1L << 30;
    /** BTRFS_MAX_DATA_CHUNK_SIZE. */
    static final long MAX_DATA_CHUNK_SIZE = 10L << 30;
    /** Above this much device space, data and metadata chunks get bigger (calc_chunk_size). */
    static final long LARGE_FS_BYTES = 50L << 30;

    private ChunkSizing() {
    }

    /**
     * A decided chunk: block group flags (type | profile), the length of each stripe (= the
     * chunk's logical length), and the physical start of each stripe.
     */
    public record Plan(long flags, long stripeSize, long[] stripeOffsets) {
        public long chunkSize() {
            return stripeSize; // one data stripe for SINGLE and DUP
        }

        public long deviceBytes() {
            return stripeSize * stripeOffsets.length;
        }
    }

    /** calc_chunk_size(): the space_info's chunk_size for a type. */
    public static long maxChunkSize(long type, long totalRwBytes) {
        if (type == BlockGroupItem.DATA) {
            return totalRwBytes > LARGE_FS_BYTES ? MAX_DATA_CHUNK_SIZE : SZ_1G;
        }
        if (type == BlockGroupItem.METADATA) {
            return totalRwBytes > LARGE_FS_BYTES ? SZ_1G : SZ_256M;
        }
        assert type == BlockGroupItem.SYSTEM : "unknown chunk type " + type;
        return SZ_32M;
    }

    /** Copies of each stripe on the one device: 2 for DUP, 1 for SINGLE. */
    public static int devStripes(long profile) {
        assert profile == 0 || profile == BlockGroupItem.DUP : "profile " + BlockGroupItem.flagsString(profile);
        return profile == BlockGroupItem.DUP ? 2 : 1;
    }

    /**
     * Decides a chunk of {@code type} with {@code profile} (0 for SINGLE, or DUP) on the device
     * described by {@code dev}; ENOSPC when no hole of at least one 64 KiB stripe per copy is left.
     */
    public static Plan plan(long type, long profile, DevExtents dev) throws FsException {
        int devStripes = devStripes(profile);
        long total = dev.totalBytes();
        long chunkSize = maxChunkSize(type, total);
        long maxStripeSize = Math.min(chunkSize, SZ_1G);
        // "We don't want a chunk larger than 10% of writable space" (mult_perc(total_rw_bytes, 10)).
        long maxChunkSize = Math.min(total / 10, chunkSize);
        long devExtentMin = STRIPE_LEN * devStripes;
        long want = maxStripeSize * devStripes;
        long unallocated = Math.max(0, total - dev.allocatedBytes());
        DevExtents.Hole hole = dev.findFreeDevExtent(want);
        long maxAvail = hole.enough() ? want : hole.size();
        if (unallocated < devExtentMin || maxAvail < devExtentMin) {
            throw new FsException(Errno.ENOSPC, "cannot allocate a " + BlockGroupItem.flagsString(type | profile)
                    + " chunk: the device (" + Le.u64s(total) + " bytes, " + Le.u64s(dev.allocatedBytes())
                    + " allocated to chunks) has no unallocated hole of " + devExtentMin + " bytes; largest is "
                    + Le.u64s(hole.size()));
        }
        long stripeSize = maxAvail / devStripes;
        if (stripeSize > maxChunkSize) {
            // Reduce, rounded up to 16 MiB, unless that is bigger than what the hole allows.
            stripeSize = Math.min(roundUp(maxChunkSize, SZ_16M), stripeSize);
        }
        stripeSize = Math.min(stripeSize, SZ_1G);
        stripeSize = stripeSize / STRIPE_LEN * STRIPE_LEN;
        assert stripeSize >= STRIPE_LEN : stripeSize;
        long[] offsets = new long[devStripes];
        for (int j = 0; j < devStripes; j++) {
            offsets[j] = hole.start() + j * stripeSize;
        }
        assert offsets[devStripes - 1] + stripeSize <= hole.start() + hole.size() : "stripes leave the hole";
        return new Plan(type | profile, stripeSize, offsets);
    }

    static long roundUp(long v, long to) {
        return (v + to - 1) / to * to;
    }
}
