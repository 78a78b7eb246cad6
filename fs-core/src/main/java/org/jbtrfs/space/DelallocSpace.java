package org.jbtrfs.space;

import org.jbtrfs.FsException;

/**
 * Data reservations for buffered writes, fallocate and direct IO: the data half of
 * delalloc-space.c.
 *
 * <h2>How data reservation works</h2>
 * <ol>
 *   <li><b>Reserve</b> ({@link #checkDataFreeSpace}): the written range, widened to whole
 *       sectors, is added to the DATA space_info's bytes_may_use before any page is dirtied, with
 *       FLUSH_DATA: if there is no room, the writer queues a ticket and the data reclaim worker
 *       allocates chunks, flushes delalloc and commits until it is granted or fails with ENOSPC
 *       (or EINTR if the writer is interrupted: see {@link SpaceInfo}).</li>
 *   <li><b>Use</b>: writeback allocates an extent; {@link SpaceInfo#addReservedBytes} moves the
 *       reserved length out of bytes_may_use and the allocated length into bytes_reserved
 *       (smaller with compression).</li>
 *   <li><b>Allocation</b>: when the file extent item and its delayed ref are in, the bytes move
 *       to bytes_used ({@link SpaceInfo#allocUsedBytes}).</li>
 *   <li><b>Error handling</b>: a writer that reserved and did not dirty the range gives the bytes
 *       back with {@link #freeReservedDataSpace}.</li>
 * </ol>
 * The per-inode metadata half (outstanding extents, the inode's block_rsv) belongs to the inode
 * layer, which sizes it with {@link BlockRsvs#calcInsertMetadataSize}.
 */
public final class DelallocSpace {
    private final SpaceInfos spaces;

    public DelallocSpace(SpaceInfos spaces) {
        this.spaces = spaces;
    }

    /**
     * The length of [start, start+len) widened to whole sectors (round_down start, round_up end);
     * 0 for an empty range.
     */
    public long alignedLength(long start, long len) {
        if (start < 0 || len < 0 || start + len < start) {
            throw new IllegalArgumentException("range " + start + "+" + len);
        }
        if (len == 0) {
            return 0;
        }
        long mask = spaces.sectorsize - 1L;
        long end = Math.addExact(start + len, mask) & ~mask;
        return end - (start & ~mask);
    }

    /**
     * btrfs_check_data_free_space(): reserve data space for writing [start, start+len). With
     * {@code noflush} it fails at once with ENOSPC instead of waiting; {@code freeSpaceInode} is
     * for the free space cache inode, which must not wait on the reclaimer. Returns the bytes
     * reserved (the aligned length), which the caller must use or free.
     */
    public long checkDataFreeSpace(long start, long len, boolean noflush, boolean freeSpaceInode)
            throws FsException {
        long bytes = alignedLength(start, len);
        if (bytes == 0) {
            return 0;
        }
        FlushPolicy flush = noflush ? FlushPolicy.NO_FLUSH
                : freeSpaceInode ? FlushPolicy.FLUSH_FREE_SPACE_INODE : FlushPolicy.FLUSH_DATA;
        spaces.reserveDataBytes(bytes, flush);
        return bytes;
    }

    /** btrfs_alloc_data_chunk_ondemand(): reserve {@code bytes}, rounded up to a sector. */
    public long allocDataChunkOndemand(long bytes, boolean freeSpaceInode) throws FsException {
        long aligned = alignedLength(0, bytes);
        if (aligned == 0) {
            return 0;
        }
        spaces.reserveDataBytes(aligned, freeSpaceInode ? FlushPolicy.FLUSH_FREE_SPACE_INODE : FlushPolicy.FLUSH_DATA);
        return aligned;
    }

    /** btrfs_free_reserved_data_space(): give back the reservation for [start, start+len). */
    public void freeReservedDataSpace(long start, long len) {
        freeReservedDataSpaceNoquota(alignedLength(start, len));
    }

    /** btrfs_free_reserved_data_space_noquota(): give back {@code len} sector-aligned bytes. */
    public void freeReservedDataSpaceNoquota(long len) {
        if ((len & (spaces.sectorsize - 1L)) != 0) {
            throw new IllegalArgumentException(len + " bytes is not a whole number of " + spaces.sectorsize
                    + "-byte sectors");
        }
        if (len > 0) {
            spaces.data().freeBytesMayUse(len);
        }
    }
}
