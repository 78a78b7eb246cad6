package org.jbtrfs.extent;

import java.io.IOException;
import java.util.Map;
import java.util.TreeMap;
import org.jbtrfs.CorruptImageException;
import org.jbtrfs.ctree.BTree;
import org.jbtrfs.ctree.TreeRoot;
import org.jbtrfs.format.DevExtent;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.ItemType;
import org.jbtrfs.format.Le;

/**
 * The allocated physical ranges of the one device: its DEV_EXTENT items as loaded from the dev
 * tree at open, plus the extents of chunks allocated since (in the kernel, the dev tree's commit
 * root searched together with {@code device->alloc_state}'s CHUNK_ALLOCATED ranges). Since jbtrfs
 * is the only writer of an open image, this map is the whole truth; the dev tree catches up when
 * the pending chunks are inserted at commit.
 *
 * <p>{@link #findFreeDevExtent} is find_free_dev_extent() in volumes.c: the first hole at or above
 * {@link #DEVICE_RANGE_RESERVED} at least as big as asked for, else the biggest hole.
 *
 * <p>Not thread-safe: {@link ChunkAllocator} uses it under its chunk mutex only.
 */
public final class DevExtents {
    /** BTRFS_DEVICE_RANGE_RESERVED (dev_extent_search_start): the first MiB holds the primary superblock and boot code. */
    public static final long DEVICE_RANGE_RESERVED = 1L << 20;

    /** A hole on the device; {@code enough} when it is at least as big as what was asked for. */
    public record Hole(long start, long size, boolean enough) {
    }

    private final long totalBytes;
    /** physical start → length. */
    private final TreeMap<Long, Long> extents = new TreeMap<>(Long::compareUnsigned);
    private long allocatedBytes;

    public DevExtents(long totalBytes) {
        assert totalBytes > 0 : totalBytes;
        this.totalBytes = totalBytes;
    }

    /** Reads the DEV_EXTENT items of device {@code devid} from the dev tree, checking they are disjoint and on the device. */
    public static DevExtents load(BTree bt, TreeRoot devTree, long devid, long totalBytes) throws IOException {
        DevExtents d = new DevExtents(totalBytes);
        bt.scan(devTree, new DiskKey(devid, ItemType.DEV_EXTENT, 0), new DiskKey(devid, ItemType.DEV_EXTENT, -1L),
                (key, b, o, l) -> {
                    if (key.type() != ItemType.DEV_EXTENT || key.objectid() != devid) {
                        return true;
                    }
                    DevExtent de = DevExtent.decode(b, o, l);
                    if (!d.tryAdd(key.offset(), de.length())) {
                        throw new CorruptImageException("dev extent " + key + " length " + Le.u64s(de.length())
                                + " overlaps another or lies beyond the device end " + Le.u64s(totalBytes));
                    }
                    return true;
                });
        return d;
    }

    /** Records an allocated extent; false (changing nothing) when it overlaps one or leaves the device. */
    public boolean tryAdd(long start, long length) {
        if (length <= 0 || Long.compareUnsigned(start + length, start) < 0
                || Long.compareUnsigned(start + length, totalBytes) > 0) {
            return false;
        }
        Map.Entry<Long, Long> below = extents.floorEntry(start);
        Map.Entry<Long, Long> above = extents.ceilingEntry(start);
        if ((below != null && Long.compareUnsigned(below.getKey() + below.getValue(), start) > 0)
                || (above != null && Long.compareUnsigned(above.getKey(), start + length) < 0)) {
            return false;
        }
        extents.put(start, length);
        allocatedBytes += length;
        return true;
    }

    /** Like {@link #tryAdd} for ranges the allocator chose: overlapping is a bug. */
    public void add(long start, long length) {
        if (!tryAdd(start, length)) {
            throw new AssertionError("dev extent " + Le.u64s(start) + "+" + Le.u64s(length) + " overlaps another");
        }
    }

    /** Frees the dev extent at {@code start} of {@code length} (its chunk was removed and committed). */
    public void remove(long start, long length) {
        Long had = extents.get(start);
        if (had == null || had != length) {
            throw new AssertionError("no dev extent " + Le.u64s(start) + "+" + Le.u64s(length) + " to remove");
        }
        extents.remove(start);
        allocatedBytes -= length;
    }

    public long totalBytes() {
        return totalBytes;
    }

    /** Bytes in dev extents: the DEV_ITEM's bytes_used. */
    public long allocatedBytes() {
        return allocatedBytes;
    }

    public int count() {
        return extents.size();
    }

    /**
     * find_free_dev_extent(): walks the holes from {@link #DEVICE_RANGE_RESERVED} up; returns the
     * first hole of at least {@code numBytes}, or else the biggest hole (possibly of size 0) with
     * {@code enough} false.
     */
    public Hole findFreeDevExtent(long numBytes) {
        assert numBytes > 0 : numBytes;
        long searchStart = DEVICE_RANGE_RESERVED;
        long bestStart = searchStart;
        long bestSize = 0;
        for (Map.Entry<Long, Long> e : extents.entrySet()) {
            long extStart = e.getKey();
            long extEnd = extStart + e.getValue();
            if (Long.compareUnsigned(extStart, searchStart) > 0) {
                long hole = Math.min(extStart, totalBytes) - searchStart;
                if (hole > bestSize) {
                    bestStart = searchStart;
                    bestSize = hole;
                }
                if (hole >= numBytes) {
                    return new Hole(searchStart, hole, true);
                }
            }
            if (Long.compareUnsigned(extEnd, searchStart) > 0) {
                searchStart = extEnd;
            }
        }
        if (Long.compareUnsigned(totalBytes, searchStart) > 0) {
            long hole = totalBytes - searchStart;
            if (hole > bestSize) {
                bestStart = searchStart;
                bestSize = hole;
            }
        }
        assert bestSize == 0 || Long.compareUnsigned(bestStart + bestSize, totalBytes) <= 0;
        return new Hole(bestStart, bestSize, bestSize >= numBytes);
    }
}
