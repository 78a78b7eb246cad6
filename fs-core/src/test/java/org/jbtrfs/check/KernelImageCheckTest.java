package org.jbtrfs.check;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;
import org.jbtrfs.ctree.TreeRoot;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.ExtentItem;
import org.jbtrfs.format.ItemType;
import org.jbtrfs.format.Le;
import org.jbtrfs.format.ObjectIds;
import org.jbtrfs.testing.KernelImages;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Images the Linux kernel wrote (mkfs.btrfs, then a loop mount as root) check clean with our
 * checker and with btrfs check, and damage to the parts only the kernel makes (shared snapshot
 * blocks with FULL_BACKREF) is found. Skipped, with the reason, where loop mounts are not
 * possible ({@link KernelImages#assumeAvailable()}).
 */
class KernelImageCheckTest {
    /** Small but above mkfs.btrfs's minimum with DUP metadata; the files are sparse. */
    private static final long IMAGE_BYTES = 320L << 20;

    @TempDir
    static Path work;

    @BeforeAll
    static void available() {
        KernelImages.assumeAvailable();
    }

    /** A bit of everything the kernel writes: see the script. */
    @Test
    void everydayImageChecksClean() throws Exception {
        Path img = KernelImages.build(work.resolve("everyday.img"), IMAGE_BYTES, "compress=zstd", m -> {
            m.sh("mkdir d big hard && for i in $(seq 1 200); do head -c $((i * 97 % 9000)) /dev/urandom > d/f$i; done"
                    + " && seq 1 100000 > d/text && cp --reflink=always d/text d/clone"
                    + " && dd if=/dev/urandom of=d/clone bs=4096 seek=3 count=2 conv=notrunc status=none"
                    + " && for i in $(seq 1 2000); do : > big/e$i; done"
                    + " && echo x > hard/h && for i in $(seq 1 60); do ln hard/h hard/$(printf 'n%0200d' $i); done"
                    + " && fallocate -l 8M pre && fallocate -n -l 4M -o 8M pre"
                    + " && dd if=/dev/urandom of=pre bs=4096 seek=10 count=3 conv=notrunc status=none"
                    + " && fallocate -p -o 40960 -l 8192 pre"
                    + " && head -c 3000000 /dev/urandom > rnd && fallocate -p -o 100000 -l 300000 rnd"
                    + " && truncate -s 20M rnd && truncate -s 2M rnd"
                    + " && : > nocow && chattr +C nocow && head -c 1000000 /dev/urandom > nocow"
                    + " && ln -s d/text sym && mkfifo fifo && mknod chr c 1 3"
                    + " && btrfs -q subvolume create sv && btrfs -q subvolume create sv/nested && cp -r d sv/"
                    + " && btrfs -q subvolume snapshot sv snap && btrfs -q subvolume snapshot -r sv snapro"
                    + " && echo change >> snap/d/text && rm snap/d/f1 snap/d/f2"
                    + " && btrfs -q subvolume create gone && cp -r d gone/ && sync && btrfs -q subvolume delete gone");
            m.remount("compress=lzo");
            m.sh("seq 1 50000 > lzo && printf 'inline' > inl");
            m.remount("compress=zlib");
            m.sh("seq 1 50000 > zlib && sync");
        });
        long t0 = System.nanoTime();
        CheckReport r = CheckAssertions.check(img, true);
        System.out.printf("KernelImageCheckTest: %s (%d ms)%n", r.summary(), (System.nanoTime() - t0) / 1_000_000);
        CheckAssertions.assertClean(img);
    }

    /**
     * Snapshots whose origin is changed and then deleted: blocks shared by several trees, with
     * FULL_BACKREF and SHARED_BLOCK_REF/SHARED_DATA_REF backrefs, owners that no longer exist.
     * Then one shared backref is pointed elsewhere, and both checkers must notice.
     */
    @Test
    void sharedSnapshotBlocks() throws Exception {
        // commit=1 lets the cleaner drop the deleted subvolume within a second or two.
        Path img = KernelImages.build(work.resolve("shared.img"), IMAGE_BYTES, "commit=1", m -> m.sh(
                "btrfs -q subvolume create a && mkdir a/d"
                + " && for i in $(seq 1 1500); do printf '%*d' $((i * 37 % 3000 + 1)) $i > a/d/f$i; done"
                + " && btrfs -q subvolume snapshot a s1 && btrfs -q subvolume snapshot a s2"
                + " && for i in $(seq 1 7 1500); do echo mod >> a/d/f$i; done"
                + " && for i in $(seq 3 11 1500); do rm s1/d/f$i; done && sync"
                + " && btrfs -q subvolume delete a && sync && btrfs -q subvolume sync ."
                + " && for i in $(seq 1 13 1500); do echo m2 >> s2/d/f$i; done"), "-n", "4096");
        CheckAssertions.assertClean(img);
        byte[] bytes = Files.readAllBytes(img);
        try (ImageEditor ed = new ImageEditor(bytes)) {
            TreeRoot extents = ed.tree(ObjectIds.EXTENT_TREE);
            AtomicLong parentAt = new AtomicLong(-1);
            DiskKey key = CorruptionTest.find(ed, extents, (k, b, o, l) -> {
                long at = sharedRefParentOffset(k, b, o, l);
                parentAt.set(at);
                return at >= 0;
            });
            ImageEditor.Location at = ed.locate(extents, key);
            ed.editLeaf(at, b -> {
                int p = ImageEditor.dataOffset(b, at.slot()) + (int) parentAt.get();
                Le.putU64(b, p, Le.u64(b, p) + 4096);
            });
            CheckReport r = ed.check(false);
            System.out.println("KernelImageCheckTest shared backref moved: " + r);
            assertTrue(r.problems().stream().anyMatch(p -> p.message().contains("SHARED_")
                    && p.message().contains("is missing from the extent tree")), r.toString());
            assertTrue(r.problems().stream().anyMatch(p -> p.message().contains("has no referrer")), r.toString());
        }
        Path bad = work.resolve("shared-bad.img");
        Files.write(bad, bytes);
        assertTrue(!CheckAssertions.btrfsCheck(bad).ok(), "btrfs check should flag the moved backref too");
        Files.delete(bad);
        halfDroppedSnapshotIsSkipped(Files.readAllBytes(img));
    }

    /**
     * A snapshot marked dead with its drop under way is not walked; the references only it held
     * must not turn into "no referrer" problems. Only the missing orphan item is reported.
     */
    private static void halfDroppedSnapshotIsSkipped(byte[] bytes) throws IOException {
        try (ImageEditor ed = new ImageEditor(bytes)) {
            long snap = CorruptionTest.find(ed, ed.fs().rootTree(), (k, b, o, l) -> k.type() == ItemType.ROOT_ITEM
                    && k.objectid() > ObjectIds.FIRST_FREE && ObjectIds.isSubvolumeId(k.objectid())).objectid();
            ImageEditor.Location at = ed.locate(ed.fs().rootTree(),
                    CorruptionTest.find(ed, ed.fs().rootTree(), (k, b, o, l) -> k.type() == ItemType.ROOT_ITEM
                            && k.objectid() == snap));
            ed.editLeaf(at, b -> {
                int o = ImageEditor.dataOffset(b, at.slot());
                Le.putU32(b, o + 216, 0); // refs
                new DiskKey(ObjectIds.FIRST_FREE + 1, ItemType.INODE_ITEM, 0).write(b, o + 220); // drop_progress
            });
            CheckReport r = ed.check(false);
            System.out.println("KernelImageCheckTest half-dropped snapshot: " + r);
            assertEquals(1, r.problemsFound(), r.toString());
            assertTrue(r.problems().get(0).message().contains("refs 0 but no orphan item"), r.toString());
            assertTrue(r.summary().contains("1 trees skipped"), r.summary());
        }
    }

    /** Offset in an extent item of the parent field of its first inline SHARED_* ref, or -1. */
    private static long sharedRefParentOffset(DiskKey k, byte[] b, int o, int l) {
        if (k.type() != ItemType.METADATA_ITEM && k.type() != ItemType.EXTENT_ITEM) {
            return -1;
        }
        boolean treeInfo = k.type() == ItemType.EXTENT_ITEM && (Le.u64(b, o + 16) & ExtentItem.FLAG_TREE_BLOCK) != 0;
        int p = ExtentItem.SIZE + (treeInfo ? ExtentItem.TREE_BLOCK_INFO_SIZE : 0);
        while (p < l) {
            int type = Le.u8(b, o + p);
            if (type == ItemType.SHARED_BLOCK_REF || type == ItemType.SHARED_DATA_REF) {
                return p + 1;
            }
            p += switch (type) {
                case ItemType.TREE_BLOCK_REF -> 9;
                case ItemType.EXTENT_DATA_REF -> 29;
                default -> l; // unknown: stop
            };
        }
        return -1;
    }

    /**
     * An image copied while mounted and frozen: an open unlinked file (an orphan item, nlink 0)
     * and a subvolume deleted a moment before (a dead root), states an unmount never leaves.
     */
    @Test
    void frozenMidFlightImage() throws Exception {
        Path img = work.resolve("live.img");
        Path copy = work.resolve("frozen.img");
        KernelImages.mkfs(img, IMAGE_BYTES, "-n", "4096");
        try (KernelImages.LoopMount m = KernelImages.mount(img, work.resolve("live.mnt"), null)) {
            m.sh("btrfs -q subvolume create big && mkdir big/d && for i in $(seq 1 3000); do echo $i > big/d/f$i; done"
                    + " && head -c 100000 /dev/urandom > of && sync"
                    + " && exec 3<of && rm of && btrfs -q subvolume delete big"
                    + " && fsfreeze -f . && cp --sparse=always " + img + " " + copy + " ; fsfreeze -u . ; exec 3<&-");
        }
        CheckReport r = CheckAssertions.check(copy, true);
        System.out.println("KernelImageCheckTest frozen: " + r.summary());
        CheckAssertions.assertClean(copy);
        try (ImageEditor ed = new ImageEditor(Files.readAllBytes(copy))) {
            AtomicLong orphans = new AtomicLong();
            ed.fs().btree().scan(ed.tree(ObjectIds.FS_TREE), DiskKey.MIN, DiskKey.MAX, (k, b, o, l) -> {
                if (k.type() == ItemType.ORPHAN_ITEM) {
                    orphans.incrementAndGet();
                }
                return true;
            });
            assertEquals(1, orphans.get(), "the frozen image should hold the open unlinked file's orphan item");
        }
    }

}
