package org.jbtrfs.extent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.jbtrfs.OpenOptions;
import org.jbtrfs.ctree.TreeRoot;
import org.jbtrfs.device.FileBlockDevice;
import org.jbtrfs.disk.FsInfo;
import org.jbtrfs.extent.ExtentRefsHarness.ExtentState;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.ExtentItem;
import org.jbtrfs.format.ExtentItem.InlineRef;
import org.jbtrfs.format.ItemType;
import org.jbtrfs.format.ObjectIds;
import org.jbtrfs.testing.KernelImages;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The oracle for the backref rules: extent trees the Linux kernel wrote must satisfy them. The
 * kernel fills an image with a file reflinked many times (inline EXTENT_DATA_REFs overflowing into
 * keyed ones), thousands of small files with data extents, and a snapshot whose source is then
 * modified (COW of shared blocks: FULL_BACKREF, SHARED_BLOCK_REF, SHARED_DATA_REF). Then every
 * extent item is checked: the tree-checker rules {@link BackrefCodec#checkExtentItem} enforces, the
 * refs total against inline and keyed backrefs, keyed data refs at their hash, and — the point —
 * that {@link BackrefCodec#findInline} puts each inline ref exactly where the kernel put it.
 * Skipped unless kernel images can be made here (root, loop devices, btrfs-progs).
 */
class ExtentRefsKernelImageTest {
    @ParameterizedTest
    @ValueSource(ints = {4096, 16384})
    void kernelExtentTreesFollowOurBackrefRules(int nodesize, @TempDir Path dir) throws Exception {
        KernelImages.assumeAvailable();
        Path image = dir.resolve("refs-" + nodesize + ".img");
        KernelImages.build(image, 512L << 20, "max_inline=0", m -> m.sh(String.join("\n",
                "mkdir r",
                "head -c 200000 /dev/urandom > r/f",
                "for i in $(seq 1 70); do cp --reflink=always r/f r/c$i; done",
                "btrfs subvolume create sv >/dev/null",
                "for i in $(seq 1 1500); do echo $i > sv/s$i; done",
                "cp --reflink=always r/f sv/f",
                "sync",
                "btrfs subvolume snapshot sv snap >/dev/null",
                "sync",
                "for i in $(seq 1 97 1500); do echo x >> sv/s$i; done",
                "sync")), "-n", String.valueOf(nodesize));
        try (FileBlockDevice dev = FileBlockDevice.open(image, true);
                FsInfo fs = FsInfo.open(dev, OpenOptions.readOnlyDefaults())) {
            TreeRoot extentRoot = fs.requireTreeRoot(ObjectIds.EXTENT_TREE);
            TreeMap<Long, ExtentState> extents = ExtentRefsHarness.readExtentTree(fs.btree(), extentRoot, nodesize,
                    BackrefCodec.KERNEL_HASH);
            Map<String, Integer> seen = new TreeMap<>();
            int max = BackrefCodec.maxExtentItemSize(nodesize);
            for (ExtentState s : extents.values()) {
                checkInlinePositions(s);
                count(seen, s);
                if (!s.keyed().isEmpty() && s.keyed().get(0).type() == ItemType.EXTENT_DATA_REF) {
                    // The kernel went keyed only when the next inline ref would not fit under BTRFS_MAX_EXTENT_ITEM_SIZE.
                    int size = s.item().encode().length;
                    assertTrue(size + BackrefCodec.inlineRefSize(ItemType.EXTENT_DATA_REF) >= max,
                            s.key() + " is " + size + " bytes with keyed refs, max " + max);
                    seen.merge("full data items", 1, Integer::sum);
                    replayMatchesKernel(s, nodesize);
                }
            }
            System.out.println("ExtentRefsKernelImageTest nodesize " + nodesize + ": " + extents.size() + " extents, " + seen);
            assertTrue(seen.getOrDefault("keyed EXTENT_DATA_REF", 0) > 0, "no keyed data refs: " + seen);
            assertTrue(seen.getOrDefault("inline EXTENT_DATA_REF", 0) > 70, "few inline data refs: " + seen);
            assertTrue(seen.getOrDefault("skinny", 0) > 0 && seen.getOrDefault("fat", 0) == 0, seen.toString());
            // With 4 KiB nodes the subvolume has nodes below its root, whose COW gives their children shared block refs.
            assertTrue(nodesize != 4096
                    || seen.getOrDefault("inline SHARED_BLOCK_REF", 0) + seen.getOrDefault("keyed SHARED_BLOCK_REF", 0) > 0,
                    "no shared block refs: " + seen);
            assertTrue(seen.getOrDefault("FULL_BACKREF", 0) > 0, "no FULL_BACKREF blocks: " + seen);
            assertTrue(seen.getOrDefault("inline SHARED_DATA_REF", 0) + seen.getOrDefault("keyed SHARED_DATA_REF", 0) > 0,
                    "no shared data refs: " + seen);
        }
    }

    /**
     * Each inline ref sits where findInline would insert it among the others — the kernel's
     * lookup_inline_extent_backref order, reproduced. Refs sharing a sequence (hash collisions)
     * may be in either order and are skipped.
     */
    private static void checkInlinePositions(ExtentState s) {
        List<InlineRef> refs = s.item().inlineRefs();
        for (int i = 0; i < refs.size(); i++) {
            DelayedRefKey k = BackrefCodec.keyOf(refs.get(i));
            if (k == null || hasTwin(refs, i)) {
                continue;
            }
            List<InlineRef> others = new ArrayList<>(refs);
            others.remove(i);
            assertEquals(-i - 1, BackrefCodec.findInline(others, k, BackrefCodec.KERNEL_HASH),
                    s.key() + ": where " + k + " goes among " + others);
        }
    }

    /**
     * Replays the extent's backrefs through our runner, in the order the kernel added them (the
     * workload creates the clones one after the other, so ascending inode numbers, the shared ref
     * last: the backref key order), and expects the very same extent item and keyed items.
     */
    private static void replayMatchesKernel(ExtentState kernel, int nodesize) throws IOException {
        ExtentRefsHarness h = new ExtentRefsHarness(nodesize, new Random(nodesize));
        long b = 1L << 34;
        long numBytes = kernel.key().offset();
        boolean first = true;
        for (Map.Entry<DelayedRefKey, Long> e : new TreeMap<>(kernel.refs()).entrySet()) {
            DelayedRefKey k = e.getKey();
            h.refs.addDataRef(b, numBytes, k.isShared() ? 5 : k.root(), k.isShared() ? 257 : k.objectid(), k.offset(), k.parent(),
                    DelayedRefs.Action.ADD, (int) (long) e.getValue(), first, h.transid);
            first = false;
        }
        h.commit();
        ExtentState mine = ExtentRefsHarness.readExtentTree(h.coldReader(), h.extentRoot.commitRoot(), nodesize,
                BackrefCodec.KERNEL_HASH).get(b);
        assertEquals(kernel.item().refs(), mine.item().refs());
        assertEquals(kernel.item().inlineRefs(), mine.item().inlineRefs(), "inline refs of " + kernel.key());
        assertEquals(kernel.keyed().stream().map(k -> k.type() + "/" + k.offset()).toList(),
                mine.keyed().stream().map(k -> k.type() + "/" + k.offset()).toList(), "keyed refs of " + kernel.key());
    }

    private static boolean hasTwin(List<InlineRef> refs, int i) {
        InlineRef r = refs.get(i);
        long seq = BackrefCodec.seq(r, BackrefCodec.KERNEL_HASH);
        for (int j = 0; j < refs.size(); j++) {
            if (j != i && refs.get(j).type() == r.type() && BackrefCodec.seq(refs.get(j), BackrefCodec.KERNEL_HASH) == seq) {
                return true;
            }
        }
        return false;
    }

    private static void count(Map<String, Integer> seen, ExtentState s) {
        seen.merge(s.key().type() == ItemType.METADATA_ITEM ? "skinny"
                : (s.item().flags() & ExtentItem.FLAG_TREE_BLOCK) != 0 ? "fat" : "data items", 1, Integer::sum);
        if ((s.item().flags() & ExtentItem.FLAG_FULL_BACKREF) != 0) {
            seen.merge("FULL_BACKREF", 1, Integer::sum);
        }
        for (InlineRef r : s.item().inlineRefs()) {
            seen.merge("inline " + ItemType.name(r.type()), 1, Integer::sum);
        }
        for (DiskKey k : s.keyed()) {
            seen.merge("keyed " + ItemType.name(k.type()), 1, Integer::sum);
        }
    }
}
