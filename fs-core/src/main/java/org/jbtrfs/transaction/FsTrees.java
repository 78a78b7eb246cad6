package org.jbtrfs.transaction;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.jbtrfs.CorruptImageException;
import org.jbtrfs.ctree.BTree;
import org.jbtrfs.ctree.CowBTree;
import org.jbtrfs.ctree.CowRoot;
import org.jbtrfs.ctree.ExtentBuffer;
import org.jbtrfs.ctree.Item;
import org.jbtrfs.ctree.Path;
import org.jbtrfs.ctree.TreeBlockReader;
import org.jbtrfs.ctree.TreeBlockWriter;
import org.jbtrfs.ctree.TreeRoot;
import org.jbtrfs.ctree.TreeRoots;
import org.jbtrfs.ctree.TreeReads;
import java.util.concurrent.locks.Lock;
import org.jbtrfs.disk.FsInfo;
import org.jbtrfs.disk.SuperblockWriter;
import org.jbtrfs.extent.BlockGroup;
import org.jbtrfs.extent.BlockGroupWriter;
import org.jbtrfs.extent.BlockGroups;
import org.jbtrfs.extent.ChunkAllocator;
import org.jbtrfs.extent.CsumItems;
import org.jbtrfs.extent.DevExtents;
import org.jbtrfs.extent.DelayedRefObserver;
import org.jbtrfs.extent.DelayedRefs;
import org.jbtrfs.extent.ExtentRefsRunner;
import org.jbtrfs.extent.ExtentTreeBlockAllocator;
import org.jbtrfs.format.BlockGroupItem;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.Features;
import org.jbtrfs.format.Header;
import org.jbtrfs.format.ItemType;
import org.jbtrfs.format.Le;
import org.jbtrfs.format.ObjectIds;
import org.jbtrfs.format.RootBackup;
import org.jbtrfs.format.RootItem;
import org.jbtrfs.format.Superblock;

/**
 * The trees of a writable filesystem and what a commit does with them (commit_cowonly_roots,
 * commit_fs_roots, btrfs_write_and_wait_transaction, write_all_supers in transaction.c and
 * disk-io.c).
 *
 * <h2>The tree phase of a commit</h2>
 * Changing one tree changes others: COW queues delayed refs; running them changes the extent tree
 * and block group usage; writing block groups changes the free space tree and block group items;
 * every tree whose root block moved needs its ROOT_ITEM rewritten in the root tree, whose COW
 * queues more refs. {@link #commitTrees} repeats "run refs, write dirty block groups, update root
 * items" until a round changes nothing — blocks COWed once in a transaction are changed in place
 * after that, so this settles in a few rounds ({@link #MAX_COMMIT_ROUNDS} is the bound). Then every
 * dirty block is written. The superblock (root tree, chunk tree, bytes_used) follows in
 * {@link #writeSuperblocks}.
 *
 * <h2>Chunks</h2>
 * Space comes from {@link #reserveExtent} (and, for tree blocks, the same path through the
 * allocator): a full type gets a new chunk at once in memory ({@link ChunkAllocator}, phase 1);
 * each round of the tree phase first inserts the items of chunks made so far (phase 2: CHUNK_ITEM,
 * DEV_EXTENTs, DEV_ITEM), and the superblock carries the new dev_item and sys_chunk_array.
 */
public final class FsTrees implements TransactionManager.CommitWork, TreeRoots {
    /** Rounds of the tree phase before we call it a bug: each round after the first only edits in place. */
    static final int MAX_COMMIT_ROUNDS = 32;

    private final FsInfo fs;
    private final BlockGroups groups;
    private final CowBTree cow;
    private final ExtentTreeBlockAllocator alloc;
    private final ChunkAllocator chunks;
    private final ExtentRefsRunner runner;
    private final CsumItems csums;
    private final BlockGroupWriter bgWriter;
    private final TreeBlockWriter blockWriter;
    private final Map<Long, DelayedRefs> refs = new ConcurrentHashMap<>();
    private final Map<Long, CowRoot> roots = new ConcurrentHashMap<>();
    /** last_snapshot of each subvolume tree opened for writing (the ROOT_ITEM's); snapshots are made by the kernel only. */
    private final Map<Long, Long> lastSnapshots = new ConcurrentHashMap<>();
    private final CowRoot rootTree;
    private final CowRoot chunkTree;
    private final TransactionManager transactions;
    private final SpaceAccounting space;
    private final TreeReads reads;
    private volatile Superblock superblock;

    /**
     * Opens the trees of {@code fs}; or, when {@code newChunkTreeUuid} is given (mkfs), makes the
     * root tree and the chunk tree new empty leaves of the first transaction instead of reading them.
     */
    private FsTrees(FsInfo fs, BlockGroups groups, DevExtents devExtents, byte[] newChunkTreeUuid) throws IOException {
        this.fs = fs;
        this.groups = groups;
        TreeBlockReader reader = fs.btree().reader();
        ExtentBuffer rootNode = newChunkTreeUuid == null ? fs.btree().readRoot(fs.rootTree()) : null;
        byte[] chunkUuid = newChunkTreeUuid != null ? newChunkTreeUuid : Header.chunkTreeUuid(rootNode.data());
        this.chunks = new ChunkAllocator(groups, fs.chunkMap(), devExtents, fs.superblock(), chunkUuid);
        this.alloc = new ExtentTreeBlockAllocator(groups, reader.cache(), fs.nodesize(), fs.superblock().headerFsid(),
                chunkUuid, this::refs, chunks::reserve);
        this.cow = new CowBTree(fs.btree(), alloc);
        this.space = new SpaceAccounting(new org.jbtrfs.space.SpaceInfos(fs.nodesize(), fs.sectorsize(),
                profileOf(groups, BlockGroupItem.DATA), profileOf(groups, BlockGroupItem.METADATA),
                profileOf(groups, BlockGroupItem.SYSTEM),
                (fs.superblock().compatRoFlags() & Features.COMPAT_RO_FREE_SPACE_TREE) != 0, this::unallocatedBytes),
                groups);
        alloc.setSpace(space);
        chunks.setNewGroupListener(space::addBlockGroup);
        this.csums = new CsumItems(cow, fs.csumType(), fs.sectorsize(), fs.nodesize());
        this.runner = new ExtentRefsRunner(cow, space, DelayedRefObserver.NONE, this::dataExtentFreed);
        this.bgWriter = new BlockGroupWriter(cow);
        this.blockWriter = new TreeBlockWriter(fs.device(), fs.chunkMap(), fs.csumType(), fs.sectorsize());
        if (newChunkTreeUuid == null) {
            this.rootTree = new CowRoot(ObjectIds.ROOT_TREE, rootNode, fs.rootTree());
            this.chunkTree = new CowRoot(ObjectIds.CHUNK_TREE, fs.btree().readRoot(fs.chunkTree()), fs.chunkTree());
        } else {
            long first = fs.superblock().generation() + 1;
            this.rootTree = new CowRoot(ObjectIds.ROOT_TREE, alloc.allocTreeBlock(first, ObjectIds.ROOT_TREE, 0, null, 0), null);
            this.chunkTree = new CowRoot(ObjectIds.CHUNK_TREE, alloc.allocTreeBlock(first, ObjectIds.CHUNK_TREE, 0, null, 0),
                    null);
        }
        this.superblock = fs.superblock();
        this.reads = new TreeReads(fs.btree(), this);
        alloc.setSharing(key -> reads.lookup(ObjectIds.EXTENT_TREE, key),
                id -> lastSnapshots.getOrDefault(id, -1L));
        this.transactions = new TransactionManager(this, fs.superblock().generation());
    }

    /** Prepares an opened image for writing: loads block groups and the tree roots it needs. */
    public static FsTrees open(FsInfo fs) throws IOException {
        if (fs.device().isReadOnly()) {
            throw new IllegalStateException("the device is open read-only");
        }
        boolean bgTree = (fs.superblock().compatRoFlags() & Features.COMPAT_RO_BLOCK_GROUP_TREE) != 0;
        TreeRoot extent = fs.requireTreeRoot(ObjectIds.EXTENT_TREE);
        TreeRoot bgRoot = bgTree ? fs.requireTreeRoot(ObjectIds.BLOCK_GROUP_TREE) : extent;
        TreeRoot fst = (fs.superblock().compatRoFlags() & Features.COMPAT_RO_FREE_SPACE_TREE) != 0
                ? fs.requireTreeRoot(ObjectIds.FREE_SPACE_TREE) : null;
        BlockGroups groups = BlockGroups.load(fs.btree(), fs.chunkMap(), bgRoot, extent, fst, fs.sectorsize(), fs.nodesize());
        DevExtents devExtents = DevExtents.load(fs.btree(), fs.requireTreeRoot(ObjectIds.DEV_TREE),
                fs.superblock().devItem().devid(), fs.superblock().devItem().totalBytes());
        return new FsTrees(fs, groups, devExtents, null);
    }

    /**
     * The one way the engine gets space (find_free_extent + btrfs_chunk_alloc): reserves
     * {@code numBytes} of {@code type} (BlockGroupItem.DATA, METADATA or SYSTEM) at or after
     * {@code hint} in transaction {@code transid}; when the block groups of that type are full, a
     * chunk is allocated (in memory now, its items at commit) and the reservation retried. The
     * range is reserved: the caller either queues the delayed ref that inserts its extent item, or
     * gives it back with {@code blockGroups().unreserve}. FsException ENOSPC when the device is full.
     */
    public long reserveExtent(long transid, long type, long numBytes, long hint) throws IOException {
        assert transid > 0 && numBytes > 0 : "transid " + transid + " bytes " + numBytes;
        long at = chunks.reserve(type, numBytes, hint);
        if (type == BlockGroupItem.DATA) {
            try {
                space.dataExtentReserved(numBytes);
            } catch (IOException | RuntimeException e) {
                groups.unreserve(at, numBytes);
                throw e;
            }
        }
        return at;
    }

    /**
     * A data extent of {@code numBytes}, or, when no contiguous room is left even after a chunk
     * allocation, the largest one the free space allows down to {@code minBytes}
     * (btrfs_reserve_extent halving its request). Returns {bytenr, length}; ENOSPC below minBytes.
     */
    public long[] reserveDataExtent(long transid, long numBytes, long minBytes, long hint) throws IOException {
        long want = numBytes;
        while (true) {
            try {
                return new long[] {reserveExtent(transid, BlockGroupItem.DATA, want, hint), want};
            } catch (org.jbtrfs.FsException e) {
                if (e.errno() != org.jbtrfs.Errno.ENOSPC || want <= minBytes) {
                    throw e;
                }
                want = Math.max(minBytes, want / 2 / minBytes * minBytes);
            }
        }
    }

    /** Gives back a data extent from {@link #reserveExtent} that will not be used (no ref was queued for it). */
    public void unreserveExtent(long bytenr, long numBytes) {
        groups.unreserve(bytenr, numBytes);
        BlockGroup bg = groups.find(bytenr);
        if (bg != null && bg.isData()) {
            space.dataExtentUnreserved(numBytes);
        }
    }

    /** Chunk allocation (phase 1 on demand, phase 2 in {@link #commitTrees}). */
    public ChunkAllocator chunkAllocator() {
        return chunks;
    }

    /**
     * A new filesystem (mkfs): {@code fs} comes from {@link FsInfo#forNewFilesystem} and
     * {@code groups} holds an empty block group per chunk ({@link BlockGroups#makeBlockGroup}). The
     * root tree and the chunk tree are new empty leaves of the first transaction (generation 1,
     * the one {@link TransactionManager#start()} opens next); the caller starts it, fills the
     * chunk tree, adds the other trees with {@link #createTree} and commits. Extent items, block
     * group items, the free space tree and the superblock then come from the ordinary commit.
     */
    public static FsTrees create(FsInfo fs, BlockGroups groups, byte[] chunkTreeUuid) throws IOException {
        if (fs.device().isReadOnly()) {
            throw new IllegalStateException("the device is open read-only");
        }
        if (fs.superblock().generation() != 0 || chunkTreeUuid.length != 16) {
            throw new IllegalArgumentException("create() makes a new filesystem from a generation 0 template");
        }
        // The device extents are the stripes of the chunks mkfs laid out.
        DevExtents devExtents = new DevExtents(fs.superblock().devItem().totalBytes());
        for (org.jbtrfs.device.ChunkMap.Mapping m : fs.chunkMap().mappings()) {
            for (org.jbtrfs.format.ChunkItem.Stripe st : m.stripes()) {
                devExtents.add(st.offset(), m.length());
            }
        }
        return new FsTrees(fs, groups, devExtents, chunkTreeUuid.clone());
    }

    /**
     * btrfs_create_tree(): a new empty tree {@code id}, one leaf, with its ROOT_ITEM
     * {@code (id ROOT_ITEM 0)} in the root tree. {@code item} gives every field but the root block
     * (bytenr, level, generation), which come from the new leaf. Returns the tree's writable root.
     */
    public CowRoot createTree(long transid, long id, RootItem item) throws IOException {
        if (id == ObjectIds.ROOT_TREE || id == ObjectIds.CHUNK_TREE || roots.containsKey(id)) {
            throw new IllegalArgumentException("tree " + Le.u64s(id) + " already exists");
        }
        ExtentBuffer leaf = alloc.allocTreeBlock(transid, id, 0, null, 0);
        RootItem ri = new RootItem(item.inode(), transid, item.rootDirid(), leaf.bytenr(), item.byteLimit(),
                item.bytesUsed(), item.lastSnapshot(), item.flags(), item.refs(), item.dropProgress(), item.dropLevel(), 0,
                transid, item.uuid(), item.parentUuid(), item.receivedUuid(), item.ctransid(), item.otransid(),
                item.stransid(), item.rtransid(), item.ctime(), item.otime(), item.stime(), item.rtime());
        rootTree.lock.writeLock().lock();
        try {
            if (!cow.insertItem(transid, rootTree, new DiskKey(id, ItemType.ROOT_ITEM, 0), ri.encode())) {
                throw new IllegalStateException("tree " + Le.u64s(id) + " already has a ROOT_ITEM");
            }
        } finally {
            rootTree.lock.writeLock().unlock();
        }
        CowRoot r = new CowRoot(id, leaf, null);
        lastSnapshots.put(id, 0L); // never snapshotted: nothing in it is shared
        roots.put(id, r);
        return r;
    }

    public TransactionManager transactions() {
        return transactions;
    }

    public CowBTree cow() {
        return cow;
    }

    public BTree reader() {
        return fs.btree();
    }

    /** The csum tree's items (insert and delete data checksums; callers lock the csum root). */
    public CsumItems csums() {
        return csums;
    }

    /**
     * The extent-freed hook of the refs runner: the checksums of a data extent go with its last
     * reference (__btrfs_free_extent → btrfs_del_csums). Runs with the extent root locked; the csum
     * root lock ranks below it, and no one takes them the other way round.
     */
    private void dataExtentFreed(long transid, long bytenr, long numBytes) throws IOException {
        CowRoot csumRoot = root(ObjectIds.CSUM_TREE);
        assert !csumRoot.lock.isWriteLockedByCurrentThread() : "refs run while the csum root is locked";
        csumRoot.lock.writeLock().lock();
        try {
            csums.delete(transid, csumRoot, bytenr, numBytes);
        } finally {
            csumRoot.lock.writeLock().unlock();
        }
    }

    public BlockGroups blockGroups() {
        return groups;
    }

    public FsInfo fsInfo() {
        return fs;
    }

    public Superblock superblock() {
        return superblock;
    }

    /** Block groups taken out by {@link #deleteUnusedBlockGroups}, whose items the commit deletes. */
    private final List<BlockGroup> removedGroups = new ArrayList<>();

    /**
     * btrfs_delete_unused_bgs (the cleaner's): every block group with nothing used, reserved or
     * pinned — except the last one of its type, one made in this transaction,
     * and one whose space the space_info still needs for its reservations — leaves allocation now;
     * the commit deletes its BLOCK_GROUP_ITEM, free space entries, CHUNK_ITEM and DEV_EXTENTs (and a
     * SYSTEM chunk's sys_chunk_array entry), and
     * after that commit its device range is free for new chunks. Returns how many went.
     */
    public int deleteUnusedBlockGroups(TransHandle h) throws IOException {
        int removed = 0;
        for (BlockGroup bg : unusedBlockGroups()) {
            if (!groups.removeIfUnused(bg)) {
                continue;
            }
            h.markChanged();
            space.removeBlockGroup(bg);
            chunks.removeChunk(bg);
            synchronized (removedGroups) {
                removedGroups.add(bg);
            }
            removed++;
        }
        return removed;
    }

    /** The groups {@link #deleteUnusedBlockGroups} would take now (cheap: no transaction, no tree access). */
    public List<BlockGroup> unusedBlockGroups() {
        List<BlockGroup> out = new ArrayList<>();
        java.util.Map<Long, Integer> perType = new java.util.HashMap<>();
        List<BlockGroup> all = new ArrayList<>(groups.all());
        for (BlockGroup bg : all) {
            perType.merge(bg.flags() & BlockGroupItem.TYPE_MASK, 1, Integer::sum);
        }
        for (BlockGroup bg : all) {
            long type = bg.flags() & BlockGroupItem.TYPE_MASK;
            // Empty means no block of the current chunk tree (used, or reserved before its ref ran)
            // nor of the committed one (pinned until the commit) lies in a SYSTEM group.
            if (bg.used() != 0 || bg.reserved() != 0 || bg.pinned() != 0 || bg.isReadOnly()
                    || chunks.isPending(bg.start()) || perType.get(type) <= 1 || !space.canRemove(bg)) {
                continue;
            }
            perType.merge(type, -1, Integer::sum); // always keep one of each type
            out.add(bg);
        }
        return out;
    }

    /** Delayed ref heads a transaction may queue before the writers run some of them (the kernel's throttle). */
    static final int DELAYED_REFS_THROTTLE_HEADS = 16384;

    /**
     * btrfs_run_delayed_refs() between commits: when the running transaction has queued many ref
     * heads, the writer that ends its change runs half of them, so the queue (and the commit's
     * work) stays bounded. The caller holds {@code h} and no tree lock.
     */
    public void throttleDelayedRefs(TransHandle h) throws IOException {
        DelayedRefs r = refs(h.transid());
        int heads = r.numHeads();
        if (heads > DELAYED_REFS_THROTTLE_HEADS) {
            h.markChanged();
            runner.run(h.transid(), root(ObjectIds.EXTENT_TREE), r, heads / 2);
        }
    }

    /** The space_info counters and reservations of this filesystem. */
    public SpaceAccounting space() {
        return space;
    }

    /** The profile bits of the block groups of {@code type} (0, SINGLE, when there are none). */
    private static long profileOf(BlockGroups groups, long type) {
        for (BlockGroup bg : groups.all()) {
            if ((bg.flags() & BlockGroupItem.TYPE_MASK) == type) {
                return bg.flags() & ~BlockGroupItem.TYPE_MASK;
            }
        }
        return 0;
    }

    /** Device bytes in no chunk yet (fs_info->free_chunk_space): what metadata may overcommit against. */
    private long unallocatedBytes() {
        return chunks.unallocatedBytes();
    }

    /**
     * Starts the space reclaimer with this filesystem's flush hooks and fills the global reserve:
     * from here on reservations may wait and flush. {@link #closeSpace} undoes it.
     */
    public void startSpace(org.jbtrfs.space.Flusher flusher) {
        space.spaces().blockRsvs().updateGlobalBlockRsv(SpaceAccounting.GLOBAL_MINIMUM);
        space.spaces().reclaimer().start(flusher);
    }

    /**
     * The flush hooks of this filesystem (flush_space's stages): delayed refs, delayed iputs (the
     * inodes whose last name and handle are gone: evicting them drops their extents) and committing
     * — which runs the refs and unpins what was freed — free space; chunk allocation adds it. There
     * is no delalloc.
     */
    public org.jbtrfs.space.Flusher flusher() {
        return new org.jbtrfs.space.Flusher() {
            @Override
            public void runDelayedItems(long items) {
            }

            @Override
            public void flushDelalloc(long bytes, boolean waitOrdered) {
            }

            @Override
            public void runDelayedRefs(long count) throws IOException {
                if (!transactions.busy()) {
                    return;
                }
                TransHandle h = transactions.join();
                try {
                    h.markChanged();
                    runner.run(h.transid(), root(ObjectIds.EXTENT_TREE), refs(h.transid()),
                            count == ALL ? ExtentRefsRunner.RUN_ALL : count);
                } catch (IOException | RuntimeException e) {
                    transactions.abort(h.transaction(), "running delayed refs to free space failed: " + e);
                    throw e;
                } finally {
                    transactions.end(h);
                }
            }

            @Override
            public void allocateChunk(org.jbtrfs.space.SpaceType type, boolean force) throws IOException {
                FsTrees.this.allocateChunkForSpace(type, force);
            }

            @Override
            public void runDelayedIputs() throws IOException {
                FsTrees.this.delayedIputs.run();
            }

            @Override
            public void commitTransaction() throws IOException {
                if (transactions.busy()) {
                    TransHandle h = transactions.start();
                    transactions.commit(h);
                }
            }

            @Override
            public boolean fsError() {
                return transactions.readOnlyReason() != null;
            }

            @Override
            public String toString() {
                return "flusher of " + fs.device();
            }
        };
    }

    /** The RUN_DELAYED_IPUTS stage's work, set by the filesystem that owns the delayed iputs. */
    @FunctionalInterface
    public interface DelayedIputs {
        void run() throws IOException;
    }

    private volatile DelayedIputs delayedIputs = () -> { };

    /** Sets what the reclaimer's RUN_DELAYED_IPUTS stage runs (the cleaner's queue, evicted without waiting on space). */
    public void setDelayedIputs(DelayedIputs d) {
        this.delayedIputs = d;
    }

    /** ALLOC_CHUNK for the reclaimer: a new block group of {@code type} when the device has room. */
    void allocateChunkForSpace(org.jbtrfs.space.SpaceType type, boolean force) throws IOException {
        long flags = switch (type) {
            case DATA -> BlockGroupItem.DATA;
            case METADATA -> BlockGroupItem.METADATA;
            case SYSTEM -> BlockGroupItem.SYSTEM;
        };
        try {
            if (force) {
                chunks.allocChunk(flags);
            } else {
                chunks.maybeAllocChunk(flags);
            }
        } catch (org.jbtrfs.FsException e) {
            if (e.errno() != org.jbtrfs.Errno.ENOSPC) {
                throw e;
            }
        }
        if (chunks.deviceFull()) {
            space.spaces().get(type).setFull(true);
        }
    }

    /** Stops the reclaimer, releases the global reserve; returns leak lines (empty when none leaked). */
    public List<String> closeSpace() {
        return space.closeAndCheckLeaks();
    }

    /** Bytes of dirty tree blocks waiting for a commit. */
    public long dirtyBytes() {
        return alloc.dirtyBytes();
    }

    /** The delayed refs of a transaction. */
    public DelayedRefs refs(long transid) {
        return refs.computeIfAbsent(transid, DelayedRefs::new);
    }

    /** The writable root of tree {@code id} (root tree and chunk tree included); CorruptImageException if it has none. */
    public CowRoot root(long id) throws IOException {
        CowRoot r = findRoot(id);
        if (r == null) {
            throw new CorruptImageException("tree " + Le.u64s(id) + " has no ROOT_ITEM in the root tree");
        }
        return r;
    }

    /** Like {@link #root} but null for a tree that does not exist. */
    private CowRoot findRoot(long id) throws IOException {
        if (id == ObjectIds.ROOT_TREE) {
            return rootTree;
        }
        if (id == ObjectIds.CHUNK_TREE) {
            return chunkTree;
        }
        CowRoot r = roots.get(id);
        if (r != null) {
            return r;
        }
        // The ROOT_ITEM of the current root tree (the one of the open may be gone after a commit),
        // looked up before taking the map's monitor so that no tree lock is ever taken inside it.
        RootItem ri = reads.rootItem(id);
        if (ri == null) {
            return null;
        }
        TreeRoot committed = new TreeRoot(id, ri.bytenr(), ri.level(), ri.generation());
        lastSnapshots.put(id, ri.lastSnapshot());
        synchronized (roots) {
            r = roots.get(id);
            if (r == null) {
                r = new CowRoot(id, fs.btree().readRoot(committed), committed);
                roots.put(id, r);
            }
        }
        return r;
    }

    /**
     * Forgets the writable root of a tree whose ROOT_ITEM was deleted (a dropped dead root), so the
     * commit does not look for its item. The tree must have no change of the running transaction.
     */
    public void forgetRoot(long id) {
        CowRoot r = roots.remove(id);
        assert r == null || r.commitRoot() == null || current(r).bytenr() == r.commitRoot().bytenr()
                : "forgetting tree " + id + " with uncommitted changes";
    }

    /** Searches of the current (uncommitted) trees, each under its tree's read lock. */
    public TreeReads reads() {
        return reads;
    }

    @Override
    public TreeRoot treeRoot(long id) throws IOException {
        CowRoot r = findRoot(id);
        return r == null ? null : current(r);
    }

    @Override
    public Lock readLock(long id) throws IOException {
        return root(id).lock.readLock();
    }

    private CowRoot bgRoot() throws IOException {
        boolean bgTree = (superblock.compatRoFlags() & Features.COMPAT_RO_BLOCK_GROUP_TREE) != 0;
        return root(bgTree ? ObjectIds.BLOCK_GROUP_TREE : ObjectIds.EXTENT_TREE);
    }

    @Override
    public void commitTrees(long transid) throws IOException {
        DelayedRefs r = refs(transid);
        CowRoot extent = root(ObjectIds.EXTENT_TREE);
        boolean fst = (superblock.compatRoFlags() & Features.COMPAT_RO_FREE_SPACE_TREE) != 0;
        for (int round = 0; ; round++) {
            if (round >= MAX_COMMIT_ROUNDS) {
                throw new IllegalStateException("commit of transaction " + transid + " did not settle in "
                        + MAX_COMMIT_ROUNDS + " rounds");
            }
            // Phase 2 of chunk allocation first: its items COW trees and queue refs for this round.
            int newChunks = chunks.insertPendingChunks(transid, cow, chunkTree, root(ObjectIds.DEV_TREE));
            // Removed (empty) block groups: their items, then their chunks' items.
            List<BlockGroup> gone;
            synchronized (removedGroups) {
                gone = new ArrayList<>(removedGroups);
                removedGroups.clear();
            }
            for (BlockGroup bg : gone) {
                bgWriter.deleteGroup(transid, bgRoot(), fst ? root(ObjectIds.FREE_SPACE_TREE) : null, bg);
            }
            int goneChunks = chunks.deleteRemovedChunks(transid, cow, chunkTree, root(ObjectIds.DEV_TREE));
            long ran = runner.run(transid, extent, r, ExtentRefsRunner.RUN_ALL);
            List<BlockGroup> dirty = groups.takeDirty();
            for (BlockGroup bg : dirty) {
                if (fst) {
                    bgWriter.writeFreeSpace(transid, root(ObjectIds.FREE_SPACE_TREE), bg);
                }
                bgWriter.writeItem(transid, bgRoot(), bg);
            }
            int rootItems = updateRootItems(transid);
            if (newChunks == 0 && goneChunks == 0 && gone.isEmpty() && ran == 0 && dirty.isEmpty() && rootItems == 0
                    && r.numHeads() == 0 && !chunks.hasPending() && !chunks.hasRemovals()) {
                break;
            }
        }
        List<ExtentBuffer> blocks = new ArrayList<>(alloc.dirtyBlocks(transid).values());
        blocks.sort((a, b) -> Long.compareUnsigned(a.bytenr(), b.bytenr()));
        for (ExtentBuffer eb : blocks) {
            blockWriter.write(eb);
        }
    }

    /** Rewrites the ROOT_ITEM of every tree whose root block moved; returns how many changed. */
    private int updateRootItems(long transid) throws IOException {
        int changed = 0;
        for (CowRoot r : List.copyOf(roots.values())) {
            TreeRoot now;
            r.lock.readLock().lock();
            try {
                now = r.current();
            } finally {
                r.lock.readLock().unlock();
            }
            if (writeRootItem(transid, r.id(), now)) {
                changed++;
            }
        }
        return changed;
    }

    private boolean writeRootItem(long transid, long id, TreeRoot now) throws IOException {
        rootTree.lock.writeLock().lock();
        try (Path p = new Path()) {
            Item old = fs.btree().findAtOrBefore(rootTree.current(), new DiskKey(id, ItemType.ROOT_ITEM, -1L));
            if (old == null || old.key().objectid() != id || old.key().type() != ItemType.ROOT_ITEM) {
                throw new CorruptImageException("tree " + Le.u64s(id) + " has no ROOT_ITEM to update");
            }
            RootItem ri = RootItem.decode(old.data(), 0, old.size());
            if (ri.bytenr() == now.bytenr() && ri.level() == now.level() && ri.generation() == now.generation()) {
                return false;
            }
            RootItem updated = new RootItem(ri.inode(), now.generation(), ri.rootDirid(), now.bytenr(), ri.byteLimit(),
                    ri.bytesUsed(), ri.lastSnapshot(), ri.flags(), ri.refs(), ri.dropProgress(), ri.dropLevel(), now.level(),
                    now.generation(), ri.uuid(), ri.parentUuid(), ri.receivedUuid(), ri.ctransid(), ri.otransid(),
                    ri.stransid(), ri.rtransid(), ri.ctime(), ri.otime(), ri.stime(), ri.rtime());
            byte[] b = updated.encode();
            if (old.size() != b.length) {
                // A legacy 239-byte item grows to the full size.
                if (!cow.deleteItem(transid, rootTree, old.key()) || !cow.insertItem(transid, rootTree, old.key(), b)) {
                    throw new AssertionError("could not rewrite ROOT_ITEM " + old.key());
                }
                return true;
            }
            if (!cow.searchForWrite(transid, rootTree, old.key(), p, 0, 0)) {
                throw new AssertionError("ROOT_ITEM " + old.key() + " vanished");
            }
            System.arraycopy(b, 0, p.leaf().data(), p.leaf().itemDataOffset(p.slot()), b.length);
            return true;
        } finally {
            rootTree.lock.writeLock().unlock();
        }
    }

    @Override
    public void writeSuperblocks(long transid) throws IOException {
        TreeRoot root = current(rootTree);
        TreeRoot chunk = current(chunkTree);
        TreeRoot extent = current(root(ObjectIds.EXTENT_TREE));
        TreeRoot fsTree = current(root(ObjectIds.FS_TREE));
        TreeRoot dev = current(root(ObjectIds.DEV_TREE));
        TreeRoot csum = current(root(ObjectIds.CSUM_TREE));
        long used = groups.bytesUsed();
        RootBackup backup = new RootBackup(root.bytenr(), root.generation(), chunk.bytenr(), chunk.generation(),
                extent.bytenr(), extent.generation(), fsTree.bytenr(), fsTree.generation(), dev.bytenr(), dev.generation(),
                csum.bytenr(), csum.generation(), superblock.totalBytes(), used, superblock.numDevices(), root.level(),
                chunk.level(), extent.level(), fsTree.level(), dev.level(), csum.level());
        Superblock next = SuperblockWriter.next(superblock, new SuperblockWriter.Roots(transid, root.bytenr(), root.level(),
                chunk.bytenr(), chunk.level(), chunk.generation(), used, backup));
        chunks.applyToSuperblock(next);
        SuperblockWriter.writeAll(fs.device(), next);
        superblock = next;
    }

    private static TreeRoot current(CowRoot r) {
        r.lock.readLock().lock();
        try {
            return r.current();
        } finally {
            r.lock.readLock().unlock();
        }
    }

    @Override
    public void afterCommit(long transid) throws IOException {
        space.unpinAll();
        rootTree.setCommitRoot(current(rootTree));
        chunkTree.setCommitRoot(current(chunkTree));
        for (CowRoot r : roots.values()) {
            r.setCommitRoot(current(r));
        }
        refs.remove(transid);
        alloc.dropDirtySet(transid);
        space.afterCommit();
        chunks.afterCommit();
    }
}
