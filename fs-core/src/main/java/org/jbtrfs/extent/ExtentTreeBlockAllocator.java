package org.jbtrfs.extent;

import java.io.IOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongFunction;
import org.jbtrfs.ctree.ExtentBuffer;
import org.jbtrfs.ctree.ExtentBufferCache;
import org.jbtrfs.ctree.TreeBlockAllocator;
import org.jbtrfs.format.BlockGroupItem;
import org.jbtrfs.format.DiskKey;
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

    @Override
    public void updateRefForCow(long transid, long owner, ExtentBuffer buf, ExtentBuffer cow) {
        // Without snapshots every tree block has exactly one reference, held by its tree; copying
        // it moves nothing below it. Snapshots (a later issue) add FULL_BACKREF handling here.
    }
}
