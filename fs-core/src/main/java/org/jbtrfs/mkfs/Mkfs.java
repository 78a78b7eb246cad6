package org.jbtrfs.mkfs;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.jbtrfs.OpenOptions;
import org.jbtrfs.ctree.CowRoot;
import org.jbtrfs.device.BlockDevice;
import org.jbtrfs.device.ChunkMap;
import org.jbtrfs.device.FileBlockDevice;
import org.jbtrfs.disk.FsInfo;
import org.jbtrfs.extent.BlockGroups;
import org.jbtrfs.format.ChunkItem;
import org.jbtrfs.format.Crc32c;
import org.jbtrfs.format.DevExtent;
import org.jbtrfs.format.DevItem;
import org.jbtrfs.format.DirItem;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.Features;
import org.jbtrfs.format.InodeItem;
import org.jbtrfs.format.InodeRef;
import org.jbtrfs.format.ItemType;
import org.jbtrfs.format.Le;
import org.jbtrfs.format.ObjectIds;
import org.jbtrfs.format.RootItem;
import org.jbtrfs.format.Superblock;
import org.jbtrfs.format.Timespec;
import org.jbtrfs.format.Uuids;
import org.jbtrfs.transaction.FsTrees;
import org.jbtrfs.transaction.TransHandle;

/**
 * mkfs.btrfs (mkfs/main.c, make_btrfs() in mkfs/common.c): writes a new, empty filesystem.
 *
 * <h2>How it works</h2>
 * Unlike progs, which hand-writes a first image and then edits it, we make the whole filesystem
 * as the first transaction of the ordinary write core:
 * <ol>
 *   <li>{@link MkfsLayout} places the chunks; the superblock template gets the features, sizes,
 *       uuids, label, dev item and sys_chunk_array (generation 0, no roots yet).</li>
 *   <li>{@link FsInfo#forNewFilesystem} and {@link FsTrees#create} give a writable filesystem with
 *       an empty block group per chunk ({@link BlockGroups#makeBlockGroup}) and the root and chunk
 *       trees as empty leaves of transaction 1.</li>
 *   <li>In transaction 1 we insert the chunk tree items, create the other trees
 *       ({@link FsTrees#createTree}) and insert what an empty filesystem holds: dev extents, the
 *       root directory of the fs tree and of the data reloc tree, the root tree's directory 6 with
 *       its "default" entry, and the uuid tree entry of the fs tree.</li>
 *   <li>The commit does the rest with the same code a running filesystem uses: extent items for
 *       every tree block (delayed refs), BLOCK_GROUP_ITEMs, the free space tree, the ROOT_ITEMs,
 *       the tree blocks (all mirrors) and the superblock copies that fit the device.</li>
 * </ol>
 * Items we encode use the codecs of {@code org.jbtrfs.format}; their field values follow
 * mkfs.btrfs 6.2 (see docs/format.md, "What mkfs writes").
 */
public final class Mkfs {
    /** The first transaction; everything mkfs writes carries this generation. */
    static final long FIRST_TRANSID = 1;
    /** BTRFS_FIRST_FREE_OBJECTID: the root directory of every subvolume. */
    static final long ROOT_DIR = ObjectIds.FIRST_FREE;
    /** Features of a default mkfs.btrfs 6.2 image (it sets no BIG_METADATA, whatever the node size). */
    public static final long INCOMPAT_FLAGS = Features.INCOMPAT_MIXED_BACKREF | Features.INCOMPAT_EXTENDED_IREF
            | Features.INCOMPAT_SKINNY_METADATA | Features.INCOMPAT_NO_HOLES;
    public static final long COMPAT_RO_FLAGS = Features.COMPAT_RO_FREE_SPACE_TREE | Features.COMPAT_RO_FREE_SPACE_TREE_VALID;
    private static final int DIR_MODE = 040755;
    /** struct btrfs_inode_item.size of a root's embedded inode, as btrfs_create_tree sets it. */
    private static final long ROOT_INODE_SIZE = 3;

    private Mkfs() {
    }

    /** What was made, for the summary mkfs prints. */
    public record Result(MkfsOptions options, long totalBytes, byte[] fsid, byte[] deviceUuid, MkfsLayout layout) {
    }

    /**
     * Formats {@code image}: a missing file is created with the filesystem's size and a smaller one
     * grown to it; a larger file (or a block device) is never truncated, the filesystem just ends
     * before its end (mkfs.btrfs -b). With size 0 the filesystem takes the whole existing file.
     */
    public static Result format(Path image, MkfsOptions o) throws IOException {
        if (o.sizeBytes() == 0 && !Files.exists(image)) {
            throw new IllegalArgumentException(image + " does not exist; give the size of the filesystem to make");
        }
        if (o.sizeBytes() > 0) {
            // Refuse a size the layout cannot use before creating or growing anything.
            MkfsLayout.plan(o.sizeBytes() / o.sectorsize() * o.sectorsize(), o.metadataProfile(), o.dataProfile());
        }
        if (!Files.exists(image) || Files.isRegularFile(image)) {
            try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
                if (f.length() < o.sizeBytes()) {
                    f.setLength(o.sizeBytes());
                }
            }
        }
        try (BlockDevice dev = FileBlockDevice.open(image, false)) {
            return format(dev, o);
        }
    }

    /** Formats {@code dev}, which must hold at least the filesystem's size; the caller closes it. */
    public static Result format(BlockDevice dev, MkfsOptions o) throws IOException {
        long devSize = dev.size();
        long want = o.sizeBytes() == 0 ? devSize : o.sizeBytes();
        long total = want / o.sectorsize() * o.sectorsize();
        if (Long.compareUnsigned(want, devSize) > 0) {
            throw new IllegalArgumentException("size " + Le.u64s(want) + " is larger than the device (" + devSize + " bytes)");
        }
        MkfsLayout layout = MkfsLayout.plan(total, o.metadataProfile(), o.dataProfile());
        wipeSuperblocks(dev, devSize);
        Random rnd = new SecureRandom();
        byte[] fsid = o.fsid() != null ? o.fsid() : Uuids.random(rnd);
        byte[] devUuid = o.deviceUuid() != null ? o.deviceUuid() : Uuids.random(rnd);
        byte[] chunkTreeUuid = Uuids.random(rnd);
        byte[] fsTreeUuid = Uuids.random(rnd);
        Timespec now = Timespec.ofEpochNanos(nanosNow());

        Superblock sb = superblockTemplate(o, total, layout, fsid, devUuid);
        ChunkMap chunks = new ChunkMap(1);
        for (MkfsLayout.Chunk c : layout.chunks()) {
            chunks.add(c.logical(), chunkItem(c, o, devUuid));
        }
        FsInfo fs = FsInfo.forNewFilesystem(dev, sb, chunks, OpenOptions.readOnlyDefaults());
        BlockGroups groups = new BlockGroups(o.sectorsize());
        for (MkfsLayout.Chunk c : layout.chunks()) {
            groups.makeBlockGroup(chunks.find(c.logical()));
        }
        FsTrees trees = FsTrees.create(fs, groups, chunkTreeUuid);
        TransHandle h = trees.transactions().start();
        long t = h.transid();
        if (t != FIRST_TRANSID) {
            throw new AssertionError("mkfs runs in transaction " + FIRST_TRANSID + ", got " + t);
        }
        insertAll(trees.root(ObjectIds.CHUNK_TREE), trees, t, chunkTreeItems(layout, o, sb.devItem(), devUuid));
        RootItem plain = rootItem(o, 0, new byte[16], Timespec.ZERO);
        trees.createTree(t, ObjectIds.EXTENT_TREE, plain);
        CowRoot devTree = trees.createTree(t, ObjectIds.DEV_TREE, plain);
        CowRoot fsTree = trees.createTree(t, ObjectIds.FS_TREE, rootItem(o, ROOT_DIR, fsTreeUuid, now));
        trees.createTree(t, ObjectIds.CSUM_TREE, plain);
        CowRoot uuidTree = trees.createTree(t, ObjectIds.UUID_TREE, plain);
        trees.createTree(t, ObjectIds.FREE_SPACE_TREE, plain);
        CowRoot reloc = trees.createTree(t, ObjectIds.DATA_RELOC_TREE, rootItem(o, ROOT_DIR, new byte[16], Timespec.ZERO));
        insertAll(devTree, trees, t, devExtents(layout, chunkTreeUuid));
        insertAll(trees.root(ObjectIds.ROOT_TREE), trees, t, rootTreeDir(t, now));
        insertAll(fsTree, trees, t, rootDirectory(t, now, now));
        insertAll(reloc, trees, t, rootDirectory(t, now, Timespec.ZERO));
        insertAll(uuidTree, trees, t, List.of(uuidSubvolItem(fsTreeUuid, ObjectIds.FS_TREE)));
        trees.transactions().commit(h);
        if (trees.superblock().generation() != FIRST_TRANSID) {
            throw new AssertionError("mkfs committed generation " + trees.superblock().generation());
        }
        return new Result(o, total, fsid, devUuid, layout);
    }

    /**
     * Zeroes every superblock copy the device has room for, before any tree block is written: an
     * older filesystem's superblock must not survive to point into blocks we overwrite. Until our
     * commit writes the new copies, the device holds no valid superblock at all.
     */
    private static void wipeSuperblocks(BlockDevice dev, long devSize) throws IOException {
        byte[] zero = new byte[Superblock.SIZE];
        for (long off : Superblock.MIRROR_OFFSETS) {
            if (off + Superblock.SIZE <= devSize) {
                dev.write(off, zero, 0, zero.length);
            }
        }
        dev.flush();
    }

    private static long nanosNow() {
        Instant i = Instant.now();
        return i.getEpochSecond() * 1_000_000_000L + i.getNano();
    }

    /** Every superblock field but the roots, which the commit fills. */
    static Superblock superblockTemplate(MkfsOptions o, long total, MkfsLayout layout, byte[] fsid, byte[] devUuid) {
        Superblock sb = Superblock.blank();
        sb.setFsid(fsid);
        // BTRFS_HEADER_FLAG_WRITTEN: progs and the kernel set it on every superblock they write.
        sb.setFlags(1);
        sb.setTotalBytes(total);
        sb.setRootDirObjectid(ObjectIds.ROOT_TREE_DIR);
        sb.setNumDevices(1);
        sb.setSectorsize(o.sectorsize());
        sb.setNodesize(o.nodesize());
        sb.setStripesize(o.sectorsize());
        sb.setCompatRoFlags(COMPAT_RO_FLAGS);
        sb.setIncompatFlags(INCOMPAT_FLAGS);
        sb.setCsumType(o.csumType());
        sb.setLabel(o.label());
        sb.setDevItem(new DevItem(1, total, layout.deviceBytesUsed(), o.sectorsize(), o.sectorsize(), o.sectorsize(), 0, 0, 0,
                0, 0, 0, devUuid, fsid));
        MkfsLayout.Chunk sys = layout.chunk(org.jbtrfs.format.BlockGroupItem.SYSTEM);
        byte[] key = new byte[DiskKey.SIZE];
        new DiskKey(ObjectIds.FIRST_CHUNK_TREE, ItemType.CHUNK_ITEM, sys.logical()).write(key, 0);
        byte[] item = chunkItem(sys, o, devUuid).encode();
        byte[] array = new byte[key.length + item.length];
        System.arraycopy(key, 0, array, 0, key.length);
        System.arraycopy(item, 0, array, key.length, item.length);
        sb.setSysChunkArray(array);
        return sb;
    }

    /** A chunk as progs writes it: owner EXTENT_TREE, io_align = io_width = stripe_len, sub_stripes 1. */
    static ChunkItem chunkItem(MkfsLayout.Chunk c, MkfsOptions o, byte[] devUuid) {
        List<ChunkItem.Stripe> stripes = new ArrayList<>();
        for (long off : c.stripeOffsets()) {
            stripes.add(new ChunkItem.Stripe(1, off, devUuid.clone()));
        }
        return new ChunkItem(c.length(), ObjectIds.EXTENT_TREE, MkfsLayout.STRIPE_LEN, c.flags(), MkfsLayout.STRIPE_LEN,
                MkfsLayout.STRIPE_LEN, o.sectorsize(), 1, stripes);
    }

    private record KeyedItem(DiskKey key, byte[] data) {
    }

    private static List<KeyedItem> chunkTreeItems(MkfsLayout layout, MkfsOptions o, DevItem dev, byte[] devUuid) {
        List<KeyedItem> items = new ArrayList<>();
        items.add(new KeyedItem(new DiskKey(ObjectIds.DEV_ITEMS, ItemType.DEV_ITEM, dev.devid()), dev.toBytes()));
        for (MkfsLayout.Chunk c : layout.chunks()) {
            items.add(new KeyedItem(ChunkMap.chunkKey(c.logical()), chunkItem(c, o, devUuid).encode()));
        }
        return items;
    }

    private static List<KeyedItem> devExtents(MkfsLayout layout, byte[] chunkTreeUuid) {
        List<KeyedItem> items = new ArrayList<>();
        for (MkfsLayout.Chunk c : layout.chunks()) {
            for (long off : c.stripeOffsets()) {
                byte[] d = new DevExtent(ObjectIds.CHUNK_TREE, ObjectIds.FIRST_CHUNK_TREE, c.logical(), c.length(),
                        chunkTreeUuid).encode();
                items.add(new KeyedItem(new DiskKey(1, ItemType.DEV_EXTENT, off), d));
            }
        }
        return items;
    }

    /**
     * The root tree's directory 6 (btrfs_make_root_dir in progs): its inode, its ".." ref, the
     * "default" entry naming the fs tree, and — a progs habit the kernel never repeats — an
     * INODE_REF "default" of the fs tree in directory 6.
     */
    private static List<KeyedItem> rootTreeDir(long t, Timespec now) {
        byte[] name = "default".getBytes(StandardCharsets.UTF_8);
        DirItem entry = new DirItem(new DiskKey(ObjectIds.FS_TREE, ItemType.ROOT_ITEM, -1L), 0, DirItem.FT_DIR, name,
                new byte[0]);
        long dir = ObjectIds.ROOT_TREE_DIR;
        return List.of(
                new KeyedItem(new DiskKey(ObjectIds.FS_TREE, ItemType.INODE_REF, dir),
                        InodeRef.encodeAll(List.of(new InodeRef(0, name)))),
                new KeyedItem(new DiskKey(dir, ItemType.INODE_ITEM, 0), directoryInode(t, now, now).encode()),
                new KeyedItem(new DiskKey(dir, ItemType.INODE_REF, dir), dotDot()),
                new KeyedItem(new DiskKey(dir, ItemType.DIR_ITEM, Crc32c.nameHash(name)), DirItem.encodeAll(List.of(entry))));
    }

    /** Inode 256 of a subvolume: an empty directory whose ".." is itself. */
    private static List<KeyedItem> rootDirectory(long t, Timespec now, Timespec otime) {
        return List.of(
                new KeyedItem(new DiskKey(ROOT_DIR, ItemType.INODE_ITEM, 0), directoryInode(t, now, otime).encode()),
                new KeyedItem(new DiskKey(ROOT_DIR, ItemType.INODE_REF, ROOT_DIR), dotDot()));
    }

    private static byte[] dotDot() {
        return InodeRef.encodeAll(List.of(new InodeRef(0, "..".getBytes(StandardCharsets.UTF_8))));
    }

    private static InodeItem directoryInode(long t, Timespec now, Timespec otime) {
        return new InodeItem(t, t, 0, 0, 0, 1, 0, 0, DIR_MODE, 0, 0, 0, now, now, now, otime);
    }

    /** UUID_KEY_SUBVOL: key (first half of the uuid, UUID_KEY_SUBVOL, second half), data the subvolume id. */
    private static KeyedItem uuidSubvolItem(byte[] uuid, long subvol) {
        byte[] d = new byte[8];
        Le.putU64(d, 0, subvol);
        return new KeyedItem(new DiskKey(Le.u64(uuid, 0), ItemType.UUID_KEY_SUBVOL, Le.u64(uuid, 8)), d);
    }

    /**
     * A ROOT_ITEM as progs writes it for a new tree: refs 1, bytes_used one node, the embedded
     * inode a directory of size 3 (btrfs_create_tree); bytenr, level and generation come later.
     */
    private static RootItem rootItem(MkfsOptions o, long rootDirid, byte[] uuid, Timespec time) {
        InodeItem inode = new InodeItem(1, 0, ROOT_INODE_SIZE, o.nodesize(), 0, 1, 0, 0, DIR_MODE, 0, 0, 0, Timespec.ZERO,
                Timespec.ZERO, Timespec.ZERO, Timespec.ZERO);
        byte[] zero = new byte[16];
        return new RootItem(inode, 0, rootDirid, 0, 0, o.nodesize(), 0, 0, 1, new DiskKey(0, 0, 0), 0, 0, 0, uuid, zero,
                zero.clone(), 0, 0, 0, 0, time, time, Timespec.ZERO, Timespec.ZERO);
    }

    private static void insertAll(CowRoot root, FsTrees trees, long t, List<KeyedItem> items) throws IOException {
        root.lock.writeLock().lock();
        try {
            for (KeyedItem it : items) {
                if (!trees.cow().insertItem(t, root, it.key(), it.data())) {
                    throw new AssertionError("tree " + root.id() + " already holds " + it.key());
                }
            }
        } finally {
            root.lock.writeLock().unlock();
        }
    }
}
