package org.jbtrfs.extent;

import java.io.IOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongFunction;
import java.util.function.LongUnaryOperator;
import org.jbtrfs.ctree.ExtentBuffer;
import org.jbtrfs.ctree.ExtentBufferCache;
import org.jbtrfs.ctree.TreeBlockAllocator;
import org.jbtrfs.format.BlockGroupItem;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.ExtentItem;
import org.jbtrfs.format.Header;
import org.jbtrfs.format.ObjectIds;

/**
 * The tree block allocator of a writable filesystem (btrfs_alloc_tree_block and
 * btrfs_free_tree_block in extent-tree.c): space from the block groups, backrefs as delayed refs,
 * new buffers into the cache and into the transaction's dirty set.
 *
 * <p>The chunk tree lives in SYSTEM block groups, every other tree in METADATA ones. A block freed
 * in the transaction that allocated it, before it was written, goes back at once: its add and drop
 * refs cancel ({@link DelayedRefs#checkRefCleanup}) and its space is unreserved; any other freed
 * block stays allocated until its drop runs, and then pinned until the commit.
 */
public final class ExtentTreeBlockAllocator implements TreeBlockAllocator {
    private final BlockGroups groups;
    private final ExtentBufferCache cache;
    private final int nodesize;
    private final byte[] fsid;
    private final byte[] chunkTreeUuid;
    private final LongFunction<DelayedRefs> refsOf;
    private final Reserver reserver;
    /** Pays for each block; set once by the filesystem before the first allocation. */
    private volatile TreeBlockSpace space = TreeBlockSpace.NONE;
    /** Dirty blocks per transaction, in allocation order; the commit writes and clears them. */
    private final Map<Long, Map<Long, ExtentBuffer>> dirty = new ConcurrentHashMap<>();

    /**
     * Where tree block space comes from: {@link BlockGroups#reserve} alone, or
     * {@link ChunkAllocator#reserve}, which grows the filesystem by a chunk when a type is full.
     * Called while the caller holds a tree's write lock, so it must take no tree lock.
     */
    @FunctionalInterface
    public interface Reserver {
        long reserve(long type, long numBytes, long hint) throws IOException;
    }

    /** An allocator that never grows the filesystem (ENOSPC when the block groups are full). */
    public ExtentTreeBlockAllocator(BlockGroups groups, ExtentBufferCache cache, int nodesize, byte[] headerFsid,
            byte[] chunkTreeUuid, LongFunction<DelayedRefs> refsOf) {
        this(groups, cache, nodesize, headerFsid, chunkTreeUuid, refsOf, groups::reserve);
    }

    public ExtentTreeBlockAllocator(BlockGroups groups, ExtentBufferCache cache, int nodesize, byte[] headerFsid,
            byte[] chunkTreeUuid, LongFunction<DelayedRefs> refsOf, Reserver reserver) {
        this.reserver = reserver;
        this.groups = groups;
        this.cache = cache;
        this.nodesize = nodesize;
        this.fsid = headerFsid.clone();
        this.chunkTreeUuid = chunkTreeUuid.clone();
        this.refsOf = refsOf;
    }

    /** The dirty set of a transaction (live view). */
    public Map<Long, ExtentBuffer> dirtyBlocks(long transid) {
        return dirty.computeIfAbsent(transid, t -> new ConcurrentHashMap<>());
    }

    /** Bytes of dirty tree blocks of every transaction not yet committed: memory the cache cannot evict. */
    public long dirtyBytes() {
        long n = 0;
        for (Map<Long, ExtentBuffer> m : dirty.values()) {
            n += (long) m.size() * nodesize;
        }
        return n;
    }

    public void setSpace(TreeBlockSpace space) {
        this.space = space;
    }

    /** Forgets a committed (or aborted) transaction's dirty set. */
    public void dropDirtySet(long transid) {
        dirty.remove(transid);
    }

    @Override
    public ExtentBuffer allocTreeBlock(long transid, long owner, int level, DiskKey firstKey, long hint) throws IOException {
        long type = owner == ObjectIds.CHUNK_TREE ? BlockGroupItem.SYSTEM : BlockGroupItem.METADATA;
        org.jbtrfs.space.BlockRsv rsv = space.take(type);
        long bytenr;
        try {
            bytenr = reserver.reserve(type, nodesize, hint);
        } catch (IOException | RuntimeException e) {
            space.giveBack(type, rsv);
            throw e;
        }
        space.reserved(type);
        ExtentBuffer eb = ExtentBuffer.allocate(bytenr, nodesize);
        byte[] d = eb.data();
        Header.setFsid(d, fsid);
        Header.setChunkTreeUuid(d, chunkTreeUuid);
        Header.setOwner(d, owner);
        Header.setLevel(d, level);
        Header.setGeneration(d, transid);
        Header.setFlags(d, (long) Header.MIXED_BACKREF_REV << Header.BACKREF_REV_SHIFT);
        refsOf.apply(transid).addTreeRef(bytenr, nodesize, level, owner, 0, DelayedRefs.Action.ADD, true, firstKey, transid);
        ExtentBuffer prev = dirtyBlocks(transid).put(bytenr, eb);
        assert prev == null : "block " + bytenr + " allocated twice in transaction " + transid;
        return cache.insertNew(eb);
    }

    @Override
    public void freeTreeBlock(long transid, long owner, ExtentBuffer eb, long parent) throws IOException {
        DelayedRefs refs = refsOf.apply(transid);
        refs.addTreeRef(eb.bytenr(), nodesize, eb.level(), owner, 0, DelayedRefs.Action.DROP, false, null, transid);
        boolean written = (Header.flags(eb.data()) & Header.FLAG_WRITTEN) != 0;
        if (Header.generation(eb.data()) == transid && !written) {
            ExtentBuffer was = dirtyBlocks(transid).remove(eb.bytenr());
            assert was == eb : "freeing block " + eb.bytenr() + " of this transaction that is not in its dirty set";
            eb.clearDirty();
            cache.forget(eb);
            if (refs.checkRefCleanup(eb.bytenr())) {
                groups.unreserve(eb.bytenr(), nodesize);
                space.unreserved(owner == ObjectIds.CHUNK_TREE ? BlockGroupItem.SYSTEM : BlockGroupItem.METADATA);
            }
        } else {
            assert !eb.isDirty() : "freeing a dirty block of an older transaction: " + eb;
        }
    }

    /**
     * update_ref_for_cow(): copying a block of a subvolume tree that may be shared with a snapshot
     * moves references below it, by the backref rule (see {@link TreeBlockRefs}):
     * <ul>
     *   <li>shared (refs &gt; 1) and owned by this tree, not FULL_BACKREF: the old block keeps
     *       serving the other trees, so its children get shared refs naming it and it becomes
     *       FULL_BACKREF; the copy's children are reached through the refs keyed by this tree that
     *       they already have;</li>
     *   <li>shared, owned by another tree or FULL_BACKREF: the copy's children get refs keyed by
     *       this tree;</li>
     *   <li>ours alone but FULL_BACKREF (a snapshot of it was deleted, or it was converted): the
     *       copy's children get refs keyed by this tree, the old block's shared refs go.</li>
     * </ul>
     * The caller then drops this tree's ref to the old block ({@link #freeTreeBlock}). A block is
     * looked up only if it can be shared (btrfs_block_can_be_shared): a subvolume tree's non-root
     * block not newer than the tree's last snapshot.
     */
    @Override
    public void updateRefForCow(long transid, long owner, ExtentBuffer buf, ExtentBuffer cow, boolean rootNode)
            throws IOException {
        ExtentInfo.ItemLookup lookup = extentLookup;
        if (lookup == null || rootNode || !ObjectIds.isSubvolumeId(owner)
                || Long.compareUnsigned(Header.generation(buf.data()), lastSnapshotOf.applyAsLong(owner)) > 0) {
            return;
        }
        DelayedRefs refs = refsOf.apply(transid);
        ExtentInfo.Info info = ExtentInfo.treeBlock(refs, lookup, buf.bytenr(), buf.level(), nodesize);
        if (info.refs() > 1) {
            if (buf.owner() == owner && !info.fullBackref()) {
                TreeBlockRefs.mod(refs, buf, owner, true, DelayedRefs.Action.ADD, transid, nodesize);
                refs.setExtentFlags(buf.bytenr(), nodesize, buf.level(), ExtentItem.FLAG_FULL_BACKREF);
            } else {
                TreeBlockRefs.mod(refs, cow, owner, false, DelayedRefs.Action.ADD, transid, nodesize);
            }
        } else if (info.fullBackref()) {
            TreeBlockRefs.mod(refs, cow, owner, false, DelayedRefs.Action.ADD, transid, nodesize);
            TreeBlockRefs.mod(refs, buf, owner, true, DelayedRefs.Action.DROP, transid, nodesize);
        }
    }

    /** Reads the current extent tree, for {@link #updateRefForCow}; null until set (then nothing is shared). */
    private volatile ExtentInfo.ItemLookup extentLookup;
    /** A subvolume tree's last_snapshot (ROOT_ITEM): blocks newer than it cannot be shared. */
    private volatile LongUnaryOperator lastSnapshotOf = id -> -1L;

    /**
     * Enables snapshot-aware COW: {@code extentLookup} reads the current extent tree (under its
     * read lock), {@code lastSnapshotOf} gives a tree's last_snapshot (-1 when unknown: any block
     * may be shared).
     */
    public void setSharing(ExtentInfo.ItemLookup extentLookup, LongUnaryOperator lastSnapshotOf) {
        this.lastSnapshotOf = lastSnapshotOf;
        this.extentLookup = extentLookup;
    }
}
