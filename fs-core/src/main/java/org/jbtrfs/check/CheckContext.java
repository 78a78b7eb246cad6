package org.jbtrfs.check;

import java.io.IOException;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.jbtrfs.CorruptImageException;
import org.jbtrfs.ctree.BTree;
import org.jbtrfs.ctree.Item;
import org.jbtrfs.ctree.TreeRoot;
import org.jbtrfs.disk.FsInfo;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.Features;
import org.jbtrfs.format.Le;
import org.jbtrfs.format.ObjectIds;

/**
 * What the passes of one {@link Checker} run share: the filesystem, the findings, the counters,
 * and what one pass learns for a later one (the references the tree walks found, csum coverage,
 * the roots, the chunks). Single-threaded.
 */
final class CheckContext {
    final FsInfo fs;
    final CheckOptions options;
    final Findings findings;
    final Counters counters = new Counters();
    /** Every extent reference found by the tree walks, matched against the extent tree at the end. */
    final RefTable refs = new RefTable();
    /** Every tree block seen by any walk: a block's references are counted on its first visit only. */
    final LongHashSet seenBlocks = new LongHashSet();
    /** Logical ranges covered by data checksums (built by {@link CsumCheck}, read by the others). */
    final RangeList csumRanges = new RangeList();
    /** Data extents (disk_bytenr) referenced by a PREALLOC file extent that has checksums. */
    final Set<Long> preallocWithCsums = new HashSet<>();
    /** Trees not walked (dead roots half dropped): refs naming them are not held against the image. */
    final Set<Long> skippedTrees = new HashSet<>();
    /** The root tree's view: ROOT_ITEMs, ROOT_REFs and friends ({@link RootTreeCheck}). */
    RootTreeCheck roots;
    /** Chunks and devices ({@link ChunkCheck}). */
    ChunkCheck chunks;
    final long superGeneration;
    final boolean skinnyMetadata;
    final boolean noHoles;
    final int sectorsize;
    final int nodesize;
    private final Map<Long, TreeRoot> treeRoots = new HashMap<>();

    CheckContext(FsInfo fs, CheckOptions options) {
        this.fs = fs;
        this.options = options;
        this.findings = new Findings(options.maxProblems());
        this.superGeneration = fs.superblock().generation();
        long incompat = fs.superblock().incompatFlags();
        this.skinnyMetadata = (incompat & Features.INCOMPAT_SKINNY_METADATA) != 0;
        this.noHoles = (incompat & Features.INCOMPAT_NO_HOLES) != 0;
        this.sectorsize = fs.sectorsize();
        this.nodesize = fs.nodesize();
    }

    void problem(String area, String message) {
        findings.problem(area, message);
    }

    void warning(String area, String message) {
        findings.warning(area, message);
    }

    BTree btree() {
        return fs.btree();
    }

    /** The root of a global tree (extent, csum, ...), or null when the root tree has none. */
    TreeRoot globalRoot(long id) {
        return treeRoots.computeIfAbsent(id, k -> {
            try {
                return fs.treeRoot(k);
            } catch (IOException e) {
                return null;
            }
        });
    }

    /**
     * Looks an item up, turning damage met on the way into a problem and a null answer, so that
     * one bad block does not stop a pass.
     */
    Item lookup(TreeRoot root, DiskKey key, String area) throws IOException {
        try {
            return fs.btree().lookup(root, key);
        } catch (CorruptImageException e) {
            problem(area, "looking up " + key + " in tree " + Areas.treeName(root.id()) + ": " + oneLine(e));
            return null;
        }
    }

    /** Like {@link #lookup} for the item at or before {@code key}. */
    Item findAtOrBefore(TreeRoot root, DiskKey key, String area) throws IOException {
        try {
            return fs.btree().findAtOrBefore(root, key);
        } catch (CorruptImageException e) {
            problem(area, "looking up " + key + " in tree " + Areas.treeName(root.id()) + ": " + oneLine(e));
            return null;
        }
    }

    static String oneLine(Throwable e) {
        String m = e.getMessage();
        return m == null ? e.getClass().getSimpleName() : m.replace('\n', ' ');
    }

    static String u64(long v) {
        return Le.u64s(v);
    }

    /** Trees whose blocks snapshots may share (fs_root_objectid() in check/mode-common.h). */
    static boolean isFsLike(long id) {
        return ObjectIds.isSubvolumeId(id) || id == ObjectIds.DATA_RELOC_TREE || id == ObjectIds.TREE_RELOC;
    }
}
