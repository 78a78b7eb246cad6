package org.jbtrfs.extent;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.jbtrfs.CorruptImageException;
import org.jbtrfs.ctree.CowBTree;
import org.jbtrfs.ctree.CowRoot;
import org.jbtrfs.ctree.ExtentBuffer;
import org.jbtrfs.ctree.Path;
import org.jbtrfs.format.BlockGroupItem;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.FreeSpaceInfo;
import org.jbtrfs.format.ItemType;
import org.jbtrfs.format.Le;
import org.jbtrfs.format.ObjectIds;

/**
 * Writes a dirty block group into the trees at commit: its BLOCK_GROUP_ITEM (write_one_cache_group
 * in block-group.c) and its free space tree entries (free-space-tree.c). The free space tree is
 * kept in extent form: the entries that changed since the last write are deleted or inserted, so
 * the cost follows the change, not the size of the group; a group the kernel left in bitmap form
 * is converted once.
 *
 * <p>Both changes COW tree blocks, which queues delayed refs, which may dirty block groups again:
 * the commit repeats "run delayed refs, write block groups" until nothing is dirty.
 */
public final class BlockGroupWriter {
    private final CowBTree cow;

    public BlockGroupWriter(CowBTree cow) {
        this.cow = cow;
    }

    /** Updates the group's BLOCK_GROUP_ITEM in {@code bgRoot} (the extent tree, or the block group tree). */
    public void writeItem(long transid, CowRoot bgRoot, BlockGroup bg) throws IOException {
        long used = bg.used();
        DiskKey key = new DiskKey(bg.start(), ItemType.BLOCK_GROUP_ITEM, bg.length());
        byte[] item = new BlockGroupItem(used, ObjectIds.FIRST_CHUNK_TREE, bg.flags()).encode();
        bgRoot.lock.writeLock().lock();
        try (Path p = new Path()) {
            if (!cow.searchForWrite(transid, bgRoot, key, p, 0, 0)) {
                if (!cow.insertItem(transid, bgRoot, key, item)) {
                    throw new AssertionError("BLOCK_GROUP_ITEM appeared while inserting it: " + key);
                }
                return;
            }
            ExtentBuffer leaf = p.leaf();
            if (leaf.itemSize(p.slot()) != BlockGroupItem.SIZE) {
                throw new CorruptImageException("BLOCK_GROUP_ITEM " + key + " has size " + leaf.itemSize(p.slot()));
            }
            System.arraycopy(item, 0, leaf.data(), leaf.itemDataOffset(p.slot()), item.length);
        } finally {
            bgRoot.lock.writeLock().unlock();
        }
    }

    /** Brings the group's free space tree entries in line with its free space on disk. */
    public void writeFreeSpace(long transid, CowRoot fst, BlockGroup bg) throws IOException {
        FreeSpaceMap now;
        FreeSpaceMap before;
        boolean bitmaps;
        bg.lock.lock();
        try {
            now = new FreeSpaceMap(bg.freeOnDisk);
            before = bg.committedFreeSpaceTree;
            bitmaps = bg.freeSpaceTreeUsesBitmaps;
        } finally {
            bg.lock.unlock();
        }
        fst.lock.writeLock().lock();
        try {
            if (bitmaps) {
                deleteAllEntries(transid, fst, bg);
                before = new FreeSpaceMap();
            }
            for (Map.Entry<Long, Long> r : before.rangesNotIn(now).entrySet()) {
                DiskKey k = new DiskKey(r.getKey(), ItemType.FREE_SPACE_EXTENT, r.getValue() - r.getKey());
                if (!cow.deleteItem(transid, fst, k)) {
                    throw new CorruptImageException("free space tree lacks " + k + " for " + bg);
                }
            }
            for (Map.Entry<Long, Long> r : now.rangesNotIn(before).entrySet()) {
                DiskKey k = new DiskKey(r.getKey(), ItemType.FREE_SPACE_EXTENT, r.getValue() - r.getKey());
                if (!cow.insertItem(transid, fst, k, new byte[0])) {
                    throw new CorruptImageException("free space tree already holds " + k + " for " + bg);
                }
            }
            byte[] info = new FreeSpaceInfo(now.extentCount(), 0).encode();
            DiskKey infoKey = new DiskKey(bg.start(), ItemType.FREE_SPACE_INFO, bg.length());
            try (Path p = new Path()) {
                if (cow.searchForWrite(transid, fst, infoKey, p, 0, 0)) {
                    System.arraycopy(info, 0, p.leaf().data(), p.leaf().itemDataOffset(p.slot()), info.length);
                } else {
                    p.close();
                    cow.insertItem(transid, fst, infoKey, info);
                }
            }
        } finally {
            fst.lock.writeLock().unlock();
        }
        bg.lock.lock();
        try {
            bg.committedFreeSpaceTree = now;
            bg.freeSpaceTreeUsesBitmaps = false;
        } finally {
            bg.lock.unlock();
        }
    }

    /** Deletes every FREE_SPACE_EXTENT and FREE_SPACE_BITMAP item inside the group. */
    private void deleteAllEntries(long transid, CowRoot fst, BlockGroup bg) throws IOException {
        List<DiskKey> keys = new ArrayList<>();
        cow.reader().scan(fst.current(), new DiskKey(bg.start(), ItemType.FREE_SPACE_EXTENT, 0),
                new DiskKey(bg.end() - 1, ItemType.FREE_SPACE_BITMAP, -1L), (key, b, o, l) -> {
                    if (key.type() == ItemType.FREE_SPACE_EXTENT || key.type() == ItemType.FREE_SPACE_BITMAP) {
                        keys.add(key);
                    }
                    return true;
                });
        for (DiskKey k : keys) {
            if (!cow.deleteItem(transid, fst, k)) {
                throw new AssertionError("free space item vanished: " + k + " in " + Le.u64s(bg.start()));
            }
        }
    }

    /**
     * Deletes a removed (empty, read-only) group's BLOCK_GROUP_ITEM and, with a free space tree
     * ({@code fst} not null), its FREE_SPACE_INFO and free space entries (btrfs_remove_block_group).
     */
    public void deleteGroup(long transid, CowRoot bgRoot, CowRoot fst, BlockGroup bg) throws IOException {
        bgRoot.lock.writeLock().lock();
        try {
            cow.deleteItem(transid, bgRoot, new DiskKey(bg.start(), ItemType.BLOCK_GROUP_ITEM, bg.length()));
        } finally {
            bgRoot.lock.writeLock().unlock();
        }
        if (fst == null) {
            return;
        }
        fst.lock.writeLock().lock();
        try {
            deleteAllEntries(transid, fst, bg);
            cow.deleteItem(transid, fst, new DiskKey(bg.start(), ItemType.FREE_SPACE_INFO, bg.length()));
        } finally {
            fst.lock.writeLock().unlock();
        }
    }

    /** For a freshly loaded group whose free space tree entries are bitmaps. */
    static void markBitmaps(BlockGroup bg, boolean bitmaps) {
        bg.lock.lock();
        try {
            bg.freeSpaceTreeUsesBitmaps = bitmaps;
        } finally {
            bg.lock.unlock();
        }
    }
}
