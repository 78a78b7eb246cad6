package org.jbtrfs.check;

import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import java.util.function.Supplier;
import org.jbtrfs.Attr;
import org.jbtrfs.CorruptImageException;
import org.jbtrfs.ctree.Item;
import org.jbtrfs.ctree.TreeRoot;
import org.jbtrfs.format.Crc32c;
import org.jbtrfs.format.DirItem;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.InodeExtref;
import org.jbtrfs.format.InodeItem;
import org.jbtrfs.format.InodeRef;
import org.jbtrfs.format.ItemType;
import org.jbtrfs.format.Le;
import org.jbtrfs.format.ObjectIds;
import org.jbtrfs.format.RootRef;

/**
 * The inodes of one subvolume tree (check_inode_item(), check_inode_ref(), check_dir_item() in
 * check/mode-lowmem.c; the inode records of check/main.c). Items arrive in key order, so one
 * inode's items come together, INODE_ITEM first; the state of one inode is kept and judged when
 * the next begins. What lives in another inode (the parent's directory entries, the child's
 * backrefs) is looked up in the tree, so memory does not grow with the number of files.
 * <ol>
 *   <li>Every inode with items has an INODE_ITEM with a valid mode and generations not above the
 *       superblock's.</li>
 *   <li>nlink equals the number of names (INODE_REF and INODE_EXTREF entries); a directory has at
 *       most one; an inode with none has an orphan item.</li>
 *   <li>Every name has a DIR_ITEM (by name hash) and a DIR_INDEX (by index) in its parent with
 *       this inode as location and the type its mode says; every DIR_ITEM and DIR_INDEX entry
 *       has that name back in its target's refs (or, for a subvolume, a ROOT_REF) — both ways.
 *       The root directory's only name is ".." pointing at itself with index 0.</li>
 *   <li>Name hashes match key offsets (DIR_ITEM, XATTR_ITEM, INODE_EXTREF); a DIR_INDEX holds
 *       one entry.</li>
 *   <li>A directory's i_size is the sum of the name lengths of its DIR_ITEM and DIR_INDEX
 *       entries (each name counts twice).</li>
 *   <li>File extents: known type, sector-aligned offsets and lengths, inline sizes within limits
 *       (and ram_bytes equal to the inline length when uncompressed), offset + num_bytes within
 *       ram_bytes, no overlap; without NO_HOLES no gaps below i_size; no regular extent starting
 *       past i_size; nbytes is the sum of inline ram_bytes and num_bytes of extents on disk.</li>
 *   <li>Data checksums: a regular extent of an inode without NODATASUM has a csum for every
 *       sector it covers (compressed: every sector on disk); a NODATASUM inode has none; a
 *       PREALLOC extent has none unless the extent was written through another file extent
 *       (settled in the extent pass).</li>
 * </ol>
 */
final class FsTreeCheck implements TreeWalker.LeafVisitor {
    private final CheckContext ctx;
    private final long treeId;
    private final TreeRoot root;
    private final long rootDirid;
    private final String area;
    private final boolean checkCsums;
    private final int maxInline;

    // The inode being read; ino < 0 when none.
    private long ino = -1;
    private InodeItem inode;
    private long names;
    private long dirNameBytes;
    private long foundSize;
    private long extentEnd;
    private boolean anyExtent;
    private Boolean orphan;

    FsTreeCheck(CheckContext ctx, long treeId, TreeRoot root, long rootDirid) {
        this.ctx = ctx;
        this.treeId = treeId;
        this.root = root;
        this.rootDirid = rootDirid;
        this.area = Areas.tree(treeId);
        // The data relocation tree copies extents without their csums (see process_file_extent).
        this.checkCsums = treeId != ObjectIds.DATA_RELOC_TREE;
        // BTRFS_MAX_INLINE_DATA_SIZE, capped at sectorsize - 1 as progs caps it.
        int maxItem = ctx.nodesize - org.jbtrfs.format.Header.SIZE - org.jbtrfs.format.Header.ITEM_SIZE;
        this.maxInline = Math.min(ctx.sectorsize - 1, maxItem - org.jbtrfs.format.FileExtentItem.INLINE_DATA_START);
    }

    private static boolean isInodeNumber(long objectid) {
        return Long.compareUnsigned(objectid, ObjectIds.FIRST_FREE) >= 0
                && Long.compareUnsigned(objectid, ObjectIds.LAST_FREE) <= 0;
    }

    @Override
    public void item(DiskKey key, byte[] b, int off, int len) throws IOException {
        long objectid = key.objectid();
        if (!isInodeNumber(objectid)) {
            finishInode();
            return; // orphan items (checked by lookup), the free-ino cache
        }
        if (objectid != ino) {
            finishInode();
            startInode(key);
        }
        switch (key.type()) {
            case ItemType.INODE_ITEM -> inodeItem(key, b, off, len);
            case ItemType.INODE_REF -> inodeRef(key, b, off, len);
            case ItemType.INODE_EXTREF -> inodeExtref(key, b, off, len);
            case ItemType.XATTR_ITEM -> xattr(key, b, off, len);
            case ItemType.DIR_ITEM, ItemType.DIR_INDEX -> dirEntry(key, b, off, len);
            case ItemType.EXTENT_DATA -> FileExtentCheck.check(this, key, b, off, len);
            default -> {
            }
        }
    }

    @Override
    public void done() throws IOException {
        finishInode();
    }

    private void startInode(DiskKey key) {
        ino = key.objectid();
        inode = null;
        names = 0;
        dirNameBytes = 0;
        foundSize = 0;
        extentEnd = 0;
        anyExtent = false;
        orphan = null;
        if (key.type() != ItemType.INODE_ITEM) {
            ctx.problem(area, "inode " + Le.u64s(ino) + " has items but no INODE_ITEM (first item " + key + ")");
        }
    }

    private void inodeItem(DiskKey key, byte[] b, int off, int len) throws CorruptImageException {
        inode = InodeItem.decode(b, off, len);
        ctx.counters.inodes++;
        if (key.offset() != 0) {
            ctx.problem(area, where() + ": INODE_ITEM key offset " + Le.u64s(key.offset()) + ", expect 0");
        }
        if (fileType(inode.mode()) == DirItem.FT_UNKNOWN) {
            ctx.problem(area, where() + ": invalid mode 0" + Long.toOctalString(inode.mode()));
        }
        if (Long.compareUnsigned(inode.generation(), ctx.superGeneration) > 0
                || Long.compareUnsigned(inode.transid(), ctx.superGeneration) > 0) {
            ctx.problem(area, where() + ": generation " + Le.u64s(inode.generation()) + " / transid "
                    + Le.u64s(inode.transid()) + " above the superblock's " + Le.u64s(ctx.superGeneration));
        }
        if ((inode.mode() & Attr.S_IFMT) == Attr.S_IFLNK
                && (inode.flags() & (InodeItem.FLAG_IMMUTABLE | InodeItem.FLAG_APPEND)) != 0) {
            ctx.problem(area, where() + ": a symlink with the immutable or append flag");
        }
    }

    /** BTRFS_FT_* for a mode, FT_UNKNOWN when the type bits are not a file type (imode_to_type). */
    static int fileType(long mode) {
        return DirItem.fileTypeOfMode(mode);
    }

    private String where() {
        return "inode " + Le.u64s(ino);
    }

    private boolean isDir() {
        return inode != null && (inode.mode() & Attr.S_IFMT) == Attr.S_IFDIR;
    }

    // ---------------------------------------------------------------- names of this inode

    private void inodeRef(DiskKey key, byte[] b, int off, int len) throws IOException {
        long parent = key.offset();
        for (InodeRef r : InodeRef.decodeAll(b, off, len)) {
            countName(r.name());
            if (ino == rootDirid && parent == ino) {
                if (r.index() != 0 || !Arrays.equals(r.name(), new byte[] {'.', '.'})) {
                    ctx.problem(area, "root directory " + Le.u64s(ino) + ": self reference is " + Names.show(r.name())
                            + " index " + Le.u64s(r.index()) + ", expect '..' index 0");
                }
                continue;
            }
            checkNameInParent(parent, r.index(), r.name());
        }
    }

    private void inodeExtref(DiskKey key, byte[] b, int off, int len) throws IOException {
        for (InodeExtref r : InodeExtref.decodeAll(b, off, len)) {
            countName(r.name());
            long hash = Crc32c.extrefHash(r.parent(), r.name());
            if (hash != key.offset()) {
                ctx.problem(area, "inode " + Le.u64s(ino) + " INODE_EXTREF " + Names.show(r.name()) + " in directory "
                        + Le.u64s(r.parent()) + ": key offset " + Le.u64s(key.offset()) + ", expect hash " + Le.u64s(hash));
            }
            checkNameInParent(r.parent(), r.index(), r.name());
        }
    }

    private void countName(byte[] name) {
        names++;
        ctx.counters.names++;
        if (name.length == 0 || name.length > 255) {
            ctx.problem(area, "inode " + Le.u64s(ino) + " has a name of " + name.length + " bytes, expect 1..255");
        }
    }

    /** A name of this inode has its DIR_ITEM and DIR_INDEX in the parent (check_inode_ref, find_dir_item). */
    private void checkNameInParent(long parent, long index, byte[] name) throws IOException {
        Supplier<String> what = () -> "inode " + Le.u64s(ino) + " name " + Names.show(name) + " in directory " + Le.u64s(parent);
        int type = inode != null ? fileType(inode.mode()) : -1;
        DiskKey itemKey = new DiskKey(parent, ItemType.DIR_ITEM, Crc32c.nameHash(name));
        DirItem di = find(ctx.lookup(root, itemKey, area), name);
        if (di == null) {
            ctx.problem(area, what.get() + ": no DIR_ITEM " + itemKey);
        } else {
            checkEntryTarget(() -> what.get() + ": DIR_ITEM", di, type);
        }
        DiskKey indexKey = new DiskKey(parent, ItemType.DIR_INDEX, index);
        DirItem dx = find(ctx.lookup(root, indexKey, area), name);
        if (dx == null) {
            ctx.problem(area, what.get() + ": no DIR_INDEX " + indexKey);
        } else {
            checkEntryTarget(() -> what.get() + ": DIR_INDEX", dx, type);
        }
    }

    private void checkEntryTarget(Supplier<String> what, DirItem d, int type) {
        if (d.location().objectid() != ino || d.location().type() != ItemType.INODE_ITEM) {
            ctx.problem(area, what.get() + " points at " + d.location() + ", expect (" + Le.u64s(ino) + " INODE_ITEM 0)");
        } else if (type >= 0 && (d.type() & ~DirItem.FT_ENCRYPTED) != type) {
            ctx.problem(area, what.get() + " has type " + DirItem.typeName(d.type()) + ", but the inode is a "
                    + DirItem.typeName(type));
        }
    }

    /** The entry named {@code name} in a DIR_ITEM or DIR_INDEX item, or null. */
    private static DirItem find(Item it, byte[] name) throws CorruptImageException {
        if (it == null) {
            return null;
        }
        for (DirItem d : DirItem.decodeAll(it.data(), 0, it.size())) {
            if (Arrays.equals(d.name(), name)) {
                return d;
            }
        }
        return null;
    }

    private void xattr(DiskKey key, byte[] b, int off, int len) throws CorruptImageException {
        for (DirItem d : DirItem.decodeAll(b, off, len)) {
            long hash = Crc32c.nameHash(d.name());
            if (hash != key.offset()) {
                ctx.problem(area, "inode " + Le.u64s(ino) + " XATTR_ITEM " + Names.show(d.name()) + ": key offset "
                        + Le.u64s(key.offset()) + ", expect hash " + Le.u64s(hash));
            }
        }
    }

    // ---------------------------------------------------------------- entries of this directory

    private void dirEntry(DiskKey key, byte[] b, int off, int len) throws IOException {
        boolean index = key.type() == ItemType.DIR_INDEX;
        List<DirItem> entries = DirItem.decodeAll(b, off, len);
        if (inode != null && !isDir()) {
            ctx.problem(area, "inode " + Le.u64s(ino) + " is not a directory but has " + key);
        }
        if (index && entries.size() != 1) {
            ctx.problem(area, "directory " + Le.u64s(ino) + " " + key + " holds " + entries.size()
                    + " entries, expect 1");
        }
        for (DirItem d : entries) {
            dirNameBytes += d.name().length;
            if (!index && Crc32c.nameHash(d.name()) != key.offset()) {
                ctx.problem(area, "directory " + Le.u64s(ino) + " " + key + " entry " + Names.show(d.name())
                        + ": key offset is not the name's hash " + Le.u64s(Crc32c.nameHash(d.name())));
            }
            Supplier<String> what = () -> "directory " + Le.u64s(ino) + " " + ItemType.name(key.type()) + " "
                    + Names.show(d.name()) + (index ? " index " + Le.u64s(key.offset()) : "");
            if (d.location().type() == ItemType.INODE_ITEM && isInodeNumber(d.location().objectid())) {
                checkChildBackref(what, d.location().objectid(), d.name(), index ? key.offset() : -1);
            } else if (d.location().type() == ItemType.ROOT_ITEM) {
                checkSubvolumeEntry(what, d, index ? key.offset() : -1);
            } else {
                ctx.problem(area, what.get() + " points at " + d.location() + ", which is neither an inode nor a subvolume");
            }
        }
    }

    /** The target inode has this name back: an INODE_REF or INODE_EXTREF naming this directory. */
    private void checkChildBackref(Supplier<String> what, long child, byte[] name, long index) throws IOException {
        boolean found = false;
        long foundIndex = 0;
        Item ref = ctx.lookup(root, new DiskKey(child, ItemType.INODE_REF, ino), area);
        if (ref != null) {
            for (InodeRef r : InodeRef.decodeAll(ref.data(), 0, ref.size())) {
                if (Arrays.equals(r.name(), name)) {
                    found = true;
                    foundIndex = r.index();
                }
            }
        }
        if (!found) {
            Item ext = ctx.lookup(root, new DiskKey(child, ItemType.INODE_EXTREF, Crc32c.extrefHash(ino, name)), area);
            if (ext != null) {
                for (InodeExtref r : InodeExtref.decodeAll(ext.data(), 0, ext.size())) {
                    if (r.parent() == ino && Arrays.equals(r.name(), name)) {
                        found = true;
                        foundIndex = r.index();
                    }
                }
            }
        }
        if (!found) {
            ctx.problem(area, what.get() + " -> inode " + Le.u64s(child) + ", which has no INODE_REF or INODE_EXTREF for it");
        } else if (index != -1 && foundIndex != index) {
            ctx.problem(area, what.get() + " -> inode " + Le.u64s(child) + ", whose ref gives index " + Le.u64s(foundIndex));
        }
    }

    /**
     * An entry naming a subvolume: the root tree links it here with a matching ROOT_REF; without
     * one it is the placeholder a snapshot keeps for a subvolume nested in its source, which is
     * fine while that subvolume is linked elsewhere or gone (is_child_root() in check/main.c).
     */
    private void checkSubvolumeEntry(Supplier<String> what, DirItem d, long index) {
        long sub = d.location().objectid();
        if ((d.type() & ~DirItem.FT_ENCRYPTED) != DirItem.FT_DIR) {
            ctx.problem(area, what.get() + " -> subvolume " + Areas.treeName(sub) + " has type "
                    + DirItem.typeName(d.type()) + ", expect DIR");
        }
        RootRef rr = ctx.roots.rootRef(treeId, sub);
        if (rr == null) {
            if (ctx.roots.root(sub) != null && ctx.roots.parentsOf(sub).isEmpty() && !ctx.roots.hasOrphanItem(sub)) {
                ctx.problem(area, what.get() + " -> subvolume " + Areas.treeName(sub)
                        + ", which no ROOT_REF links anywhere");
            }
            return;
        }
        if (rr.dirid() != ino || !Arrays.equals(rr.name(), d.name()) || (index >= 0 && rr.sequence() != index)) {
            ctx.problem(area, what.get() + " -> subvolume " + Areas.treeName(sub) + ", but ROOT_REF says dir "
                    + Le.u64s(rr.dirid()) + " index " + Le.u64s(rr.sequence()) + " name " + Names.show(rr.name()));
        }
    }

    // ---------------------------------------------------------------- judging an inode

    /** Whether the tree holds an orphan item for the current inode (looked up once, when needed). */
    boolean isOrphan() throws IOException {
        if (orphan == null) {
            orphan = ctx.lookup(root, new DiskKey(ObjectIds.ORPHAN, ItemType.ORPHAN_ITEM, ino), area) != null;
        }
        return orphan;
    }

    private void finishInode() throws IOException {
        if (ino < 0) {
            return;
        }
        try {
            if (inode != null) {
                judgeInode(); // an inode without INODE_ITEM was reported when its first item came
            }
        } finally {
            ino = -1;
        }
    }

    private void judgeInode() throws IOException {
        long nlink = inode.nlink();
        if (nlink != names) {
            ctx.problem(area, where() + ": nlink " + nlink + ", but it has " + names + " names (INODE_REF/INODE_EXTREF)");
        } else if (nlink == 0 && !isOrphan()) {
            ctx.problem(area, where() + ": nlink 0 and no names, but no orphan item");
        }
        if (isDir()) {
            if (nlink > 1) {
                ctx.problem(area, "directory " + Le.u64s(ino) + " has nlink " + nlink + ", expect 1");
            }
            if (inode.size() != dirNameBytes && !isOrphan()) {
                ctx.problem(area, "directory " + Le.u64s(ino) + ": i_size " + Le.u64s(inode.size()) + ", expect "
                        + dirNameBytes + " (name lengths of its DIR_ITEM and DIR_INDEX entries)");
            }
            return;
        }
        if (inode.nbytes() != foundSize && !isOrphan()) {
            ctx.problem(area, where() + ": nbytes " + Le.u64s(inode.nbytes()) + ", expect " + Le.u64s(foundSize)
                    + " (sum of its file extents)");
        }
        if (!ctx.noHoles && inode.nbytes() == 0 && Long.compareUnsigned(extentEnd, inode.size()) < 0) {
            ctx.problem(area, where() + ": i_size " + Le.u64s(inode.size()) + " but file extents end at "
                    + Le.u64s(extentEnd) + "; without NO_HOLES the rest needs a hole extent");
        }
    }

    // ---------------------------------------------------------------- state for FileExtentCheck

    CheckContext ctx() {
        return ctx;
    }

    String area() {
        return area;
    }

    long ino() {
        return ino;
    }

    InodeItem inode() {
        return inode;
    }

    boolean checkCsums() {
        return checkCsums;
    }

    int maxInline() {
        return maxInline;
    }

    boolean anyExtent() {
        return anyExtent;
    }

    long extentEnd() {
        return extentEnd;
    }

    /** Records a file extent: where it ends in the file and what it adds to nbytes. */
    void extentSeen(long end, long bytes) {
        anyExtent = true;
        extentEnd = end;
        foundSize += bytes;
    }
}
