package org.jbtrfs.check;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.jbtrfs.Attr;
import org.jbtrfs.ctree.TreeRoot;
import org.jbtrfs.device.ChunkMap;
import org.jbtrfs.format.BlockGroupItem;
import org.jbtrfs.format.ChunkItem;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.ExtentItem;
import org.jbtrfs.format.Header;
import org.jbtrfs.format.InodeItem;
import org.jbtrfs.format.ItemType;
import org.jbtrfs.format.Le;
import org.jbtrfs.format.ObjectIds;
import org.jbtrfs.format.Superblock;
import org.jbtrfs.testing.KernelImages;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Each kind of damage a buggy writer could leave, made by editing a real image (mkfs.btrfs
 * --rootdir, no root needed) with every block checksum recomputed, so that only the consistency
 * checks can see it: our checker must report the expected problem, and btrfs check (where
 * installed) must fail too, so that we know the damage is real and not our invention.
 */
class CorruptionTest {
    @TempDir
    static Path tmp;
    private static byte[] pristine;
    /** The pristine image on disk, for btrfs check: each case patches the pages it changed, then restores them. */
    private static Path onDisk;
    /** Granularity of those patches. */
    private static final int PAGE = 4096;

    /** An edit of the image and what the checker must say about it. */
    @FunctionalInterface
    interface Damage {
        void apply(ImageEditor ed) throws IOException;
    }

    @BeforeAll
    static void buildImage() throws Exception {
        TestImages.assumeMkfs();
        Path img = TestImages.rootdirImage(tmp.resolve("base.img"), TestImages.hostTree(tmp.resolve("src")),
                TestImages.ROOTDIR_IMAGE_BYTES);
        pristine = Files.readAllBytes(img);
        onDisk = img;
        try (ImageEditor ed = new ImageEditor(pristine.clone())) {
            CheckReport r = ed.check(true);
            assertTrue(r.clean(), "the undamaged image must check clean: " + r);
        }
    }

    /** Applies the damage to a copy, checks it with us and with btrfs check; returns our report. */
    private static CheckReport damaged(String name, Damage d, String area, String expect) throws IOException {
        CheckReport r;
        byte[] img = pristine.clone();
        try (ImageEditor ed = new ImageEditor(img)) {
            d.apply(ed);
            r = ed.check(true);
        }
        System.out.println("CorruptionTest " + name + ": " + r);
        assertFalse(r.clean(), name + ": not detected");
        assertTrue(r.problems().stream().anyMatch(p -> p.area().equals(area) && p.message().contains(expect)),
                name + ": expected a problem in " + area + " containing '" + expect + "', got " + r);
        if (CheckAssertions.haveBtrfsProgs()) {
            KernelImages.Result progs;
            patch(img);
            try {
                progs = CheckAssertions.btrfsCheck(onDisk);
            } finally {
                patch(pristine);
            }
            assertNotEquals(0, progs.exitCode(), name + ": btrfs check does not flag it:\n" + progs.output());
        }
        return r;
    }

    /**
     * Writes the pages of {@code img} that differ from the pristine image into {@link #onDisk}, or,
     * given the pristine image itself, puts back the pages the last patch changed.
     */
    private static void patch(byte[] img) throws IOException {
        try (FileChannel ch = FileChannel.open(onDisk, StandardOpenOption.WRITE)) {
            if (img == pristine) {
                for (int p : dirty) {
                    ch.write(ByteBuffer.wrap(pristine, p, Math.min(PAGE, pristine.length - p)), p);
                }
                dirty.clear();
                return;
            }
            for (int p = 0; p < img.length; p += PAGE) {
                int n = Math.min(PAGE, img.length - p);
                if (!Arrays.equals(img, p, p + n, pristine, p, p + n)) {
                    dirty.add(p);
                    ch.write(ByteBuffer.wrap(img, p, n), p);
                }
            }
        }
    }

    /** Pages of {@link #onDisk} that a case changed. */
    private static final java.util.Set<Integer> dirty = new java.util.HashSet<>();

    @Test
    void wrongBlockGroupUsed() throws IOException {
        damaged("bg-used", ed -> {
            ChunkMap.Mapping data = ed.fs().chunks().stream().filter(m -> (m.type() & BlockGroupItem.DATA) != 0)
                    .findFirst().orElseThrow();
            ImageEditor.Location at = ed.locate(ed.tree(ObjectIds.EXTENT_TREE),
                    new DiskKey(data.logical(), ItemType.BLOCK_GROUP_ITEM, data.length()));
            ed.editLeaf(at, b -> {
                int o = ImageEditor.dataOffset(b, at.slot());
                Le.putU64(b, o, Le.u64(b, o) + 4096);
            });
        }, "block-group", "(sum of its extents)");
    }

    @Test
    void wrongNlink() throws IOException {
        damaged("nlink", ed -> {
            TreeRoot fs = ed.tree(ObjectIds.FS_TREE);
            DiskKey key = find(ed, fs, (k, b, o, l) -> k.type() == ItemType.INODE_ITEM
                    && InodeItem.decode(b, o, l).nlink() == 2
                    && (InodeItem.decode(b, o, l).mode() & Attr.S_IFMT) == Attr.S_IFREG);
            ImageEditor.Location at = ed.locate(fs, key);
            ed.editLeaf(at, b -> Le.putU32(b, ImageEditor.dataOffset(b, at.slot()) + 40, 3));
        }, "fs-tree 5", "nlink 3, but it has 2 names");
    }

    @Test
    void missingDirIndex() throws IOException {
        CheckReport r = damaged("dir-index", ed -> {
            TreeRoot fs = ed.tree(ObjectIds.FS_TREE);
            DiskKey key = findDeletable(ed, fs, ItemType.DIR_INDEX);
            ImageEditor.Location at = ed.locate(fs, key);
            ed.editLeaf(at, b -> ImageEditor.deleteItem(b, at.slot()));
        }, "fs-tree 5", ": no DIR_INDEX");
        assertTrue(r.problems().stream().anyMatch(p -> p.message().contains("i_size")),
                "the directory's i_size no longer adds up either: " + r);
    }

    @Test
    void missingExtentBackref() throws IOException {
        damaged("extent-backref", ed -> {
            TreeRoot extents = ed.tree(ObjectIds.EXTENT_TREE);
            DiskKey key = find(ed, extents, (k, b, o, l) -> k.type() == ItemType.EXTENT_ITEM
                    && (Le.u64(b, o + 16) & ExtentItem.FLAG_DATA) != 0 && l == ExtentItem.SIZE + 29);
            ImageEditor.Location at = ed.locate(extents, key);
            ed.editLeaf(at, b -> ImageEditor.resizeItem(b, at.slot(), ExtentItem.SIZE));
        }, "extent", "is missing from the extent tree");
    }

    @Test
    void wrongSuperblockBytesUsed() throws IOException {
        damaged("super-bytes-used", ed -> ed.editSuperblocks(sb -> sb.setBytesUsed(sb.bytesUsed() + 16384)),
                "superblock", "bytes_used");
    }

    @Test
    void wrongFreeSpaceExtent() throws IOException {
        damaged("free-space-extent", ed -> {
            TreeRoot fst = ed.tree(ObjectIds.FREE_SPACE_TREE);
            List<long[]> supers = superLogicals(ed);
            // A free extent of a live block group whose last sector is no superblock copy's.
            DiskKey key = find(ed, fst, (k, b, o, l) -> k.type() == ItemType.FREE_SPACE_EXTENT
                    && k.offset() > 4096 && ed.fs().chunkMap().find(k.objectid()) != null
                    && supers.stream().noneMatch(s -> k.objectid() + k.offset() > s[0]
                            && k.objectid() + k.offset() - 4096 < s[1]));
            ImageEditor.Location at = ed.locate(fst, key);
            assertTrue(at.slot() > 0 || at.leafIsRoot(), "the first key of a leaf would need its parent changed");
            ed.editLeaf(at, b -> {
                int k = Header.itemOffset(at.slot());
                Le.putU64(b, k + DiskKey.OFF_OFFSET, Le.u64(b, k + DiskKey.OFF_OFFSET) - 4096);
            });
        }, "free-space", "is free by the extent tree but not in the free space tree");
    }

    @Test
    void missingCsum() throws IOException {
        damaged("csum", ed -> {
            TreeRoot csums = ed.tree(ObjectIds.CSUM_TREE);
            int size = ed.fs().csumType().size();
            DiskKey key = find(ed, csums, (k, b, o, l) -> k.type() == ItemType.EXTENT_CSUM && l >= 4 * size);
            ImageEditor.Location at = ed.locate(csums, key);
            ed.editLeaf(at, b -> ImageEditor.resizeItem(b, at.slot(), ImageEditor.itemSize(b, at.slot()) - size));
        }, "csum", "csums missing");
    }

    @Test
    void treeBlockWithWrongOwner() throws IOException {
        damaged("owner", ed -> {
            TreeRoot csums = ed.tree(ObjectIds.CSUM_TREE);
            ImageEditor.Location at = new ImageEditor.Location(csums.bytenr(), 0,
                    ed.fs().chunkMap().map(csums.bytenr(), ed.fs().nodesize()), true);
            ed.editLeaf(at, b -> Header.setOwner(b, ObjectIds.DEV_TREE));
        }, "tree CSUM_TREE", "has owner DEV_TREE");
    }

    @Test
    void leafKeyBeyondItsParentsRange() throws IOException {
        damaged("key-range", ed -> {
            TreeRoot fs = ed.tree(ObjectIds.FS_TREE);
            List<DiskKey> keys = new ArrayList<>();
            ed.fs().btree().scan(fs, DiskKey.MIN, DiskKey.MAX, (k, b, o, l) -> keys.add(k));
            for (int i = 0; i + 1 < keys.size(); i++) {
                ImageEditor.Location a = ed.locate(fs, keys.get(i));
                if (a.leaf() != ed.locate(fs, keys.get(i + 1)).leaf()) {
                    DiskKey next = keys.get(i + 1);
                    // The last key of a leaf becomes the first key of the next one: still sorted in its leaf.
                    ed.editLeaf(a, b -> next.write(b, Header.itemOffset(a.slot())));
                    return;
                }
            }
            throw new AssertionError("the fs tree has a single leaf");
        }, "fs-tree 5", "is not below the parent's next key");
    }

    @Test
    void problemsAreCappedButCounted() throws IOException {
        byte[] img = pristine.clone();
        try (ImageEditor ed = new ImageEditor(img)) {
            TreeRoot csums = ed.tree(ObjectIds.CSUM_TREE);
            ImageEditor.Location at = ed.locate(csums, find(ed, csums, (k, b, o, l) -> k.type() == ItemType.EXTENT_CSUM));
            ed.editLeaf(at, b -> {
                while (Header.nritems(b) > 0) {
                    ImageEditor.deleteItem(b, 0);
                }
            });
            CheckReport r = new Checker(ed.fs(), new CheckOptions(false, 3)).run();
            assertTrue(r.problemsFound() > 3, r.toString());
            assertTrue(r.problems().size() == 3, r.toString());
            assertTrue(r.summary().contains("(3 listed)"), r.summary());
        }
    }

    // ---------------------------------------------------------------- finding targets

    /** The first key in {@code root} whose item satisfies {@code p}. */
    static DiskKey find(ImageEditor ed, TreeRoot root, org.jbtrfs.ctree.BTree.ItemVisitor p) throws IOException {
        AtomicReference<DiskKey> out = new AtomicReference<>();
        ed.fs().btree().scan(root, DiskKey.MIN, DiskKey.MAX, (k, b, o, l) -> {
            if (p.visit(k, b, o, l)) {
                out.set(k);
                return false;
            }
            return true;
        });
        assertNotNull(out.get(), "no item matches in tree " + root.id());
        return out.get();
    }

    /** An item of {@code type} that can be deleted without touching a parent node (not a leaf's first). */
    private static DiskKey findDeletable(ImageEditor ed, TreeRoot root, int type) throws IOException {
        List<DiskKey> all = new ArrayList<>();
        ed.fs().btree().scan(root, DiskKey.MIN, DiskKey.MAX, (k, b, o, l) -> {
            if (k.type() == type) {
                all.add(k);
            }
            return true;
        });
        for (DiskKey k : all) {
            ImageEditor.Location at = ed.locate(root, k);
            if (at.slot() > 0 || at.leafIsRoot()) {
                return k;
            }
        }
        throw new AssertionError("no deletable " + ItemType.name(type));
    }

    /** Logical ranges where superblock copies are (the checker leaves them out of free space). */
    private static List<long[]> superLogicals(ImageEditor ed) {
        List<long[]> out = new ArrayList<>();
        for (ChunkMap.Mapping m : ed.fs().chunks()) {
            for (ChunkItem.Stripe s : m.stripes()) {
                for (long mirror : Superblock.MIRROR_OFFSETS) {
                    if (mirror >= s.offset() && mirror < s.offset() + m.length()) {
                        long l = m.logical() + mirror - s.offset();
                        out.add(new long[] {l, l + 65536});
                    }
                }
            }
        }
        return out;
    }
}
