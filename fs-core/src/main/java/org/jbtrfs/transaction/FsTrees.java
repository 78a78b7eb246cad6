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
import org.jbtrfs.disk.FsInfo;
import org.jbtrfs.disk.SuperblockWriter;
import org.jbtrfs.extent.BlockGroup;
import org.jbtrfs.extent.BlockGroupWriter;
import org.jbtrfs.extent.BlockGroups;
import org.jbtrfs.extent.CsumItems;
import org.jbtrfs.extent.DelayedRefObserver;
import org.jbtrfs.extent.DelayedRefs;
import org.jbtrfs.extent.ExtentRefsRunner;
import org.jbtrfs.extent.ExtentTreeBlockAllocator;
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
 */
public final class FsTrees implements TransactionManager.CommitWork {
    /** Rounds of the tree phase before we call it a bug: each round after the first only edits in place. */
    static final int MAX_COMMIT_ROUNDS = 32;

    private final FsInfo fs;
    private final BlockGroups groups;
    private final CowBTree cow;
    private final ExtentTreeBlockAllocator alloc;
    private final ExtentRefsRunner runner;
    private final CsumItems csums;
    private final BlockGroupWriter bgWriter;
    private final TreeBlockWriter blockWriter;
    private final Map<Long, DelayedRefs> refs = new ConcurrentHashMap<>();
    private final Map<Long, CowRoot> roots = new ConcurrentHashMap<>();
    private final CowRoot rootTree;
    private final CowRoot chunkTree;
    private final TransactionManager transactions;
    private volatile Superblock superblock;

    private FsTrees(FsInfo fs, BlockGroups groups) throws IOException {
        this.fs = fs;
        this.groups = groups;
        TreeBlockReader reader = fs.btree().reader();
        ExtentBuffer rootNode = fs.btree().readRoot(fs.rootTree());
        byte[] chunkUuid = Header.chunkTreeUuid(rootNode.data());
        this.alloc = new ExtentTreeBlockAllocator(groups, reader.cache(), fs.nodesize(), fs.superblock().headerFsid(),
                chunkUuid, this::refs);
        this.cow = new CowBTree(fs.btree(), alloc);
        this.csums = new CsumItems(cow, fs.csumType(), fs.sectorsize(), fs.nodesize());
        this.runner = new ExtentRefsRunner(cow, groups, DelayedRefObserver.NONE, this::dataExtentFreed);
        this.bgWriter = new BlockGroupWriter(cow);
        this.blockWriter = new TreeBlockWriter(fs.device(), fs.chunkMap(), fs.csumType(), fs.sectorsize());
        this.rootTree = new CowRoot(ObjectIds.ROOT_TREE, rootNode, fs.rootTree());
        this.chunkTree = new CowRoot(ObjectIds.CHUNK_TREE, fs.btree().readRoot(fs.chunkTree()), fs.chunkTree());
        this.superblock = fs.superblock();
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
        return new FsTrees(fs, groups);
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

    /** The delayed refs of a transaction. */
    public DelayedRefs refs(long transid) {
        return refs.computeIfAbsent(transid, DelayedRefs::new);
    }

    /** The writable root of tree {@code id} (root tree and chunk tree included). */
    public CowRoot root(long id) throws IOException {
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
        TreeRoot committed = fs.requireTreeRoot(id);
        synchronized (roots) {
            r = roots.get(id);
            if (r == null) {
                r = new CowRoot(id, fs.btree().readRoot(committed), committed);
                roots.put(id, r);
            }
        }
        return r;
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
            long ran = runner.run(transid, extent, r, ExtentRefsRunner.RUN_ALL);
            List<BlockGroup> dirty = groups.takeDirty();
            for (BlockGroup bg : dirty) {
                if (fst) {
                    bgWriter.writeFreeSpace(transid, root(ObjectIds.FREE_SPACE_TREE), bg);
                }
                bgWriter.writeItem(transid, bgRoot(), bg);
            }
            int rootItems = updateRootItems(transid);
            if (ran == 0 && dirty.isEmpty() && rootItems == 0 && r.numHeads() == 0) {
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
        groups.unpinAll();
        rootTree.setCommitRoot(current(rootTree));
        chunkTree.setCommitRoot(current(chunkTree));
        for (CowRoot r : roots.values()) {
            r.setCommitRoot(current(r));
        }
        refs.remove(transid);
        alloc.dropDirtySet(transid);
    }
}
