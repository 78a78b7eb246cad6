package org.jbtrfs.file;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.jbtrfs.Filesystem;
import org.jbtrfs.FsException;
import org.jbtrfs.OpenOptions;
import org.jbtrfs.check.CheckAssertions;
import org.jbtrfs.ctree.CowBTree;
import org.jbtrfs.ctree.CowRoot;
import org.jbtrfs.ctree.Item;
import org.jbtrfs.device.FileBlockDevice;
import org.jbtrfs.disk.FsInfo;
import org.jbtrfs.format.Crc32c;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.InodeItem;
import org.jbtrfs.format.InodeRef;
import org.jbtrfs.format.ItemType;
import org.jbtrfs.format.ObjectIds;
import org.jbtrfs.format.Timespec;
import org.jbtrfs.transaction.FsTrees;
import org.jbtrfs.transaction.TransHandle;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Deleting files: dropAllExtents on files with kernel-written extents, extents of ours (one of
 * them written in the same transaction) and inline data, then removing the inode's items the way
 * unlink of the last link does (INODE_ITEM, INODE_REF, DIR_ITEM, DIR_INDEX, the directory's size):
 * the image is clean (no leaked extent, backref or csum) and the other files are intact.
 */
class DropAllExtentsTest {
    @TempDir
    Path tmp;

    private static final Timespec NOW = new Timespec(1_700_000_200L, 0);

    @Test
    void deletedFilesLeaveACleanImage() throws Exception {
        Path img = FileTestSupport.freshImage(tmp);
        Map<String, Long> inos = FileTestSupport.inodes(img);
        Random rnd = new Random(3);
        byte[] keep = new byte[200_000];
        rnd.nextBytes(keep);
        try (FsInfo fs = FsInfo.open(FileBlockDevice.open(img, false), FileTestSupport.verifying(false))) {
            FsTrees trees = FsTrees.open(fs);
            FileWriter w = new FileWriter(trees);
            TransHandle h = trees.transactions().start();
            byte[] b = new byte[700_000];
            rnd.nextBytes(b);
            w.write(h, ObjectIds.FS_TREE, inos.get("e0"), 0, b, 0, b.length, NOW);
            w.write(h, ObjectIds.FS_TREE, inos.get("e1"), 0, keep, 0, keep.length, NOW);
            w.write(h, ObjectIds.FS_TREE, inos.get("big"), 5000, b, 0, 9000, NOW); // splits the kernel's extent
            trees.transactions().commit(h);

            h = trees.transactions().start();
            w.write(h, ObjectIds.FS_TREE, inos.get("e0"), 100_000, b, 0, 50_000, NOW); // this transaction's extent
            for (String name : List.of("e0", "big", "small", "mid", "e2")) {
                long ino = inos.get(name);
                w.dropAllExtents(h, ObjectIds.FS_TREE, ino);
                assertEquals(0, FileTestSupport.extents(trees, ino).size(), name);
                assertEquals(0, FileTestSupport.inodeNow(trees, ino).nbytes(), name);
                removeInode(trees, h.transid(), name, ino);
            }
            TransHandle h2 = h;
            FsException dir = assertThrows(FsException.class,
                    () -> w.write(h2, ObjectIds.FS_TREE, 256, 0, new byte[1], 0, 1, NOW));
            assertTrue(dir.getMessage().contains("not a regular file"), dir.getMessage());
            trees.transactions().commit(h);
            assertEquals(FileTestSupport.dataExtentRanges(trees), FileTestSupport.csumRanges(trees));
        }
        CheckAssertions.assertClean(img);
        assertArrayEquals(keep, FileTestSupport.readCommitted(img, inos.get("e1")));
        try (Filesystem fs = Filesystem.open(img, OpenOptions.readOnlyDefaults())) {
            assertThrows(FsException.class, () -> fs.lookup(fs.root(), "big"));
        }
    }

    /** What unlink of the last link does to the items (the namespace side, done by hand here). */
    private static void removeInode(FsTrees trees, long transid, String name, long ino) throws Exception {
        CowRoot root = trees.root(ObjectIds.FS_TREE);
        CowBTree cow = trees.cow();
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        long parent = 256;
        root.lock.writeLock().lock();
        try {
            DiskKey refKey = new DiskKey(ino, ItemType.INODE_REF, parent);
            Item ref = trees.reader().lookup(root.current(), refKey);
            List<InodeRef> refs = InodeRef.decodeAll(ref.data(), 0, ref.size());
            assertEquals(1, refs.size());
            long index = refs.get(0).index();
            assertTrue(cow.deleteItem(transid, root, refKey));
            assertTrue(cow.deleteItem(transid, root, new DiskKey(ino, ItemType.INODE_ITEM, 0)));
            assertTrue(cow.deleteItem(transid, root, new DiskKey(parent, ItemType.DIR_INDEX, index)));
            assertTrue(cow.deleteItem(transid, root, new DiskKey(parent, ItemType.DIR_ITEM, Crc32c.nameHash(n))));
            DiskKey dirKey = new DiskKey(parent, ItemType.INODE_ITEM, 0);
            try (org.jbtrfs.ctree.Path p = new org.jbtrfs.ctree.Path()) {
                assertTrue(cow.searchForWrite(transid, root, dirKey, p, 0, 0));
                int off = p.leaf().itemDataOffset(p.slot());
                InodeItem d = InodeItem.read(p.leaf().data(), off);
                new InodeItem(d.generation(), transid, d.size() - 2L * n.length, d.nbytes(), d.blockGroup(), d.nlink(),
                        d.uid(), d.gid(), d.mode(), d.rdev(), d.flags(), d.sequence() + 1, d.atime(), NOW, NOW, d.otime())
                        .write(p.leaf().data(), off);
            }
        } finally {
            root.lock.writeLock().unlock();
        }
    }
}
