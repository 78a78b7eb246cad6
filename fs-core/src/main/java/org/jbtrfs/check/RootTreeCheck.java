package org.jbtrfs.check;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.jbtrfs.ctree.Item;
import org.jbtrfs.ctree.TreeRoot;
import org.jbtrfs.format.Crc32c;
import org.jbtrfs.format.DirItem;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.Features;
import org.jbtrfs.format.ItemType;
import org.jbtrfs.format.Le;
import org.jbtrfs.format.ObjectIds;
import org.jbtrfs.format.RootItem;
import org.jbtrfs.format.RootRef;
import org.jbtrfs.format.U64Array;
import org.jbtrfs.format.Uuids;

/**
 * The root tree's own items and how subvolumes hang together (check_root_refs(),
 * check_root_item() and process_root_ref() in check/main.c; the UUID tree as uuid-tree.c keeps it):
 * <ol>
 *   <li>Every ROOT_ITEM decodes, names a generation not above the superblock's, and (for
 *       subvolumes) root_dirid 256; the global trees the features require exist.</li>
 *   <li>ROOT_REF (parent → child) and ROOT_BACKREF (child → parent) come in identical pairs; the
 *       child has a ROOT_ITEM; the parent's directory holds a DIR_ITEM and a DIR_INDEX with the
 *       same name and index pointing at (child ROOT_ITEM -1).</li>
 *   <li>Every subvolume is linked somewhere (has a ROOT_BACKREF) unless an orphan item marks it
 *       as being deleted; a dead root (refs 0) has its orphan item.</li>
 *   <li>UUID tree entries name existing subvolumes with that uuid (or received uuid).</li>
 * </ol>
 */
final class RootTreeCheck {
    /** A ROOT_ITEM and its key offset (the snapshot's transid; the source tree for relocation trees). */
    record Root(long id, long keyOffset, RootItem item) {
        TreeRoot treeRoot() {
            return new TreeRoot(id, item.bytenr(), item.level(), item.generation());
        }

        boolean dead() {
            return item.refs() == 0;
        }

        boolean partlyDropped() {
            return dead() && (item.dropProgress().objectid() != 0 || item.dropProgress().type() != 0
                    || item.dropProgress().offset() != 0 || item.dropLevel() != 0);
        }
    }

    private final CheckContext ctx;
    private final List<Root> roots = new ArrayList<>();
    private final Map<Long, Root> byId = new HashMap<>();
    /** (parent, child) → ROOT_REF, and (child, parent) → ROOT_BACKREF, keyed "a/b". */
    private final Map<String, RootRef> rootRefs = new TreeMap<>();
    private final Map<String, RootRef> rootBackrefs = new TreeMap<>();
    private final Map<Long, List<Long>> backrefParents = new HashMap<>();
    private final Set<Long> orphanRoots = new HashSet<>();
    private long defaultSubvol;

    RootTreeCheck(CheckContext ctx) {
        this.ctx = ctx;
    }

    List<Root> roots() {
        return roots;
    }

    Root root(long id) {
        return byId.get(id);
    }

    boolean hasOrphanItem(long id) {
        return orphanRoots.contains(id);
    }

    RootRef rootRef(long parent, long child) {
        return rootRefs.get(parent + "/" + child);
    }

    /** The parents a subvolume's ROOT_BACKREFs name. */
    List<Long> parentsOf(long child) {
        return backrefParents.getOrDefault(child, List.of());
    }

    /** Visitor for the root tree walk. */
    TreeWalker.LeafVisitor visitor() {
        return (key, b, off, len) -> {
            switch (key.type()) {
                case ItemType.ROOT_ITEM -> rootItem(key, RootItem.decode(b, off, len));
                case ItemType.ROOT_REF -> put(rootRefs, key, RootRef.decode(b, off, len));
                case ItemType.ROOT_BACKREF -> {
                    put(rootBackrefs, key, RootRef.decode(b, off, len));
                    backrefParents.computeIfAbsent(key.objectid(), k -> new ArrayList<>()).add(key.offset());
                }
                case ItemType.ORPHAN_ITEM -> {
                    if (key.objectid() == ObjectIds.ORPHAN) {
                        orphanRoots.add(key.offset());
                    }
                }
                case ItemType.DIR_ITEM -> {
                    if (key.objectid() == ObjectIds.ROOT_TREE_DIR) {
                        defaultDirItem(key, b, off, len);
                    }
                }
                default -> {
                }
            }
        };
    }

    private void put(Map<String, RootRef> m, DiskKey key, RootRef r) {
        if (m.put(key.objectid() + "/" + key.offset(), r) != null) {
            ctx.problem(Areas.ROOT, "duplicate " + key);
        }
    }

    private void rootItem(DiskKey key, RootItem ri) {
        Root r = new Root(key.objectid(), key.offset(), ri);
        roots.add(r);
        if (key.objectid() != ObjectIds.TREE_RELOC && byId.put(key.objectid(), r) != null) {
            ctx.problem(Areas.ROOT, "tree " + Areas.treeName(key.objectid()) + " has two ROOT_ITEMs");
        }
        String where = "ROOT_ITEM " + key;
        if (Long.compareUnsigned(ri.generation(), ctx.superGeneration) > 0) {
            ctx.problem(Areas.ROOT, where + ": generation " + Le.u64s(ri.generation()) + ", above the superblock's "
                    + Le.u64s(ctx.superGeneration));
        }
        if (ObjectIds.isSubvolumeId(key.objectid()) && ri.rootDirid() != ObjectIds.FIRST_FREE) {
            ctx.problem(Areas.ROOT, where + ": root_dirid " + Le.u64s(ri.rootDirid()) + ", expect 256");
        }
        if (Long.remainderUnsigned(ri.bytenr(), ctx.sectorsize) != 0) {
            ctx.problem(Areas.ROOT, where + ": bytenr " + Le.u64s(ri.bytenr()) + " is not sector aligned");
        }
    }

    private void defaultDirItem(DiskKey key, byte[] b, int off, int len) throws IOException {
        for (DirItem d : DirItem.decodeAll(b, off, len)) {
            if (new String(d.name(), java.nio.charset.StandardCharsets.ISO_8859_1).equals("default")) {
                defaultSubvol = d.location().objectid();
            }
        }
    }

    /** The global trees the superblock's features call for. */
    void checkRequiredTrees() {
        long[] required = {ObjectIds.EXTENT_TREE, ObjectIds.DEV_TREE, ObjectIds.FS_TREE, ObjectIds.CSUM_TREE};
        for (long id : required) {
            if (!byId.containsKey(id)) {
                ctx.problem(Areas.ROOT, "the root tree has no ROOT_ITEM for " + Areas.treeName(id));
            }
        }
        long ro = ctx.fs.superblock().compatRoFlags();
        if ((ro & Features.COMPAT_RO_FREE_SPACE_TREE) != 0 && !byId.containsKey(ObjectIds.FREE_SPACE_TREE)) {
            ctx.problem(Areas.ROOT, "FREE_SPACE_TREE is enabled but has no ROOT_ITEM");
        }
        if ((ro & Features.COMPAT_RO_BLOCK_GROUP_TREE) != 0 && !byId.containsKey(ObjectIds.BLOCK_GROUP_TREE)) {
            ctx.problem(Areas.ROOT, "BLOCK_GROUP_TREE is enabled but has no ROOT_ITEM");
        }
    }

    /** Cross-checks after every tree was walked. */
    void finish() throws IOException {
        for (Map.Entry<String, RootRef> e : rootRefs.entrySet()) {
            String[] pc = e.getKey().split("/");
            long parent = Long.parseLong(pc[0]);
            long child = Long.parseLong(pc[1]);
            RootRef back = rootBackrefs.get(child + "/" + parent);
            String what = "ROOT_REF " + Areas.treeName(parent) + " -> " + Areas.treeName(child) + " ("
                    + show(e.getValue()) + ")";
            if (back == null) {
                ctx.problem(Areas.ROOT, what + " has no matching ROOT_BACKREF");
            } else if (!back.equals(e.getValue())) {
                ctx.problem(Areas.ROOT, what + " differs from its ROOT_BACKREF (" + show(back) + ")");
            }
            if (!byId.containsKey(child) && !orphanRoots.contains(child)) {
                ctx.problem(Areas.ROOT, what + ": subvolume " + Areas.treeName(child) + " has no ROOT_ITEM");
            }
            checkDirEntries(parent, child, e.getValue(), what);
        }
        for (Map.Entry<String, RootRef> e : rootBackrefs.entrySet()) {
            String[] cp = e.getKey().split("/");
            if (!rootRefs.containsKey(cp[1] + "/" + cp[0])) {
                ctx.problem(Areas.ROOT, "ROOT_BACKREF " + Areas.treeName(Long.parseLong(cp[0])) + " -> "
                        + Areas.treeName(Long.parseLong(cp[1])) + " (" + show(e.getValue()) + ") has no matching ROOT_REF");
            }
        }
        for (Root r : roots) {
            checkLinked(r);
        }
        if (defaultSubvol != 0 && defaultSubvol != ObjectIds.FS_TREE && !byId.containsKey(defaultSubvol)) {
            ctx.problem(Areas.ROOT, "the default subvolume " + Areas.treeName(defaultSubvol) + " has no ROOT_ITEM");
        }
    }

    private void checkLinked(Root r) {
        if (r.dead()) {
            if (!orphanRoots.contains(r.id()) && r.id() != ObjectIds.TREE_RELOC
                    && ObjectIds.isSubvolumeId(r.id())) {
                ctx.problem(Areas.ROOT, "subvolume " + Areas.treeName(r.id()) + " has refs 0 but no orphan item");
            }
            return;
        }
        if (r.id() != ObjectIds.FS_TREE && ObjectIds.isSubvolumeId(r.id()) && parentsOf(r.id()).isEmpty()
                && !orphanRoots.contains(r.id())) {
            ctx.problem(Areas.ROOT, "subvolume " + Areas.treeName(r.id())
                    + " is not referenced (no ROOT_BACKREF, no orphan item)");
        }
    }

    /** The parent subvolume's directory holds the entry the ROOT_REF describes. */
    private void checkDirEntries(long parent, long child, RootRef ref, String what) throws IOException {
        Root p = byId.get(parent);
        if (p == null || p.partlyDropped()) {
            if (p == null) {
                ctx.problem(Areas.ROOT, what + ": parent subvolume " + Areas.treeName(parent) + " has no ROOT_ITEM");
            }
            return;
        }
        TreeRoot tr = p.treeRoot();
        DiskKey loc = new DiskKey(child, ItemType.ROOT_ITEM, -1L);
        Item di = ctx.lookup(tr, new DiskKey(ref.dirid(), ItemType.DIR_ITEM, Crc32c.nameHash(ref.name())), Areas.ROOT);
        if (!hasEntry(di, ref.name(), loc)) {
            ctx.problem(Areas.ROOT, what + ": no DIR_ITEM for it in directory " + Le.u64s(ref.dirid()) + " of "
                    + Areas.tree(parent));
        }
        Item dx = ctx.lookup(tr, new DiskKey(ref.dirid(), ItemType.DIR_INDEX, ref.sequence()), Areas.ROOT);
        if (!hasEntry(dx, ref.name(), loc)) {
            ctx.problem(Areas.ROOT, what + ": no DIR_INDEX " + Le.u64s(ref.sequence()) + " for it in directory "
                    + Le.u64s(ref.dirid()) + " of " + Areas.tree(parent));
        }
    }

    private static boolean hasEntry(Item it, byte[] name, DiskKey loc) throws IOException {
        if (it == null) {
            return false;
        }
        for (DirItem d : DirItem.decodeAll(it.data(), 0, it.size())) {
            if (Arrays.equals(d.name(), name)) {
                return d.location().objectid() == loc.objectid() && d.location().type() == loc.type();
            }
        }
        return false;
    }

    private static String show(RootRef r) {
        return "dir " + Le.u64s(r.dirid()) + " index " + Le.u64s(r.sequence()) + " name " + Names.show(r.name());
    }

    /** Visitor for the UUID tree walk. */
    TreeWalker.LeafVisitor uuidVisitor() {
        boolean current = ctx.fs.superblock().uuidTreeGeneration() == ctx.superGeneration;
        return (key, b, off, len) -> {
            boolean received = key.type() == ItemType.UUID_KEY_RECEIVED_SUBVOL;
            if (key.type() != ItemType.UUID_KEY_SUBVOL && !received) {
                ctx.problem(Areas.UUID, "unexpected item " + key + " in the UUID tree");
                return;
            }
            byte[] uuid = new byte[16];
            Le.putU64(uuid, 0, key.objectid());
            Le.putU64(uuid, 8, key.offset());
            for (long id : U64Array.decode(b, off, len, ItemType.name(key.type()))) {
                Root r = byId.get(id);
                String what = ItemType.name(key.type()) + " " + Uuids.toString(uuid) + " -> subvolume " + Areas.treeName(id);
                if (r == null) {
                    if (!orphanRoots.contains(id)) {
                        report(current, what + ", which has no ROOT_ITEM");
                    }
                } else if (!Arrays.equals(received ? r.item().receivedUuid() : r.item().uuid(), uuid)) {
                    report(current, what + ", whose " + (received ? "received_uuid" : "uuid") + " is "
                            + Uuids.toString(received ? r.item().receivedUuid() : r.item().uuid()));
                }
            }
        };
    }

    /** A stale UUID tree (uuid_tree_generation behind) is rebuilt by the kernel at mount: only warn then. */
    private void report(boolean current, String msg) {
        if (current) {
            ctx.problem(Areas.UUID, msg);
        } else {
            ctx.warning(Areas.UUID, msg + " (the UUID tree is older than the filesystem and will be rescanned)");
        }
    }
}
