package org.jbtrfs.extent;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.jbtrfs.CorruptImageException;
import org.jbtrfs.Errno;
import org.jbtrfs.FsException;
import org.jbtrfs.ctree.BTree;
import org.jbtrfs.ctree.Item;
import org.jbtrfs.ctree.TreeRoot;
import org.jbtrfs.device.ChunkMap;
import org.jbtrfs.format.BlockGroupItem;
import org.jbtrfs.format.ChunkItem;
import org.jbtrfs.format.Superblock;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.FreeSpaceInfo;
import org.jbtrfs.format.ItemType;
import org.jbtrfs.format.Le;
import org.jbtrfs.format.Superblock;

/**
 * The block groups of a filesystem and the extent allocator over them (block-group.c,
 * free-space-cache.c, free-space-tree.c load, and find_free_extent / pinning in extent-tree.c).
 *
 * <h2>Lifecycle of an extent's space</h2>
 * <ol>
 *   <li>{@link #reserve}: the allocator takes a range out of a block group's allocatable space
 *       (reserved: no extent item yet).</li>
 *   <li>Running the delayed refs inserts the extent item: {@link #extentAllocated} moves the
 *       bytes from reserved to used and out of the free space the free space tree will show.</li>
 *   <li>Freed before its item existed (allocated and dropped in the same transaction, never
 *       written): {@link #unreserve} gives the range straight back.</li>
 *   <li>The last reference goes away: {@link #extentFreed} makes it free on disk but keeps it
 *       pinned — not allocatable — until {@link #unpinAll} after the commit, because the last
 *       committed trees may still point there.</li>
 * </ol>
 * {@link #reserve} never hands out a range that maps onto a superblock copy on any stripe
 * ({@link #superStripes}, taken out of each group's allocatable space as its bytes_super): the
 * commit rewrites those copies after the tree blocks, so a block there would lose a mirror, and
 * the kernel would overwrite it. Those ranges still count as free on disk (the free space tree
 * lists them, as the kernel's does).
 *
 * <p>Each block group's counters and free space views are guarded by its own lock; the map of block
 * groups changes only when chunks are added (under {@link #groupsLock}).
 */
public final class BlockGroups implements ExtentAccounting {
    private final TreeMap<Long, BlockGroup> groups = new TreeMap<>(Long::compareUnsigned);
    /** Guards {@link #groups}. Rank: above the block group locks. */
    private final Object groupsLock = new Object();
    private final int sectorsize;

    public BlockGroups(int sectorsize) {
        this.sectorsize = sectorsize;
    }

    /**
     * Loads every block group of the chunk map: its BLOCK_GROUP_ITEM for {@code used}, and its free
     * space from the free space tree ({@code fstRoot}, extents or bitmaps) — or, when the image has
     * none, as the complement of the extent items in the extent tree.
     */
    public static BlockGroups load(BTree bt, ChunkMap chunks, TreeRoot bgRoot, TreeRoot extentRoot, TreeRoot fstRoot,
            int sectorsize, int nodesize) throws IOException {
        BlockGroups bgs = new BlockGroups(sectorsize);
        for (ChunkMap.Mapping m : chunks.mappings()) {
            Item it = bt.lookup(bgRoot, new DiskKey(m.logical(), ItemType.BLOCK_GROUP_ITEM, m.length()));
            if (it == null) {
                throw new CorruptImageException("chunk " + Le.u64s(m.logical()) + " has no BLOCK_GROUP_ITEM");
            }
            BlockGroupItem bgi = BlockGroupItem.decode(it.data(), 0, it.size());
            if (bgi.flags() != m.type()) {
                throw new CorruptImageException("block group " + Le.u64s(m.logical()) + " flags " + Le.u64s(bgi.flags())
                        + " differ from its chunk's " + Le.u64s(m.type()));
            }
            FreeSpaceMap free = fstRoot != null ? loadFromFreeSpaceTree(bt, fstRoot, m.logical(), m.length(), sectorsize)
                    : loadFromExtentTree(bt, extentRoot, m.logical(), m.length(), nodesize);
            if (bgi.used() + free.totalBytes() != m.length()) {
                throw new CorruptImageException("block group " + Le.u64s(m.logical()) + ": used " + Le.u64s(bgi.used())
                        + " + free " + free.totalBytes() + " != length " + Le.u64s(m.length()));
            }
            BlockGroup bg = new BlockGroup(m.logical(), m.length(), bgi.flags(), bgi.used(), free);
            bg.excludeSuperStripes(superStripes(m.logical(), m.length(), m.stripes()));
            if (fstRoot != null) {
                Item info = bt.lookup(fstRoot, new DiskKey(m.logical(), ItemType.FREE_SPACE_INFO, m.length()));
                FreeSpaceInfo fsi = FreeSpaceInfo.decode(info.data(), 0, info.size());
                BlockGroupWriter.markBitmaps(bg, (fsi.flags() & FreeSpaceInfo.USING_BITMAPS) != 0);
            }
            bgs.add(bg);
        }
        return bgs;
    }

    /** BTRFS_SUPER_INFO_OFFSET: nothing below the primary superblock copy is ever allocated. */
    static final long SUPER_INFO_OFFSET = 64 << 10;
    /** BTRFS_STRIPE_LEN: btrfs_rmap_block reports each superblock copy as one stripe of this length. */
    static final long STRIPE_LEN = 64 << 10;

    /**
     * The logical ranges of a chunk that hold superblock copies (exclude_super_stripes in
     * block-group.c): for each copy at a physical offset of {@link Superblock#MIRROR_OFFSETS} that
     * falls inside one of the chunk's stripes, the 64 KiB stripe at the matching logical address
     * (cut at the chunk's end); and, for a chunk starting below 64 KiB, everything up to 64 KiB.
     * For SINGLE and DUP, physical {@code p} in a stripe at {@code s} is logical
     * {@code start + (p - s)}.
     */
    public static List<long[]> superStripes(long start, long length, List<ChunkItem.Stripe> stripes) {
        List<long[]> out = new ArrayList<>();
        if (Long.compareUnsigned(start, SUPER_INFO_OFFSET) < 0) {
            out.add(new long[] {start, SUPER_INFO_OFFSET - start});
        }
        for (long mirror : Superblock.MIRROR_OFFSETS) {
            for (ChunkItem.Stripe s : stripes) {
                if (Long.compareUnsigned(mirror, s.offset()) < 0 || Long.compareUnsigned(mirror - s.offset(), length) >= 0) {
                    continue;
                }
                long stripeStart = (mirror - s.offset()) / STRIPE_LEN * STRIPE_LEN;
                long logical = start + stripeStart;
                out.add(new long[] {logical, Math.min(STRIPE_LEN, start + length - logical)});
            }
        }
        return out;
    }

    static FreeSpaceMap loadFromFreeSpaceTree(BTree bt, TreeRoot fst, long start, long length, int sectorsize)
            throws IOException {
        Item info = bt.lookup(fst, new DiskKey(start, ItemType.FREE_SPACE_INFO, length));
        if (info == null) {
            throw new CorruptImageException("free space tree has no FREE_SPACE_INFO for block group " + Le.u64s(start));
        }
        FreeSpaceInfo fsi = FreeSpaceInfo.decode(info.data(), 0, info.size());
        FreeSpaceMap free = new FreeSpaceMap();
        long end = start + length;
        long[] extents = {0};
        bt.scan(fst, new DiskKey(start, ItemType.FREE_SPACE_EXTENT, 0), new DiskKey(end - 1, ItemType.FREE_SPACE_BITMAP, -1L),
                (key, b, o, l) -> {
                    long s = key.objectid();
                    long len = key.offset();
                    if (key.type() != ItemType.FREE_SPACE_EXTENT && key.type() != ItemType.FREE_SPACE_BITMAP) {
                        return true;
                    }
                    if (len <= 0 || Long.compareUnsigned(s, start) < 0 || Long.compareUnsigned(s + len, end) > 0) {
                        throw new CorruptImageException("free space item " + key + " outside block group " + Le.u64s(start));
                    }
                    if (key.type() == ItemType.FREE_SPACE_EXTENT) {
                        addChecked(free, s, len, key);
                        extents[0]++;
                    } else {
                        extents[0] += addBitmap(free, s, len, b, o, l, sectorsize, key);
                    }
                    return true;
                });
        if (extents[0] != fsi.extentCount() && (fsi.flags() & FreeSpaceInfo.USING_BITMAPS) == 0) {
            throw new CorruptImageException("free space tree for block group " + Le.u64s(start) + " has " + extents[0]
                    + " extents, FREE_SPACE_INFO says " + fsi.extentCount());
        }
        return free;
    }

    private static void addChecked(FreeSpaceMap free, long s, long len, DiskKey key) throws CorruptImageException {
        if (!free.tryAdd(s, len)) {
            throw new CorruptImageException("free space item " + key + " is empty or overlaps another free range");
        }
    }

    /** A FREE_SPACE_BITMAP: one bit per sector from the key's objectid, least significant bit first. */
    private static long addBitmap(FreeSpaceMap free, long s, long len, byte[] b, int o, int l, int sectorsize, DiskKey key)
            throws CorruptImageException {
        long bits = len / sectorsize;
        if ((bits + 7) / 8 != l) {
            throw new CorruptImageException("free space bitmap " + key + " has " + l + " bytes for " + bits + " sectors");
        }
        long runs = 0;
        long runStart = -1;
        for (long i = 0; i <= bits; i++) {
            boolean set = i < bits && (b[o + (int) (i >>> 3)] & (1 << (i & 7))) != 0;
            if (set && runStart < 0) {
                runStart = i;
            } else if (!set && runStart >= 0) {
                addChecked(free, s + runStart * sectorsize, (i - runStart) * sectorsize, key);
                runs++;
                runStart = -1;
            }
        }
        return runs;
    }

    /** Free space as the complement of EXTENT_ITEM / METADATA_ITEM keys inside the group. */
    static FreeSpaceMap loadFromExtentTree(BTree bt, TreeRoot extent, long start, long length, int nodesize)
            throws IOException {
        FreeSpaceMap free = new FreeSpaceMap();
        long[] cursor = {start};
        long end = start + length;
        bt.scan(extent, new DiskKey(start, 0, 0), new DiskKey(end - 1, 0xff, -1L), (key, b, o, l) -> {
            long len;
            if (key.type() == ItemType.EXTENT_ITEM) {
                len = key.offset();
            } else if (key.type() == ItemType.METADATA_ITEM) {
                len = nodesize;
            } else {
                return true;
            }
            if (key.objectid() < cursor[0]) {
                throw new CorruptImageException("extent item " + key + " overlaps the previous extent");
            }
            if (len <= 0 || Long.compareUnsigned(key.objectid() + len, end) > 0) {
                throw new CorruptImageException("extent item " + key + " does not fit its block group "
                        + Le.u64s(start) + "+" + Le.u64s(length));
            }
            if (key.objectid() > cursor[0] && !free.tryAdd(cursor[0], key.objectid() - cursor[0])) {
                throw new CorruptImageException("extent item " + key + " leaves an invalid free range");
            }
            cursor[0] = key.objectid() + len;
            return true;
        });
        if (cursor[0] < end) {
            free.add(cursor[0], end - cursor[0]);
        }
        return free;
    }

    /**
     * btrfs_make_block_group(): a new, empty block group for a chunk just created. Nothing is
     * used and the free space tree has nothing for it yet, so it is dirty: the next commit inserts
     * its BLOCK_GROUP_ITEM and its FREE_SPACE_INFO and free extent.
     */
    public BlockGroup makeBlockGroup(ChunkMap.Mapping chunk) {
        long start = chunk.logical();
        long length = chunk.length();
        assert length > 0 && start % sectorsize == 0 && length % sectorsize == 0 : "unaligned block group " + start + "+" + length;
        BlockGroup bg = BlockGroup.forNewChunk(start, length, chunk.type());
        bg.excludeSuperStripes(superStripes(start, length, chunk.stripes()));
        add(bg);
        return bg;
    }

    public void add(BlockGroup bg) {
        synchronized (groupsLock) {
            Map.Entry<Long, BlockGroup> below = groups.floorEntry(bg.start());
            assert below == null || below.getValue().end() <= bg.start() : "block groups overlap: " + bg;
            groups.put(bg.start(), bg);
        }
    }

    /**
     * Takes an empty block group out of allocation (btrfs_delete_unused_bgs): when it has no used,
     * reserved or pinned bytes and is not read-only, it becomes read-only and leaves the map; true
     * then. The caller deletes its items and its chunk.
     */
    public boolean removeIfUnused(BlockGroup bg) {
        synchronized (groupsLock) {
            bg.lock.lock();
            try {
                if (bg.used != 0 || bg.reserved != 0 || bg.pinned != 0 || bg.readOnly) {
                    return false;
                }
                bg.readOnly = true;
                bg.dirty = false;
            } finally {
                bg.lock.unlock();
            }
            groups.remove(bg.start(), bg);
            return true;
        }
    }

    /** The block group holding {@code logical}, or null. */
    public BlockGroup find(long logical) {
        synchronized (groupsLock) {
            Map.Entry<Long, BlockGroup> e = groups.floorEntry(logical);
            return e != null && Long.compareUnsigned(logical, e.getValue().end()) < 0 ? e.getValue() : null;
        }
    }

    public Collection<BlockGroup> all() {
        synchronized (groupsLock) {
            return new ArrayList<>(groups.values());
        }
    }

    private BlockGroup require(long bytenr, long numBytes) {
        BlockGroup bg = find(bytenr);
        if (bg == null || Long.compareUnsigned(bytenr + numBytes, bg.end()) > 0) {
            throw new AssertionError("extent " + Le.u64s(bytenr) + "+" + numBytes + " is not inside one block group");
        }
        return bg;
    }

    /**
     * find_free_extent(), first fit: reserves {@code numBytes} in a block group of {@code type}
     * (DATA, METADATA or SYSTEM), preferring addresses at or after {@code hint}. Throws ENOSPC
     * when no block group of that type has room (the caller then allocates a chunk or gives up).
     */
    public long reserve(long type, long numBytes, long hint) throws FsException {
        assert numBytes > 0 && numBytes % sectorsize == 0 : "unaligned allocation of " + numBytes;
        for (int pass = 0; pass < 2; pass++) {
            for (BlockGroup bg : all()) {
                if ((bg.flags() & BlockGroupItem.TYPE_MASK) != type || bg.readOnly) {
                    continue;
                }
                if (pass == 0 && Long.compareUnsigned(bg.end(), hint) <= 0) {
                    continue;
                }
                bg.lock.lock();
                try {
                    if (bg.readOnly) {
                        continue; // removed by the cleaner since the snapshot of the groups was taken
                    }
                    long from = pass == 0 ? Math.max(bg.start(), hint) : bg.start();
                    long at = bg.allocatable.findFirstFit(numBytes, from, sectorsize);
                    if (at >= 0) {
                        bg.allocatable.remove(at, numBytes);
                        bg.reserved += numBytes;
                        assert bg.countersBalance();
                        return at;
                    }
                } finally {
                    bg.lock.unlock();
                }
            }
        }
        throw new FsException(Errno.ENOSPC, "no room for " + numBytes + " bytes in " + BlockGroupItem.flagsString(type)
                + " block groups");
    }

    /** Gives back a reservation whose extent item was never inserted. */
    public void unreserve(long bytenr, long numBytes) {
        BlockGroup bg = require(bytenr, numBytes);
        bg.lock.lock();
        try {
            assert bg.reserved >= numBytes : bg + " reserved " + bg.reserved + " < " + numBytes;
            bg.reserved -= numBytes;
            bg.allocatable.add(bytenr, numBytes);
            assert bg.countersBalance();
        } finally {
            bg.lock.unlock();
        }
    }

    @Override
    public void extentAllocated(long transid, long bytenr, long numBytes, boolean metadata) {
        BlockGroup bg = require(bytenr, numBytes);
        bg.lock.lock();
        try {
            assert bg.reserved >= numBytes : bg + " inserting an extent that was not reserved: " + Le.u64s(bytenr);
            bg.reserved -= numBytes;
            bg.used += numBytes;
            bg.freeOnDisk.remove(bytenr, numBytes);
            bg.dirty = true;
            assert bg.countersBalance();
        } finally {
            bg.lock.unlock();
        }
    }

    @Override
    public void extentFreed(long transid, long bytenr, long numBytes, boolean metadata) {
        BlockGroup bg = require(bytenr, numBytes);
        bg.lock.lock();
        try {
            assert bg.used >= numBytes : bg + " used " + bg.used + " < freed " + numBytes;
            bg.used -= numBytes;
            bg.pinned += numBytes;
            bg.freeOnDisk.add(bytenr, numBytes);
            bg.pinnedRanges().add(bytenr, numBytes);
            bg.dirty = true;
            assert bg.countersBalance();
        } finally {
            bg.lock.unlock();
        }
    }

    /** unpin_extent_range() for every group, after a commit: pinned space becomes allocatable. */
    public void unpinAll() {
        for (BlockGroup bg : all()) {
            bg.lock.lock();
            try {
                for (long[] r : bg.pinnedRanges().extents()) {
                    bg.allocatable.add(r[0], r[1]);
                }
                bg.pinned = 0;
                bg.clearPinnedRanges();
                assert bg.countersBalance();
            } finally {
                bg.lock.unlock();
            }
        }
    }

    /**
     * The counters of all block groups of one type (struct btrfs_space_info's bytes_*), summed
     * under each group's lock in turn; a snapshot, good for deciding whether to allocate a chunk.
     */
    public record SpaceSummary(long type, long totalBytes, long bytesUsed, long bytesReserved, long bytesPinned,
            long bytesSuper, long allocatableBytes, int groups, long profile) {
        /** btrfs_space_info_used(sinfo, false): bytes_super counts as read-only space. */
        public long usedForChunkDecision() {
            return bytesUsed + bytesReserved + bytesPinned + bytesSuper;
        }
    }

    /** The space summary of {@code type} (DATA, METADATA or SYSTEM); profile -1 when no group exists. */
    public SpaceSummary summary(long type) {
        long total = 0;
        long used = 0;
        long reserved = 0;
        long pinned = 0;
        long sup = 0;
        long alloc = 0;
        int n = 0;
        long profile = -1;
        for (BlockGroup bg : all()) {
            if ((bg.flags() & BlockGroupItem.TYPE_MASK) != type) {
                continue;
            }
            bg.lock.lock();
            try {
                total += bg.length();
                used += bg.used;
                reserved += bg.reserved;
                pinned += bg.pinned;
                sup += bg.bytesSuper;
                alloc += bg.readOnly ? 0 : bg.allocatable.totalBytes();
            } finally {
                bg.lock.unlock();
            }
            n++;
            profile = bg.flags() & BlockGroupItem.PROFILE_MASK;
        }
        return new SpaceSummary(type, total, used, reserved, pinned, sup, alloc, n, profile);
    }

    /** Sum of used bytes: the superblock's bytes_used. */
    public long bytesUsed() {
        long n = 0;
        for (BlockGroup bg : all()) {
            n += bg.used();
        }
        return n;
    }

    /** The groups whose item or free space tree entries must be written, clearing the mark. */
    public List<BlockGroup> takeDirty() {
        List<BlockGroup> out = new ArrayList<>();
        for (BlockGroup bg : all()) {
            bg.lock.lock();
            try {
                if (bg.dirty) {
                    bg.dirty = false;
                    out.add(bg);
                }
            } finally {
                bg.lock.unlock();
            }
        }
        return out;
    }
}
