package org.jbtrfs.extent;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;
import org.jbtrfs.CorruptImageException;
import org.jbtrfs.Errno;
import org.jbtrfs.FsException;
import org.jbtrfs.ctree.CowBTree;
import org.jbtrfs.ctree.CowRoot;
import org.jbtrfs.ctree.Path;
import org.jbtrfs.device.ChunkMap;
import org.jbtrfs.format.BlockGroupItem;
import org.jbtrfs.format.ChunkItem;
import org.jbtrfs.format.DevExtent;
import org.jbtrfs.format.DevItem;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.ItemType;
import org.jbtrfs.format.Le;
import org.jbtrfs.format.ObjectIds;
import org.jbtrfs.format.Superblock;

/**
 * Chunk allocation on the one device (btrfs_chunk_alloc, should_alloc_chunk, check_system_chunk
 * in block-group.c; btrfs_create_chunk, btrfs_chunk_alloc_add_chunk_item in volumes.c;
 * btrfs_create_pending_block_groups in block-group.c).
 *
 * <h2>How a chunk comes to be</h2>
 * <ol>
 *   <li><b>Phase 1, in memory, at once</b> ({@link #allocChunk}): {@link ChunkSizing} picks the size
 *       and the device hole ({@link DevExtents}); the mapping goes into the {@link ChunkMap} (so its
 *       blocks can be written), the device extents into {@link DevExtents}, and a new empty
 *       {@link BlockGroup} into {@link BlockGroups}, dirty — the caller's retry can allocate from it
 *       right away. No tree is touched and no tree lock is taken, so this may run under any tree's
 *       write lock (tree block allocation does). The chunk is queued as pending.</li>
 *   <li><b>Phase 2, in the commit's tree phase</b> ({@link #insertPendingChunks}): the CHUNK_ITEM
 *       goes into the chunk tree, a DEV_EXTENT per stripe into the dev tree, the DEV_ITEM's
 *       bytes_used is updated, and a SYSTEM chunk is appended to the sys_chunk_array the next
 *       superblock carries ({@link #applyToSuperblock}). The dirty block group writes its
 *       BLOCK_GROUP_ITEM and free space tree entries in the same rounds. Called with no tree lock
 *       held; it takes the dev tree's and the chunk tree's locks one at a time.</li>
 * </ol>
 *
 * <h2>Space for the chunk's own items</h2>
 * Inserting the items COWs the chunk tree (SYSTEM space) and the dev, extent and free space trees
 * (METADATA space). Before any chunk is made, {@link #checkSystemChunk} makes sure the SYSTEM
 * groups have room for the chunk tree edits of every pending chunk (else it allocates a SYSTEM chunk
 * first), and a DATA or SYSTEM chunk likewise checks METADATA. After each metadata reservation
 * {@link #reserve} allocates a METADATA chunk early when the type is over 80% used
 * (should_alloc_chunk), so the commit's own COW does not run out. If the device cannot hold what
 * is needed, the allocation fails with ENOSPC before anything is changed.
 *
 * <h2>Locks</h2>
 * {@link #chunkMutex} (chunk_mutex) guards {@link #devExtents}, {@link #pending},
 * {@link #sysChunkArray}, {@link #devBytesInTrees} and the choice of the next logical address.
 * Rank: below every tree lock (taken while a tree's write lock is held), above
 * {@code BlockGroups.groupsLock} and the block group locks. No IO and no tree lock while held.
 */
public final class ChunkAllocator {
    /**
     * BTRFS_MAX_LEVEL: a tree edit may COW one block per level. check_system_chunk reserves
     * btrfs_calc_metadata_size(1) for the DEV_ITEM update plus btrfs_calc_insert_metadata_size(1)
     * for the CHUNK_ITEM insert: 8 + 2 * 8 nodes.
     */
    static final int SYSTEM_NODES_PER_CHUNK = 8 + 2 * 8;
    /**
     * METADATA nodes a chunk's commit may COW outside the chunk tree: two DEV_EXTENT inserts, the
     * BLOCK_GROUP_ITEM insert, the free space tree's info and extent inserts and the extent items
     * of the blocks those COW (2 * 8 nodes per insert, for 6 inserts).
     */
    static final int METADATA_NODES_PER_CHUNK = 6 * 2 * 8;
    /** should_alloc_chunk: allocate when more than this percentage of the type is in use... */
    static final int ALLOC_THRESHOLD_PERCENT = 80;
    /** ...counting this much more as used (SZ_2M in should_alloc_chunk). */
    static final long ALLOC_SLACK_BYTES = 2L << 20;
    /**
     * A reservation that fails retries after one new chunk this many times: a chunk smaller than
     * the request (device nearly full) may need a second; more than that means the request does
     * not fit any chunk we can make.
     */
    static final int MAX_CHUNKS_PER_RESERVATION = 3;

    /** A chunk made in phase 1 whose items are not in the trees yet. */
    record PendingChunk(long logical, ChunkItem item) {
    }

    private final BlockGroups groups;
    private final ChunkMap chunkMap;
    private final DevItem devItemAtOpen;
    private final byte[] chunkTreeUuid;
    private final int sectorsize;
    private final int nodesize;
    /** chunk_mutex; see the class comment for what it guards and its rank. */
    private final ReentrantLock chunkMutex = new ReentrantLock();
    private final DevExtents devExtents;
    private final List<PendingChunk> pending = new ArrayList<>();
    private byte[] sysChunkArray;
    /** Bytes of the pending SYSTEM chunks' sys_chunk_array entries, counted against the 2048-byte limit. */
    private int pendingSysArrayBytes;
    /** bytes_used of the DEV_ITEM as the trees hold it (dev extents inserted so far). */
    private long devBytesInTrees;
    /** Set once no hole of the minimum size is left; we never remove chunks, so it stays set. */
    private volatile boolean deviceFull;

    /** Whether the device has no room left for another chunk. */
    public boolean deviceFull() {
        return deviceFull;
    }

    /** Told of every new block group, right after it joined the block groups (the space accounting). */
    private volatile java.util.function.Consumer<BlockGroup> onNewGroup = bg -> { };

    public void setNewGroupListener(java.util.function.Consumer<BlockGroup> listener) {
        this.onNewGroup = listener;
    }

    public ChunkAllocator(BlockGroups groups, ChunkMap chunkMap, DevExtents devExtents, Superblock sb, byte[] chunkTreeUuid) {
        this.groups = groups;
        this.chunkMap = chunkMap;
        this.devExtents = devExtents;
        this.devItemAtOpen = sb.devItem();
        this.chunkTreeUuid = chunkTreeUuid.clone();
        this.sectorsize = (int) sb.sectorsize();
        this.nodesize = (int) sb.nodesize();
        this.sysChunkArray = sb.sysChunkArray();
        this.devBytesInTrees = devExtents.allocatedBytes();
        assert devExtents.totalBytes() == devItemAtOpen.totalBytes() : "device size " + devExtents.totalBytes();
    }

    /**
     * find_free_extent with chunk allocation: reserves {@code numBytes} of {@code type}; when no
     * block group has room, allocates a chunk of that type and retries. For METADATA, afterwards
     * allocates a chunk early when the type is nearly full. ENOSPC when the device is full.
     */
    public long reserve(long type, long numBytes, long hint) throws IOException {
        for (int chunks = 0; ; chunks++) {
            try {
                long at = groups.reserve(type, numBytes, hint);
                if (type == BlockGroupItem.METADATA) {
                    maybeAllocChunk(type);
                }
                return at;
            } catch (FsException e) {
                if (e.errno() != Errno.ENOSPC) {
                    throw e;
                }
                if (chunks == MAX_CHUNKS_PER_RESERVATION) {
                    throw new FsException(Errno.ENOSPC, "no room for " + numBytes + " bytes of "
                            + BlockGroupItem.flagsString(type) + " after allocating " + chunks + " chunks");
                }
                allocChunk(type);
            }
        }
    }

    /** should_alloc_chunk() for CHUNK_ALLOC_NO_FORCE: used + reserved + pinned + super + 2 MiB at or over 80%. */
    public boolean shouldAllocChunk(long type) {
        BlockGroups.SpaceSummary s = groups.summary(type);
        return s.usedForChunkDecision() + ALLOC_SLACK_BYTES >= s.totalBytes() / 100 * ALLOC_THRESHOLD_PERCENT;
    }

    /** Allocates a chunk of {@code type} when {@link #shouldAllocChunk}; a full device is not an error here. */
    public void maybeAllocChunk(long type) throws IOException {
        if (deviceFull || chunkMutex.isHeldByCurrentThread() || !shouldAllocChunk(type)) {
            return;
        }
        try {
            allocChunk(type);
        } catch (FsException e) {
            if (e.errno() != Errno.ENOSPC) {
                throw e;
            }
            // Like btrfs_chunk_alloc with NO_FORCE: not getting an early chunk is fine; the
            // reservation that finds no room reports ENOSPC.
        }
    }

    /**
     * Phase 1 (btrfs_chunk_alloc with CHUNK_ALLOC_FORCE): makes a chunk of {@code type} (DATA,
     * METADATA or SYSTEM) and its block group, in memory, usable at once. ENOSPC, with nothing
     * changed for this type, when the device has no room for it or for the SYSTEM/METADATA space
     * its items will need.
     */
    public BlockGroup allocChunk(long type) throws IOException {
        assert type == BlockGroupItem.DATA || type == BlockGroupItem.METADATA || type == BlockGroupItem.SYSTEM : type;
        chunkMutex.lock();
        try {
            if (type != BlockGroupItem.SYSTEM) {
                checkSystemChunk();
            }
            if (type != BlockGroupItem.METADATA) {
                ensureRoom(BlockGroupItem.METADATA, (long) METADATA_NODES_PER_CHUNK * nodesize * (pending.size() + 1));
            }
            return createChunk(type);
        } finally {
            chunkMutex.unlock();
        }
    }

    /** check_system_chunk(): SYSTEM room for the chunk tree edits of every pending chunk and one more. */
    private void checkSystemChunk() throws IOException {
        ensureRoom(BlockGroupItem.SYSTEM, (long) SYSTEM_NODES_PER_CHUNK * nodesize * (pending.size() + 1));
    }

    /** Makes a chunk of {@code type} first when its groups have fewer than {@code bytes} allocatable. */
    private void ensureRoom(long type, long bytes) throws IOException {
        assert chunkMutex.isHeldByCurrentThread();
        if (groups.summary(type).allocatableBytes() >= bytes) {
            return;
        }
        try {
            if (type == BlockGroupItem.METADATA) {
                checkSystemChunk();
            }
            createChunk(type);
        } catch (FsException e) {
            throw new FsException(Errno.ENOSPC, "cannot allocate a chunk: " + BlockGroupItem.flagsString(type)
                    + " space for the chunk's own tree items is short and " + e.getMessage());
        }
    }

    /** btrfs_create_chunk() for one device: decide, map, record the device extents, add the group. */
    private BlockGroup createChunk(long type) throws IOException {
        assert chunkMutex.isHeldByCurrentThread();
        long profile = profileFor(type);
        ChunkSizing.Plan plan;
        try {
            plan = ChunkSizing.plan(type, profile, devExtents);
        } catch (FsException e) {
            deviceFull = true;
            throw e;
        }
        List<ChunkItem.Stripe> stripes = new ArrayList<>();
        for (long off : plan.stripeOffsets()) {
            stripes.add(new ChunkItem.Stripe(devItemAtOpen.devid(), off, devItemAtOpen.uuid()));
        }
        ChunkItem item = new ChunkItem(plan.chunkSize(), ObjectIds.EXTENT_TREE, ChunkSizing.STRIPE_LEN, plan.flags(),
                ChunkSizing.STRIPE_LEN, ChunkSizing.STRIPE_LEN, sectorsize, 1, List.copyOf(stripes));
        int arrayBytes = DiskKey.SIZE + ChunkItem.sizeFor(stripes.size());
        if (type == BlockGroupItem.SYSTEM
                && sysChunkArray.length + pendingSysArrayBytes + arrayBytes > Superblock.SYS_CHUNK_ARRAY_MAX) {
            throw new FsException(Errno.ENOSPC, "cannot allocate a SYSTEM chunk: the superblock's sys_chunk_array holds "
                    + (sysChunkArray.length + pendingSysArrayBytes) + " of " + Superblock.SYS_CHUNK_ARRAY_MAX
                    + " bytes and the chunk needs " + arrayBytes);
        }
        long logical = findNextChunk();
        chunkMap.add(logical, item);
        for (long off : plan.stripeOffsets()) {
            devExtents.add(off, plan.stripeSize());
        }
        BlockGroup bg = BlockGroup.forNewChunk(logical, plan.chunkSize(), plan.flags());
        bg.excludeSuperStripes(BlockGroups.superStripes(logical, plan.chunkSize(), stripes));
        groups.add(bg);
        onNewGroup.accept(bg);
        pending.add(new PendingChunk(logical, item));
        if (type == BlockGroupItem.SYSTEM) {
            pendingSysArrayBytes += arrayBytes;
        }
        return bg;
    }

    /**
     * The profile of the existing block groups of {@code type} (an image made with -m single stays
     * single); for a type with none, mkfs.btrfs's defaults: DATA single, METADATA and SYSTEM DUP.
     */
    private long profileFor(long type) {
        long existing = groups.summary(type).profile();
        if (existing >= 0) {
            return existing;
        }
        return type == BlockGroupItem.DATA ? 0 : BlockGroupItem.DUP;
    }

    /** find_next_chunk(): the end of the highest chunk mapped (chunk lengths keep it 64 KiB aligned). */
    private long findNextChunk() {
        long next = 0;
        for (ChunkMap.Mapping m : chunkMap.mappings()) {
            if (Long.compareUnsigned(m.end(), next) > 0) {
                next = m.end();
            }
        }
        assert next % ChunkSizing.STRIPE_LEN == 0 : "chunk end " + Le.u64s(next) + " not stripe aligned";
        return next;
    }

    /** Whether chunks made in phase 1 still wait for their items. */
    public boolean hasPending() {
        chunkMutex.lock();
        try {
            return !pending.isEmpty();
        } finally {
            chunkMutex.unlock();
        }
    }

    /**
     * Phase 2 (btrfs_create_pending_block_groups, btrfs_chunk_alloc_add_chunk_item): inserts the
     * DEV_EXTENTs, CHUNK_ITEM and DEV_ITEM bytes_used of every pending chunk. Runs in the commit's
     * tree phase with no tree lock held; tree edits may allocate blocks and so new chunks, which
     * stay pending for the next round. Returns how many chunks were inserted.
     */
    public int insertPendingChunks(long transid, CowBTree cow, CowRoot chunkRoot, CowRoot devRoot) throws IOException {
        assert !chunkMutex.isHeldByCurrentThread() && !chunkRoot.lock.isWriteLockedByCurrentThread()
                && !devRoot.lock.isWriteLockedByCurrentThread() : "phase 2 runs with no tree lock held";
        List<PendingChunk> todo;
        chunkMutex.lock();
        try {
            todo = List.copyOf(pending);
        } finally {
            chunkMutex.unlock();
        }
        for (PendingChunk p : todo) {
            insertDevExtents(transid, cow, devRoot, p);
            insertChunkItem(transid, cow, chunkRoot, p);
            chunkMutex.lock();
            try {
                pending.remove(p);
                devBytesInTrees += p.item().length() * p.item().stripes().size();
                if ((p.item().type() & BlockGroupItem.SYSTEM) != 0) {
                    appendToSysChunkArray(p);
                }
            } finally {
                chunkMutex.unlock();
            }
        }
        if (!todo.isEmpty()) {
            updateDevItem(transid, cow, chunkRoot);
        }
        return todo.size();
    }

    private void insertDevExtents(long transid, CowBTree cow, CowRoot devRoot, PendingChunk p) throws IOException {
        byte[] de = new DevExtent(ObjectIds.CHUNK_TREE, ObjectIds.FIRST_CHUNK_TREE, p.logical(), p.item().length(),
                chunkTreeUuid).encode();
        devRoot.lock.writeLock().lock();
        try {
            for (ChunkItem.Stripe s : p.item().stripes()) {
                DiskKey key = new DiskKey(s.devid(), ItemType.DEV_EXTENT, s.offset());
                if (!cow.insertItem(transid, devRoot, key, de)) {
                    throw new CorruptImageException("dev tree already holds " + key + " for new chunk " + Le.u64s(p.logical()));
                }
            }
        } finally {
            devRoot.lock.writeLock().unlock();
        }
    }

    private void insertChunkItem(long transid, CowBTree cow, CowRoot chunkRoot, PendingChunk p) throws IOException {
        DiskKey key = ChunkMap.chunkKey(p.logical());
        chunkRoot.lock.writeLock().lock();
        try {
            if (!cow.insertItem(transid, chunkRoot, key, p.item().encode())) {
                throw new CorruptImageException("chunk tree already holds " + key);
            }
        } finally {
            chunkRoot.lock.writeLock().unlock();
        }
    }

    /** btrfs_add_system_chunk(): (key, chunk) appended; the room was checked in phase 1. */
    private void appendToSysChunkArray(PendingChunk p) {
        assert chunkMutex.isHeldByCurrentThread();
        byte[] chunk = p.item().encode();
        byte[] next = new byte[sysChunkArray.length + DiskKey.SIZE + chunk.length];
        System.arraycopy(sysChunkArray, 0, next, 0, sysChunkArray.length);
        ChunkMap.chunkKey(p.logical()).write(next, sysChunkArray.length);
        System.arraycopy(chunk, 0, next, sysChunkArray.length + DiskKey.SIZE, chunk.length);
        pendingSysArrayBytes -= DiskKey.SIZE + chunk.length;
        assert pendingSysArrayBytes >= 0 && next.length <= Superblock.SYS_CHUNK_ARRAY_MAX : next.length;
        sysChunkArray = next;
    }

    /** The DEV_ITEM in the chunk tree gets the new bytes_used (btrfs_update_device). */
    private void updateDevItem(long transid, CowBTree cow, CowRoot chunkRoot) throws IOException {
        DevItem now = devItem();
        DiskKey key = new DiskKey(ObjectIds.DEV_ITEMS, ItemType.DEV_ITEM, now.devid());
        chunkRoot.lock.writeLock().lock();
        try (Path path = new Path()) {
            if (!cow.searchForWrite(transid, chunkRoot, key, path, 0, 0)) {
                throw new CorruptImageException("chunk tree has no " + key);
            }
            int size = path.leaf().itemSize(path.slot());
            if (size != DevItem.SIZE) {
                throw new CorruptImageException("DEV_ITEM " + key + " has size " + size + ", expect " + DevItem.SIZE);
            }
            int off = path.leaf().itemDataOffset(path.slot());
            DevItem old = DevItem.read(path.leaf().data(), off);
            if (old.devid() != now.devid() || !java.util.Arrays.equals(old.uuid(), now.uuid())) {
                throw new CorruptImageException("DEV_ITEM " + key + " does not describe the superblock's device");
            }
            withBytesUsed(old, now.bytesUsed()).write(path.leaf().data(), off);
        } finally {
            chunkRoot.lock.writeLock().unlock();
        }
    }

    /** The superblock's dev_item as the trees now hold it. */
    public DevItem devItem() {
        chunkMutex.lock();
        try {
            return withBytesUsed(devItemAtOpen, devBytesInTrees);
        } finally {
            chunkMutex.unlock();
        }
    }

    private static DevItem withBytesUsed(DevItem d, long bytesUsed) {
        return new DevItem(d.devid(), d.totalBytes(), bytesUsed, d.ioAlign(), d.ioWidth(), d.sectorSize(), d.type(),
                d.generation(), d.startOffset(), d.devGroup(), d.seekSpeed(), d.bandwidth(), d.uuid(), d.fsid());
    }

    /**
     * Fills what chunk allocation changes into the next superblock: the dev_item's bytes_used and
     * the sys_chunk_array, both as of the chunks inserted so far. Called after the tree phase.
     */
    public void applyToSuperblock(Superblock next) {
        chunkMutex.lock();
        try {
            assert pending.isEmpty() : "superblock written with " + pending.size() + " chunks not inserted";
            next.setDevItem(withBytesUsed(devItemAtOpen, devBytesInTrees));
            next.setSysChunkArray(sysChunkArray.clone());
        } finally {
            chunkMutex.unlock();
        }
    }

    /** Device bytes not in any chunk (for statfs-like reports and tests). */
    public long unallocatedBytes() {
        chunkMutex.lock();
        try {
            return devExtents.totalBytes() - devExtents.allocatedBytes();
        } finally {
            chunkMutex.unlock();
        }
    }

    /** Chunks made in phase 1 and not yet inserted (for tests). */
    /** Chunks of removed (empty) block groups whose items the next commit deletes. */
    private final List<ChunkMap.Mapping> removing = new ArrayList<>();
    /** Chunks whose items this commit deleted: their ranges become free once it is on disk. */
    private final List<ChunkMap.Mapping> removedThisCommit = new ArrayList<>();

    /** Whether the chunk at {@code logical} was made in this transaction and has no items yet. */
    public boolean isPending(long logical) {
        chunkMutex.lock();
        try {
            for (PendingChunk p : pending) {
                if (p.logical() == logical) {
                    return true;
                }
            }
            return false;
        } finally {
            chunkMutex.unlock();
        }
    }

    /**
     * btrfs_remove_chunk, phase 1: the chunk of an empty block group already taken out of
     * allocation ({@code BlockGroups.removeIfUnused}) is queued; {@link #deleteRemovedChunks} deletes
     * its items in the commit, and its device and logical ranges are free only after that commit
     * ({@link #afterCommit}), so nothing new lands there before the removal is on disk.
     */
    public void removeChunk(BlockGroup bg) {
        chunkMutex.lock();
        try {
            ChunkMap.Mapping m = chunkMap.find(bg.start());
            if (m == null || m.logical() != bg.start()) {
                throw new IllegalArgumentException("cannot remove the chunk of " + bg);
            }
            removing.add(m);
        } finally {
            chunkMutex.unlock();
        }
    }

    /** Phase 2 of chunk removal, in the commit's tree phase: DEV_EXTENTs, CHUNK_ITEM, DEV_ITEM. */
    public int deleteRemovedChunks(long transid, CowBTree cow, CowRoot chunkRoot, CowRoot devRoot) throws IOException {
        List<ChunkMap.Mapping> todo;
        chunkMutex.lock();
        try {
            todo = List.copyOf(removing);
        } finally {
            chunkMutex.unlock();
        }
        for (ChunkMap.Mapping m : todo) {
            devRoot.lock.writeLock().lock();
            try {
                for (ChunkItem.Stripe st : m.stripes()) {
                    DiskKey key = new DiskKey(st.devid(), ItemType.DEV_EXTENT, st.offset());
                    if (!cow.deleteItem(transid, devRoot, key)) {
                        throw new CorruptImageException("dev tree lacks " + key + " of removed chunk " + Le.u64s(m.logical()));
                    }
                }
            } finally {
                devRoot.lock.writeLock().unlock();
            }
            chunkRoot.lock.writeLock().lock();
            try {
                DiskKey key = ChunkMap.chunkKey(m.logical());
                if (!cow.deleteItem(transid, chunkRoot, key)) {
                    throw new CorruptImageException("chunk tree lacks " + key + " of a removed chunk");
                }
            } finally {
                chunkRoot.lock.writeLock().unlock();
            }
            chunkMutex.lock();
            try {
                if ((m.type() & BlockGroupItem.SYSTEM) != 0) {
                    // btrfs_del_sys_chunk: the superblock of this commit no longer bootstraps it.
                    sysChunkArray = withoutSysChunk(sysChunkArray, m.logical());
                }
                removing.remove(m);
                removedThisCommit.add(m);
                devBytesInTrees -= m.length() * m.stripes().size();
            } finally {
                chunkMutex.unlock();
            }
        }
        if (!todo.isEmpty()) {
            updateDevItem(transid, cow, chunkRoot);
        }
        return todo.size();
    }

    /**
     * The sys_chunk_array without the entry of the chunk at {@code logical}. The array is a run of
     * (struct btrfs_disk_key, struct btrfs_chunk with its stripes) pairs; the key is
     * (FIRST_CHUNK_TREE_OBJECTID, CHUNK_ITEM, logical). IllegalStateException when it has no such entry.
     */
    static byte[] withoutSysChunk(byte[] array, long logical) {
        int off = 0;
        while (off < array.length) {
            DiskKey key = DiskKey.read(array, off);
            int size = DiskKey.SIZE + ChunkItem.sizeFor(ChunkItem.numStripesAt(array, off + DiskKey.SIZE));
            if (off + size > array.length) {
                throw new IllegalStateException("sys_chunk_array entry at " + off + " runs past its end");
            }
            if (key.equals(ChunkMap.chunkKey(logical))) {
                byte[] out = new byte[array.length - size];
                System.arraycopy(array, 0, out, 0, off);
                System.arraycopy(array, off + size, out, off, array.length - off - size);
                return out;
            }
            off += size;
        }
        throw new IllegalStateException("sys_chunk_array has no chunk at " + Le.u64s(logical));
    }

    /** Chunk removals waiting for the commit. */
    public boolean hasRemovals() {
        chunkMutex.lock();
        try {
            return !removing.isEmpty();
        } finally {
            chunkMutex.unlock();
        }
    }

    /** After a commit is on disk: removed chunks' logical and device ranges are free again. */
    public void afterCommit() {
        chunkMutex.lock();
        try {
            for (ChunkMap.Mapping m : removedThisCommit) {
                chunkMap.remove(m.logical());
                for (ChunkItem.Stripe st : m.stripes()) {
                    devExtents.remove(st.offset(), m.length());
                }
            }
            removedThisCommit.clear();
        } finally {
            chunkMutex.unlock();
        }
    }

    public int pendingCount() {
        chunkMutex.lock();
        try {
            return pending.size();
        } finally {
            chunkMutex.unlock();
        }
    }
}
