package org.jbtrfs.disk;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Logger;
import org.jbtrfs.CorruptImageException;
import org.jbtrfs.OpenOptions;
import org.jbtrfs.UnsupportedImageException;
import org.jbtrfs.ctree.BTree;
import org.jbtrfs.ctree.ExtentBufferCache;
import org.jbtrfs.ctree.Item;
import org.jbtrfs.ctree.TreeBlockReader;
import org.jbtrfs.ctree.TreeRoot;
import org.jbtrfs.device.BlockDevice;
import org.jbtrfs.device.ChunkMap;
import org.jbtrfs.format.ChunkItem;
import org.jbtrfs.format.CsumType;
import org.jbtrfs.format.DevItem;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.Features;
import org.jbtrfs.format.ItemType;
import org.jbtrfs.format.Le;
import org.jbtrfs.format.ObjectIds;
import org.jbtrfs.format.RootItem;
import org.jbtrfs.format.Superblock;

/**
 * struct btrfs_fs_info for an opened image: the superblock in use, the device, the chunk map, the
 * tree block reader and cache, and the roots of the trees. Built by {@link #open}, which follows
 * open_ctree() in disk-io.c: superblock, features, sys_chunk_array, chunk tree, root tree.
 *
 * <p>Read-only for now: nothing here changes after open, so it is safe to share between threads.
 * It owns the filesystem's readahead workers (made by its {@link TreeBlockReader}); {@link #close}
 * stops them, after their reads end, before it closes the device.
 */
public final class FsInfo implements AutoCloseable, org.jbtrfs.ctree.TreeRoots {
    private static final Logger LOG = Logger.getLogger(FsInfo.class.getName());

    private final BlockDevice device;
    private final Superblock superblock;
    private final int superMirror;
    private final CsumType csumType;
    private final ChunkMap chunkMap;
    private final BTree btree;
    private final TreeRoot rootTree;
    private final TreeRoot chunkTree;
    private final ConcurrentHashMap<Long, TreeRoot> roots = new ConcurrentHashMap<>();
    private final OpenOptions options;

    private FsInfo(BlockDevice device, Superblock sb, int superMirror, ChunkMap chunkMap, BTree btree,
            OpenOptions options) {
        this.device = device;
        this.superblock = sb;
        this.superMirror = superMirror;
        this.csumType = sb.csumType();
        this.chunkMap = chunkMap;
        this.btree = btree;
        this.rootTree = new TreeRoot(ObjectIds.ROOT_TREE, sb.root(), sb.rootLevel(), sb.generation());
        this.chunkTree = new TreeRoot(ObjectIds.CHUNK_TREE, sb.chunkRoot(), sb.chunkRootLevel(), sb.chunkRootGeneration());
        this.options = options;
    }

    /** Opens the filesystem on {@code device}; the caller keeps ownership of the device until close. */
    public static FsInfo open(BlockDevice device, OpenOptions options) throws IOException {
        SuperblockLoader.Copy copy = SuperblockLoader.load(device);
        Superblock sb = copy.superblock();
        if (copy.mirror() != 0) {
            LOG.warning(device + ": primary superblock is damaged or older; using the copy at " + copy.offset());
        }
        checkFeatures(sb, device);
        DevItem dev = sb.devItem();
        ChunkMap chunks = new ChunkMap(dev.devid());
        chunks.loadSysChunkArray(sb.sysChunkArray());
        ExtentBufferCache cache = new ExtentBufferCache(options.cacheLimitBytes());
        TreeBlockReader reader = new TreeBlockReader(device, chunks, sb.csumType(), sb.headerFsid(), (int) sb.nodesize(),
                (int) sb.sectorsize(), cache);
        FsInfo fs = new FsInfo(device, sb, copy.mirror(), chunks, new BTree(reader), options);
        try {
            fs.loadChunkTree();
        } catch (IOException | RuntimeException e) {
            reader.stopReadahead(); // the caller closes the device next
            throw e;
        }
        // Only an open that succeeded: close() unregisters it again.
        org.jbtrfs.ctree.MemoryPressure.register(cache);
        if (sb.logRoot() != 0) {
            LOG.warning(device + ": the image has a log tree (fsync'd data after the last commit); "
                    + "read-only open does not replay it, so that data is not shown");
        }
        return fs;
    }

    /**
     * The FsInfo of a filesystem being made (mkfs): nothing valid is on the device yet, so the
     * superblock template (generation 0, no tree roots) and the complete chunk map are given instead
     * of read. Tree blocks are served from the cache until the first commit writes them; tree roots
     * are known only to {@code transaction.FsTrees#create}, which is the only intended caller.
     */
    public static FsInfo forNewFilesystem(BlockDevice device, Superblock template, ChunkMap chunks, OpenOptions options) {
        if (template.generation() != 0 || template.root() != 0) {
            throw new IllegalArgumentException("a new filesystem starts at generation 0 with no root tree");
        }
        ExtentBufferCache cache = new ExtentBufferCache(options.cacheLimitBytes());
        org.jbtrfs.ctree.MemoryPressure.register(cache);
        TreeBlockReader reader = new TreeBlockReader(device, chunks, template.csumType(), template.headerFsid(),
                (int) template.nodesize(), (int) template.sectorsize(), cache);
        return new FsInfo(device, template, 0, chunks, new BTree(reader), options);
    }

    private static void checkFeatures(Superblock sb, BlockDevice device) throws UnsupportedImageException {
        long unknown = sb.incompatFlags() & ~Features.INCOMPAT_SUPPORTED;
        if (unknown != 0) {
            throw new UnsupportedImageException(device + ": unsupported incompat features "
                    + Features.incompatNames(unknown) + " (0x" + Long.toHexString(unknown) + ")");
        }
        if (sb.numDevices() != 1) {
            throw new UnsupportedImageException(device + ": filesystem spans " + Le.u64s(sb.numDevices())
                    + " devices; jbtrfs supports single-device filesystems only");
        }
    }

    /** Adds every chunk of the chunk tree to the map, and checks there is exactly one device. */
    private void loadChunkTree() throws IOException {
        int[] devices = {0};
        btree.scan(chunkTree, DiskKey.MIN, DiskKey.MAX, (key, data, off, len) -> {
            if (key.type() == ItemType.CHUNK_ITEM) {
                chunkMap.add(key.offset(), ChunkItem.decode(data, off, len));
            } else if (key.type() == ItemType.DEV_ITEM) {
                devices[0]++;
            }
            return true;
        });
        if (devices[0] != 1) {
            throw new UnsupportedImageException(device + ": chunk tree lists " + devices[0]
                    + " devices; jbtrfs supports single-device filesystems only");
        }
    }

    /**
     * The root of tree {@code id} (a subvolume or a global tree) from its ROOT_ITEM in the root
     * tree, or null when there is none.
     */
    @Override
    public TreeRoot treeRoot(long id) throws IOException {
        if (id == ObjectIds.ROOT_TREE) {
            return rootTree;
        }
        if (id == ObjectIds.CHUNK_TREE) {
            return chunkTree;
        }
        TreeRoot r = roots.get(id);
        if (r != null) {
            return r;
        }
        RootItem ri = rootItem(id);
        if (ri == null) {
            return null;
        }
        r = new TreeRoot(id, ri.bytenr(), ri.level(), ri.generation());
        roots.putIfAbsent(id, r);
        return r;
    }

    /** The ROOT_ITEM of tree {@code id} (any key offset), or null. */
    public RootItem rootItem(long id) throws IOException {
        Item it = btree.findAtOrBefore(rootTree, new DiskKey(id, ItemType.ROOT_ITEM, -1L));
        if (it == null || it.key().objectid() != id || it.key().type() != ItemType.ROOT_ITEM) {
            return null;
        }
        RootItem ri = RootItem.decode(it.data(), 0, it.size());
        if (ri.level() >= org.jbtrfs.format.Header.MAX_LEVEL) {
            throw new CorruptImageException("ROOT_ITEM of tree " + Le.u64s(id) + " has level " + ri.level());
        }
        return ri;
    }

    /** Committed roots never change: readers need no lock. */
    @Override
    public java.util.concurrent.locks.Lock readLock(long id) {
        return org.jbtrfs.ctree.NoLock.INSTANCE;
    }

    /** Like {@link #treeRoot} but an absent tree is an error naming it. */
    public TreeRoot requireTreeRoot(long id) throws IOException {
        TreeRoot r = treeRoot(id);
        if (r == null) {
            throw new CorruptImageException("tree " + Le.u64s(id) + " has no ROOT_ITEM in the root tree");
        }
        return r;
    }

    public BlockDevice device() {
        return device;
    }

    public Superblock superblock() {
        return superblock;
    }

    /** Which superblock copy (0 primary, 1, 2) is in use. */
    public int superMirror() {
        return superMirror;
    }

    public CsumType csumType() {
        return csumType;
    }

    public ChunkMap chunkMap() {
        return chunkMap;
    }

    public BTree btree() {
        return btree;
    }

    public TreeRoot rootTree() {
        return rootTree;
    }

    public TreeRoot chunkTree() {
        return chunkTree;
    }

    public int sectorsize() {
        return (int) superblock.sectorsize();
    }

    public int nodesize() {
        return (int) superblock.nodesize();
    }

    public OpenOptions options() {
        return options;
    }

    /** The chunk mappings, for statfs and dump tools. */
    public List<ChunkMap.Mapping> chunks() {
        return chunkMap.snapshot();
    }

    @Override
    public void close() throws IOException {
        org.jbtrfs.ctree.MemoryPressure.unregister(btree.reader().cache());
        // Last of the workers (after the Filesystem's transaction thread, cleaner and reclaimers):
        // readahead reads in flight end before the device they read from closes (seed 004).
        btree.reader().stopReadahead();
        device.close();
    }
}
