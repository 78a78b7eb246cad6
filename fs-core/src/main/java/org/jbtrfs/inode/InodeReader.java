package org.jbtrfs.inode;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.jbtrfs.Attr;
import org.jbtrfs.CorruptImageException;
import org.jbtrfs.DirEntry;
import org.jbtrfs.Errno;
import org.jbtrfs.FsException;
import org.jbtrfs.InodeId;
import org.jbtrfs.ctree.Item;
import org.jbtrfs.ctree.TreeReads;
import org.jbtrfs.disk.FsInfo;
import org.jbtrfs.format.Crc32c;
import org.jbtrfs.format.DirItem;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.InodeExtref;
import org.jbtrfs.format.InodeItem;
import org.jbtrfs.format.InodeRef;
import org.jbtrfs.format.ItemType;
import org.jbtrfs.format.Le;
import org.jbtrfs.format.ObjectIds;
import org.jbtrfs.format.RootItem;
import org.jbtrfs.format.Timespec;
import org.jbtrfs.subvol.Subvolumes;

/**
 * Reading inodes and directories (inode.c, dir-item.c, xattr.c): inode items, name lookup through
 * DIR_ITEM hashes, readdir through DIR_INDEX order, parents through INODE_REF / INODE_EXTREF,
 * xattrs, and symlink targets.
 *
 * <h2>readdir offsets</h2>
 * Offset 0 is ".", 1 is "..", and every other entry's offset is its DIR_INDEX number (always
 * {@literal >=} 2); each returned entry carries the offset to resume after it. This is what
 * btrfs_real_readdir() hands to the VFS, so offsets stay valid while entries come and go.
 */
public final class InodeReader {
    /** BTRFS_NAME_LEN. */
    public static final int NAME_MAX = 255;
    /** The largest xattr value the format can hold in one item (and what Linux allows, XATTR_SIZE_MAX). */
    public static final int XATTR_SIZE_MAX = 65536;

    private final FsInfo fs;
    private final TreeReads trees;
    private final Subvolumes subvols;
    private final FileDataReader data;

    /** Reads the committed state of a read-only open. */
    public InodeReader(FsInfo fs) {
        this(fs, new TreeReads(fs.btree(), fs));
    }

    /** Reads the trees {@code trees} resolves: the current, uncommitted state of a writable filesystem. */
    public InodeReader(FsInfo fs, TreeReads trees) {
        this.fs = fs;
        this.trees = trees;
        this.subvols = new Subvolumes(trees);
        this.data = new FileDataReader(fs, trees);
    }

    public TreeReads trees() {
        return trees;
    }

    public Subvolumes subvolumes() {
        return subvols;
    }

    /** The subvolume tree of {@code id}, or ENOENT. */
    private long tree(InodeId id) throws IOException {
        if (!ObjectIds.isSubvolumeId(id.root()) || !trees.exists(id.root())) {
            throw new FsException(Errno.ENOENT, "no subvolume " + Le.u64s(id.root()));
        }
        return id.root();
    }

    /** The inode item, or ENOENT. The synthetic empty-subvolume directory has none. */
    public InodeItem inodeItem(InodeId id) throws IOException {
        if (id.ino() == ObjectIds.EMPTY_SUBVOL_DIR) {
            return emptySubvolDir(id);
        }
        Item it = trees.lookup(tree(id), new DiskKey(id.ino(), ItemType.INODE_ITEM, 0));
        if (it == null) {
            throw new FsException(Errno.ENOENT, "no inode " + id);
        }
        return InodeItem.decode(it.data(), 0, it.size());
    }

    private InodeItem emptySubvolDir(InodeId id) throws IOException {
        RootItem ri = trees.rootItem(id.root());
        Timespec t = ri != null ? ri.otime() : Timespec.ZERO;
        return new InodeItem(0, 0, 0, 0, 0, 1, 0, 0, Attr.S_IFDIR | 0755, 0, 0, 0, t, t, t, t);
    }

    public Attr getattr(InodeId id) throws IOException {
        InodeItem i = inodeItem(id);
        return new Attr(id, (int) i.mode(), i.nlink(), (int) i.uid(), (int) i.gid(), userRdev(i.rdev()), i.size(),
                stBlocks(i.nbytes()), fs.sectorsize(), i.atime(), i.mtime(), i.ctime(), i.otime(),
                i.generation(), i.flags());
    }

    /**
     * st_rdev as stat(2) shows it. The inode item holds the kernel's internal dev_t (major in the
     * bits above 20, minor in the low 20: MKDEV in kdev_t.h), which the kernel hands to user space
     * re-encoded (new_encode_dev, which glibc's makedev agrees with): minor's low byte, then
     * major, then the rest of minor. So mknod c 1 3 is stored as 0x100003 and shown as 0x103.
     */
    static long userRdev(long onDisk) {
        long major = (onDisk >>> 20) & 0xfff;
        long minor = onDisk & 0xfffff;
        return (minor & 0xff) | (major << 8) | ((minor & ~0xffL) << 12);
    }

    /**
     * st_blocks as btrfs_getattr() computes it: nbytes rounded up to whole sectors, in 512-byte
     * units, so that a 100-byte inline file counts one sector (8), as the kernel shows it.
     */
    private long stBlocks(long nbytes) {
        long sector = fs.sectorsize();
        long sectors = Long.divideUnsigned(nbytes, sector) + (Long.remainderUnsigned(nbytes, sector) != 0 ? 1 : 0);
        return sectors * (sector / 512);
    }

    private InodeItem requireDir(InodeId dir) throws IOException {
        InodeItem i = inodeItem(dir);
        if ((i.mode() & Attr.S_IFMT) != Attr.S_IFDIR) {
            throw new FsException(Errno.ENOTDIR, "inode " + dir + " is not a directory");
        }
        return i;
    }

    static byte[] checkName(byte[] name) throws FsException {
        if (name.length > NAME_MAX) {
            throw new FsException(Errno.ENAMETOOLONG, "name of " + name.length + " bytes (limit " + NAME_MAX + ")");
        }
        if (name.length == 0) {
            throw new FsException(Errno.ENOENT, "empty name");
        }
        return name;
    }

    /** Looks {@code name} up in {@code dir}; "." and ".." are resolved too. */
    public InodeId lookup(InodeId dir, byte[] name) throws IOException {
        checkName(name);
        requireDir(dir);
        if (name.length == 1 && name[0] == '.') {
            return dir;
        }
        if (name.length == 2 && name[0] == '.' && name[1] == '.') {
            return parent(dir);
        }
        if (dir.ino() == ObjectIds.EMPTY_SUBVOL_DIR) {
            throw new FsException(Errno.ENOENT, "no entry in an empty subvolume placeholder");
        }
        Item it = trees.lookup(tree(dir), new DiskKey(dir.ino(), ItemType.DIR_ITEM, Crc32c.nameHash(name)));
        if (it != null) {
            for (DirItem d : DirItem.decodeAll(it.data(), 0, it.size())) {
                if (Arrays.equals(d.name(), name)) {
                    return target(dir, d);
                }
            }
        }
        throw new FsException(Errno.ENOENT, "no entry " + new String(name, java.nio.charset.StandardCharsets.UTF_8)
                + " in " + dir);
    }

    private InodeId target(InodeId dir, DirItem d) throws IOException {
        DiskKey loc = d.location();
        if (loc.type() == ItemType.INODE_ITEM) {
            return new InodeId(dir.root(), loc.objectid());
        }
        if (loc.type() == ItemType.ROOT_ITEM) {
            return subvols.enter(dir, d.name(), loc.objectid());
        }
        throw new CorruptImageException("directory " + dir + " entry " + d + " has location of type "
                + ItemType.name(loc.type()));
    }

    /** The parent directory; a subvolume's top directory leads to the directory holding it. */
    public InodeId parent(InodeId dir) throws IOException {
        if (dir.ino() == ObjectIds.EMPTY_SUBVOL_DIR) {
            return dir;
        }
        long r = tree(dir);
        RootItem ri = trees.rootItem(dir.root());
        if (ri != null && dir.ino() == ri.rootDirid()) {
            InodeId up = subvols.parentOfTop(dir.root());
            return up != null ? up : dir;
        }
        Item ref = trees.findAtOrBefore(r, new DiskKey(dir.ino(), ItemType.INODE_REF, -1L));
        if (ref != null && ref.key().objectid() == dir.ino() && ref.key().type() == ItemType.INODE_REF) {
            return new InodeId(dir.root(), ref.key().offset());
        }
        Item ext = trees.findAtOrBefore(r, new DiskKey(dir.ino(), ItemType.INODE_EXTREF, -1L));
        if (ext != null && ext.key().objectid() == dir.ino() && ext.key().type() == ItemType.INODE_EXTREF) {
            List<InodeExtref> l = InodeExtref.decodeAll(ext.data(), 0, ext.size());
            if (!l.isEmpty()) {
                return new InodeId(dir.root(), l.get(0).parent());
            }
        }
        throw new CorruptImageException("directory " + dir + " has no INODE_REF to a parent");
    }

    /** The names and parents of an inode (all its hard links), for tools and checks. */
    public List<InodeRef> inodeRefs(InodeId id, long parentIno) throws IOException {
        Item it = trees.lookup(tree(id), new DiskKey(id.ino(), ItemType.INODE_REF, parentIno));
        return it == null ? List.of() : InodeRef.decodeAll(it.data(), 0, it.size());
    }

    /**
     * Up to {@code max} entries of {@code dir} from {@code offset} on (see the class comment), with
     * "." and "..".
     */
    public List<DirEntry> readdir(InodeId dir, long offset, int max) throws IOException {
        requireDir(dir);
        List<DirEntry> out = new ArrayList<>(Math.min(max, 256));
        if (offset < 0 || max <= 0) {
            return out;
        }
        if (offset == 0) {
            out.add(new DirEntry(new byte[] {'.'}, dir, DirItem.FT_DIR, 1));
        }
        if (offset <= 1 && out.size() < max) {
            out.add(new DirEntry(new byte[] {'.', '.'}, parent(dir), DirItem.FT_DIR, 2));
        }
        if (out.size() >= max || dir.ino() == ObjectIds.EMPTY_SUBVOL_DIR) {
            return out;
        }
        List<DirItem> found = new ArrayList<>();
        List<Long> indexes = new ArrayList<>();
        int want = max - out.size();
        trees.scan(tree(dir), new DiskKey(dir.ino(), ItemType.DIR_INDEX, Math.max(offset, 2)),
                new DiskKey(dir.ino(), ItemType.DIR_INDEX, -1L), (key, b, o, l) -> {
                    if (Long.compareUnsigned(key.offset(), Long.MAX_VALUE) >= 0) {
                        // Its resume offset (index + 1) would not be a positive off_t: a readdir
                        // loop would wrap to 0 and start over forever.
                        throw new CorruptImageException("directory " + dir + ": DIR_INDEX " + key
                                + " is out of range (readdir offsets end at 2^63-1)");
                    }
                    List<DirItem> ds = DirItem.decodeAll(b, o, l);
                    if (ds.size() != 1) {
                        throw new CorruptImageException("DIR_INDEX " + key + " holds " + ds.size() + " entries, expect 1");
                    }
                    found.add(ds.get(0));
                    indexes.add(key.offset());
                    return found.size() < want;
                });
        for (int i = 0; i < found.size(); i++) {
            DirItem d = found.get(i);
            long next = indexes.get(i) + 1;
            out.add(new DirEntry(d.name(), target(dir, d), d.type() & ~DirItem.FT_ENCRYPTED, next));
        }
        return out;
    }

    /** Reads file data; see {@link FileDataReader}. Directories give EISDIR. */
    public int read(InodeId id, long pos, byte[] dst, int off, int len) throws IOException {
        InodeItem i = inodeItem(id);
        if ((i.mode() & Attr.S_IFMT) == Attr.S_IFDIR) {
            throw new FsException(Errno.EISDIR, "inode " + id + " is a directory");
        }
        return data.read(tree(id), id, i, pos, dst, off, len);
    }

    /** lseek SEEK_DATA ({@code data}) or SEEK_HOLE; see {@link FileDataReader#seek}. */
    public long seek(InodeId id, long pos, boolean data) throws IOException {
        InodeItem i = inodeItem(id);
        if ((i.mode() & Attr.S_IFMT) == Attr.S_IFDIR) {
            throw new FsException(Errno.EISDIR, "inode " + id + " is a directory");
        }
        return this.data.seek(tree(id), id, i, pos, data);
    }

    /** The target of a symlink (its inline data), or EINVAL for other inodes. */
    public byte[] readlink(InodeId id) throws IOException {
        InodeItem i = inodeItem(id);
        if ((i.mode() & Attr.S_IFMT) != Attr.S_IFLNK) {
            throw new FsException(Errno.EINVAL, "inode " + id + " is not a symlink");
        }
        if (i.size() > 4096 || i.size() < 0) {
            throw new CorruptImageException("symlink " + id + " has size " + Le.u64s(i.size()) + " (limit 4096)");
        }
        byte[] b = new byte[(int) i.size()];
        int n = data.read(tree(id), id, i, 0, b, 0, b.length);
        return n == b.length ? b : Arrays.copyOf(b, n);
    }

    /** Names of all xattrs of the inode, in key (hash) order. */
    public List<byte[]> listxattr(InodeId id) throws IOException {
        inodeItem(id);
        List<byte[]> out = new ArrayList<>();
        if (id.ino() == ObjectIds.EMPTY_SUBVOL_DIR) {
            return out;
        }
        trees.scan(tree(id), new DiskKey(id.ino(), ItemType.XATTR_ITEM, 0),
                new DiskKey(id.ino(), ItemType.XATTR_ITEM, -1L), (key, b, o, l) -> {
                    for (DirItem d : DirItem.decodeAll(b, o, l)) {
                        out.add(d.name());
                    }
                    return true;
                });
        return out;
    }

    /** The value of xattr {@code name}, or ENODATA. */
    public byte[] getxattr(InodeId id, byte[] name) throws IOException {
        inodeItem(id);
        if (name.length == 0 || name.length > NAME_MAX) {
            throw new FsException(name.length == 0 ? Errno.EINVAL : Errno.ERANGE, "bad xattr name length " + name.length);
        }
        if (id.ino() != ObjectIds.EMPTY_SUBVOL_DIR) {
            Item it = trees.lookup(tree(id), new DiskKey(id.ino(), ItemType.XATTR_ITEM, Crc32c.nameHash(name)));
            if (it != null) {
                for (DirItem d : DirItem.decodeAll(it.data(), 0, it.size())) {
                    if (Arrays.equals(d.name(), name)) {
                        return d.data();
                    }
                }
            }
        }
        throw new FsException(Errno.ENODATA, "no xattr " + new String(name, java.nio.charset.StandardCharsets.UTF_8)
                + " on " + id);
    }
}
