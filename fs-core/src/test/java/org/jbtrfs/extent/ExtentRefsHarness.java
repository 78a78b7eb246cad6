package org.jbtrfs.extent;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.TreeSet;
import org.jbtrfs.CorruptImageException;
import org.jbtrfs.ctree.BTree;
import org.jbtrfs.ctree.CowBTree;
import org.jbtrfs.ctree.CowRoot;
import org.jbtrfs.ctree.ExtentBuffer;
import org.jbtrfs.ctree.ExtentBufferCache;
import org.jbtrfs.ctree.TreeBlockAllocator;
import org.jbtrfs.ctree.TreeBlockReader;
import org.jbtrfs.ctree.TreeBlockWriter;
import org.jbtrfs.ctree.TreeRoot;
import org.jbtrfs.device.ChunkMap;
import org.jbtrfs.device.MemoryBlockDevice;
import org.jbtrfs.format.BlockGroupItem;
import org.jbtrfs.format.ChunkItem;
import org.jbtrfs.format.CsumType;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.ExtentItem;
import org.jbtrfs.format.Header;
import org.jbtrfs.format.ItemType;
import org.jbtrfs.format.ObjectIds;
import org.jbtrfs.format.Uuids;

/**
 * An extent tree on an in-memory device for tests of delayed refs (the pattern of the ctree
 * tests' TestTrees): one DUP metadata chunk holds the extent tree's own blocks; its block
 * allocator queues delayed refs for them the way btrfs_alloc_tree_block / btrfs_free_tree_block
 * do, so the extent tree describes itself; the accounting counts allocations and frees per extent
 * and pins freed blocks until the commit. Extents the tests reference live outside the chunk (no
 * blocks behind them). A transaction can commit (run every ref, write every dirty block, read
 * nothing back from memory) or abort (drop everything since the last commit).
 */
final class ExtentRefsHarness implements TreeBlockAllocator, ExtentAccounting {
    static final long CHUNK_START = 1L << 20;

    final int nodesize;
    final MemoryBlockDevice device;
    final ChunkMap chunks = new ChunkMap(1);
    final byte[] fsid;
    final byte[] chunkUuid;
    final CsumType csum = CsumType.CRC32C;
    final ExtentBufferCache cache;
    final BTree btree;
    final CowBTree cow;
    final TreeBlockWriter writer;
    final long chunkEnd;
    final BackrefCodec.DataRefHash hash;
    final ExtentRefsRunner runner;

    TreeSet<Long> free = new TreeSet<>();
    final List<Long> pinned = new ArrayList<>();
    final Map<Long, ExtentBuffer> dirty = new LinkedHashMap<>();
    /** Extents the accounting was told are allocated (item inserted and not freed since), with their size. */
    Map<Long, Long> allocated = new HashMap<>();
    long allocatedCalls;
    long freedCalls;
    /** How often each extent was reported allocated and freed, over the harness's life. */
    final Map<Long, Integer> allocatedTimes = new HashMap<>();
    final Map<Long, Integer> freedTimes = new HashMap<>();
    /** Every head run the observer heard of; runners may report from several threads. */
    final List<DelayedRefObserver.HeadRun> observed = Collections.synchronizedList(new ArrayList<>());

    long transid;
    DelayedRefs refs;
    CowRoot extentRoot;

    private TreeSet<Long> committedFree;
    private Map<Long, Long> committedAllocated;

    ExtentRefsHarness(int nodesize, long chunkBytes, Random rnd, BackrefCodec.DataRefHash hash) throws IOException {
        this.nodesize = nodesize;
        this.hash = hash;
        this.device = new MemoryBlockDevice(new byte[(int) (CHUNK_START + 2 * chunkBytes)], false);
        this.fsid = Uuids.random(rnd);
        this.chunkUuid = Uuids.random(rnd);
        this.chunkEnd = CHUNK_START + chunkBytes;
        chunks.add(CHUNK_START, new ChunkItem(chunkBytes, 2, 65536, BlockGroupItem.METADATA | BlockGroupItem.DUP, 4096, 4096,
                4096, 0, List.of(new ChunkItem.Stripe(1, CHUNK_START, new byte[16]),
                        new ChunkItem.Stripe(1, CHUNK_START + chunkBytes, new byte[16]))));
        for (long b = CHUNK_START; b < chunkEnd; b += nodesize) {
            free.add(b);
        }
        cache = new ExtentBufferCache(8L << 20);
        btree = new BTree(new TreeBlockReader(device, chunks, csum, fsid, nodesize, 4096, cache));
        cow = new CowBTree(btree, this);
        writer = new TreeBlockWriter(device, chunks, csum, 4096);
        runner = new ExtentRefsRunner(cow, this, observed::add, hash);
        transid = 1;
        refs = new DelayedRefs(transid);
        extentRoot = new CowRoot(ObjectIds.EXTENT_TREE, allocTreeBlock(transid, ObjectIds.EXTENT_TREE, 0, null, 0), null);
        commit();
    }

    ExtentRefsHarness(int nodesize, Random rnd) throws IOException {
        this(nodesize, 16L << 20, rnd, BackrefCodec.KERNEL_HASH);
    }

    // ---- TreeBlockAllocator: the extent tree's own blocks get delayed refs -------------------

    @Override
    public ExtentBuffer allocTreeBlock(long transid, long owner, int level, DiskKey firstKey, long hint) {
        assert transid == this.transid;
        Long b = free.ceiling(hint);
        if (b == null) {
            b = free.first();
        }
        free.remove(b);
        ExtentBuffer eb = ExtentBuffer.allocate(b, nodesize);
        byte[] d = eb.data();
        Header.setFsid(d, fsid);
        Header.setChunkTreeUuid(d, chunkUuid);
        Header.setOwner(d, owner);
        Header.setLevel(d, level);
        Header.setGeneration(d, transid);
        Header.setFlags(d, (long) Header.MIXED_BACKREF_REV << Header.BACKREF_REV_SHIFT);
        dirty.put(b, eb);
        refs.addTreeRef(b, nodesize, level, owner, 0, DelayedRefs.Action.ADD, true, firstKey, transid);
        return cache.insertNew(eb);
    }

    @Override
    public void freeTreeBlock(long transid, long owner, ExtentBuffer eb, long parent) {
        // The parent is for FULL_BACKREF blocks (relocation) only; a normal tree drops its root-keyed ref.
        refs.addTreeRef(eb.bytenr(), nodesize, eb.level(), owner, 0, DelayedRefs.Action.DROP, false, null, 0);
        boolean written = (Header.flags(eb.data()) & Header.FLAG_WRITTEN) != 0;
        if (Header.generation(eb.data()) == transid && !written) {
            ExtentBuffer was = dirty.remove(eb.bytenr());
            assert was == eb : "freeing a block of this transaction that is not dirty: " + eb;
            eb.clearDirty();
            cache.forget(eb);
            if (refs.checkRefCleanup(eb.bytenr())) {
                free.add(eb.bytenr()); // never got an extent item: reusable at once
            }
        }
    }

    @Override
    public void updateRefForCow(long transid, long owner, ExtentBuffer buf, ExtentBuffer cow, boolean rootNode) {
    }

    // ---- ExtentAccounting ------------------------------------------------------------------

    @Override
    public void extentAllocated(long transid, long bytenr, long numBytes, boolean metadata) {
        assert transid == this.transid;
        Long was = allocated.putIfAbsent(bytenr, numBytes);
        if (was != null) {
            throw new AssertionError("extentAllocated twice for " + bytenr);
        }
        allocatedCalls++;
        allocatedTimes.merge(bytenr, 1, Integer::sum);
    }

    @Override
    public void extentFreed(long transid, long bytenr, long numBytes, boolean metadata) {
        assert transid == this.transid;
        Long was = allocated.remove(bytenr);
        if (was == null || was != numBytes) {
            throw new AssertionError("extentFreed of " + bytenr + " (" + numBytes + " bytes) that was allocated with " + was);
        }
        freedCalls++;
        freedTimes.merge(bytenr, 1, Integer::sum);
        if (bytenr >= CHUNK_START && bytenr < chunkEnd) {
            pinned.add(bytenr); // the last committed tree may still use it
        }
    }

    // ---- transactions ----------------------------------------------------------------------

    long runAll() throws IOException {
        return runner.run(transid, extentRoot, refs, ExtentRefsRunner.RUN_ALL);
    }

    /** Runs every ref, writes every dirty block, publishes the root, unpins, starts the next transaction. */
    void commit() throws IOException {
        runAll();
        if (refs.numHeads() != 0) {
            throw new AssertionError(refs.numHeads() + " heads left after running all");
        }
        for (ExtentBuffer eb : dirty.values()) {
            writer.write(eb);
        }
        dirty.clear();
        extentRoot.lock.readLock().lock();
        try {
            extentRoot.setCommitRoot(extentRoot.current());
        } finally {
            extentRoot.lock.readLock().unlock();
        }
        free.addAll(pinned);
        pinned.clear();
        committedFree = new TreeSet<>(free);
        committedAllocated = new HashMap<>(allocated);
        transid++;
        refs = new DelayedRefs(transid);
    }

    /** What the transaction layer does after an abort, minus going read-only: back to the last commit. */
    void rollback() throws IOException {
        if (refs.abortCause() != null) {
            refs.destroy();
        }
        for (ExtentBuffer eb : dirty.values()) {
            eb.clearDirty();
            cache.forget(eb);
        }
        dirty.clear();
        extentRoot.lock.writeLock().lock();
        try {
            extentRoot.node().release();
        } finally {
            extentRoot.lock.writeLock().unlock();
        }
        TreeRoot committed = extentRoot.commitRoot();
        extentRoot = new CowRoot(ObjectIds.EXTENT_TREE, btree.readRoot(committed), committed);
        free = new TreeSet<>(committedFree);
        pinned.clear();
        allocated = new HashMap<>(committedAllocated);
        transid++;
        refs = new DelayedRefs(transid);
    }

    TreeRoot currentRoot() {
        extentRoot.lock.readLock().lock();
        try {
            return extentRoot.current();
        } finally {
            extentRoot.lock.readLock().unlock();
        }
    }

    /** A reader over the same device with a cold cache: sees only what is on disk. */
    BTree coldReader() {
        return new BTree(new TreeBlockReader(device, chunks, csum, fsid, nodesize, 4096, new ExtentBufferCache(64L << 20)));
    }

    /** Inserts an item directly (to build states the runner does not write, e.g. fat extent items). */
    void insertRaw(DiskKey key, byte[] data) throws IOException {
        extentRoot.lock.writeLock().lock();
        try {
            if (!cow.insertItem(transid, extentRoot, key, data)) {
                throw new AssertionError(key + " exists");
            }
        } finally {
            extentRoot.lock.writeLock().unlock();
        }
    }

    // ---- reading the extent tree back --------------------------------------------------------

    /** One extent as the tree holds it: its item and all its backrefs, inline and keyed merged. */
    record ExtentState(DiskKey key, ExtentItem item, Map<DelayedRefKey, Long> refs, List<DiskKey> keyed) {
        long numBytes(int nodesize) {
            return key.type() == ItemType.METADATA_ITEM ? nodesize : key.offset();
        }
    }

    /**
     * Every extent of the tree under {@code root}, checked the way btrfs check would: each item
     * valid and ordered (tree-checker rules), no keyed backref without its extent item or twice,
     * keyed data refs at their hash (or after it), and refs equal to the sum of the backrefs.
     */
    static TreeMap<Long, ExtentState> readExtentTree(BTree reader, TreeRoot root, int nodesize,
            BackrefCodec.DataRefHash hash) throws IOException {
        TreeMap<Long, ExtentState> out = new TreeMap<>(Long::compareUnsigned);
        reader.scan(root, DiskKey.MIN, DiskKey.MAX, (key, data, off, len) -> {
            if (key.type() == ItemType.EXTENT_ITEM || key.type() == ItemType.METADATA_ITEM) {
                ExtentItem ei = ExtentItem.decode(data, off, len, key.type() == ItemType.METADATA_ITEM);
                BackrefCodec.checkExtentItem(key, ei, hash);
                if (ei.encode().length != len) {
                    throw new CorruptImageException(key + " does not re-encode to its " + len + " bytes");
                }
                Map<DelayedRefKey, Long> refs = new TreeMap<>();
                for (ExtentItem.InlineRef r : ei.inlineRefs()) {
                    DelayedRefKey k = BackrefCodec.keyOf(r);
                    if (k != null && refs.put(k, r.count()) != null) {
                        throw new CorruptImageException(key + " has inline " + k + " twice");
                    }
                }
                if (out.put(key.objectid(), new ExtentState(key, ei, refs, new ArrayList<>())) != null) {
                    throw new CorruptImageException("two extent items at " + key.objectid());
                }
            } else if (key.type() >= ItemType.TREE_BLOCK_REF && key.type() <= ItemType.SHARED_DATA_REF) {
                ExtentState s = out.get(key.objectid());
                if (s == null) {
                    throw new CorruptImageException("keyed backref " + key + " without an extent item");
                }
                BackrefCodec.Keyed k = BackrefCodec.decodeKeyed(key, data, off, len);
                if (k.ref().isData() != ((s.item().flags() & ExtentItem.FLAG_DATA) != 0)) {
                    throw new CorruptImageException("keyed backref " + key + " of the wrong kind for " + s.key());
                }
                if (key.type() == ItemType.EXTENT_DATA_REF) {
                    long h = hash.hash(k.ref().root(), k.ref().objectid(), k.ref().offset());
                    if (Long.compareUnsigned(key.offset(), h) < 0 || key.offset() - h > 64) {
                        throw new CorruptImageException("keyed " + key + " is not at its hash " + Long.toUnsignedString(h));
                    }
                }
                if (s.refs().put(k.ref(), k.count()) != null) {
                    throw new CorruptImageException(k.ref() + " of " + key.objectid() + " both inline and keyed, or twice");
                }
                s.keyed().add(key);
            } else if (key.type() != ItemType.BLOCK_GROUP_ITEM) {
                throw new CorruptImageException("unexpected item " + key + " in the extent tree");
            }
            return true;
        });
        for (ExtentState s : out.values()) {
            long sum = 0;
            for (long c : s.refs().values()) {
                sum += c;
            }
            if (sum != s.item().refs()) {
                throw new CorruptImageException(s.key() + ": refs " + s.item().refs() + ", backrefs hold " + sum);
            }
        }
        return out;
    }

    /** The blocks of the tree under {@code root}, by bytenr, with their level. */
    static TreeMap<Long, Integer> treeBlocks(BTree reader, TreeRoot root) throws IOException {
        TreeMap<Long, Integer> blocks = new TreeMap<>();
        reader.walk(root, eb -> blocks.put(eb.bytenr(), eb.level()));
        return blocks;
    }
}
