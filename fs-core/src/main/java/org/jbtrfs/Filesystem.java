package org.jbtrfs;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.jbtrfs.ctree.Item;
import org.jbtrfs.ctree.TreeRoot;
import org.jbtrfs.device.ChunkMap;
import org.jbtrfs.device.BlockDevice;
import org.jbtrfs.device.FileBlockDevice;
import org.jbtrfs.disk.FsInfo;
import org.jbtrfs.format.BlockGroupItem;
import org.jbtrfs.format.DevItem;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.Features;
import org.jbtrfs.format.ItemType;
import org.jbtrfs.format.ObjectIds;
import org.jbtrfs.inode.InodeReader;

/**
 * The public face of the engine: open an image, then work on inodes by {@link InodeId}. The FUSE
 * adapter, the command line and embedded users all come through here.
 *
 * <p>Names are bytes on disk; the String overloads encode them as UTF-8. All methods are safe to
 * call from many threads at once. Errors are {@link FsException} (with an errno) for requests the
 * filesystem refuses, {@link CorruptImageException} for a damaged image, and other
 * {@link IOException}s for device failures.
 */
public final class Filesystem implements AutoCloseable {
    /** SYMLOOP_MAX as Linux counts it for path resolution. */
    public static final int MAX_SYMLINK_FOLLOWS = 40;

    private final FsInfo fs;
    private final InodeReader inodes;
    private final InodeId rootDir;

    private Filesystem(FsInfo fs) throws IOException {
        this.fs = fs;
        this.inodes = new InodeReader(fs);
        this.rootDir = inodes.subvolumes().topDirectory(inodes.subvolumes().defaultSubvolume());
        try {
            if (!inodes.getattr(rootDir).isDirectory()) {
                throw new CorruptImageException("the top directory " + rootDir + " is not a directory");
            }
        } catch (FsException e) {
            throw new CorruptImageException("the top directory " + rootDir + " has no inode item", e);
        }
    }

    /** Opens the image file at {@code image}. */
    public static Filesystem open(java.nio.file.Path image, OpenOptions options) throws IOException {
        if (!options.readOnly()) {
            throw new FsException(Errno.EROFS, "writing is not supported yet; open read-only");
        }
        BlockDevice dev = FileBlockDevice.open(image, true);
        try {
            return open(dev, options);
        } catch (IOException | RuntimeException e) {
            dev.close();
            throw e;
        }
    }

    /** Opens the filesystem on {@code device}; closing the filesystem closes the device. */
    public static Filesystem open(BlockDevice device, OpenOptions options) throws IOException {
        return new Filesystem(FsInfo.open(device, options));
    }

    /** The low-level view, for tools (dump-tree, checks) that read trees directly. */
    public FsInfo fsInfo() {
        return fs;
    }

    /** The top directory of the default subvolume: what a mount shows as "/". */
    public InodeId root() {
        return rootDir;
    }

    public Attr getattr(InodeId id) throws IOException {
        return inodes.getattr(id);
    }

    public InodeId lookup(InodeId dir, byte[] name) throws IOException {
        return inodes.lookup(dir, name);
    }

    public InodeId lookup(InodeId dir, String name) throws IOException {
        return inodes.lookup(dir, name.getBytes(StandardCharsets.UTF_8));
    }

    public InodeId parent(InodeId dir) throws IOException {
        return inodes.parent(dir);
    }

    /** See {@link InodeReader#readdir}: entries from {@code offset}, each with the offset to resume at. */
    public List<DirEntry> readdir(InodeId dir, long offset, int max) throws IOException {
        return inodes.readdir(dir, offset, max);
    }

    /** Every entry of a directory except "." and "..". */
    public List<DirEntry> list(InodeId dir) throws IOException {
        List<DirEntry> all = new ArrayList<>();
        long off = 2;
        while (true) {
            List<DirEntry> batch = inodes.readdir(dir, off, 1024);
            if (batch.isEmpty()) {
                return all;
            }
            all.addAll(batch);
            off = batch.get(batch.size() - 1).nextOffset();
        }
    }

    public int read(InodeId id, long pos, byte[] dst, int off, int len) throws IOException {
        return inodes.read(id, pos, dst, off, len);
    }

    public byte[] readlink(InodeId id) throws IOException {
        return inodes.readlink(id);
    }

    public List<byte[]> listxattr(InodeId id) throws IOException {
        return inodes.listxattr(id);
    }

    public byte[] getxattr(InodeId id, byte[] name) throws IOException {
        return inodes.getxattr(id, name);
    }

    public byte[] getxattr(InodeId id, String name) throws IOException {
        return inodes.getxattr(id, name.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Resolves an absolute or root-relative path inside the image, following symlinks in the
     * directories on the way (relative to the image root for absolute targets) but not in the last
     * component, like lstat(2).
     */
    public InodeId resolve(String path) throws IOException {
        return resolve(path, false);
    }

    /** Like {@link #resolve(String)}, following a symlink in the last component too when asked (stat(2)). */
    public InodeId resolve(String path, boolean followLast) throws IOException {
        try {
            return resolve(rootDir, path, 0, followLast);
        } catch (FsException e) {
            throw new FsException(e.errno(), path + ": " + e.errno().description());
        }
    }

    private InodeId resolve(InodeId start, String path, int follows, boolean followLast) throws IOException {
        InodeId cur = path.startsWith("/") ? rootDir : start;
        String[] parts = path.split("/+");
        for (int i = 0; i < parts.length; i++) {
            String p = parts[i];
            if (p.isEmpty() || p.equals(".")) {
                continue;
            }
            if (p.equals("..")) {
                cur = cur.equals(rootDir) ? cur : inodes.parent(cur);
                continue;
            }
            InodeId next = inodes.lookup(cur, p.getBytes(StandardCharsets.UTF_8));
            boolean last = i == parts.length - 1;
            if ((!last || followLast) && inodes.getattr(next).isSymlink()) {
                if (follows >= MAX_SYMLINK_FOLLOWS) {
                    throw new FsException(Errno.ELOOP, "too many symlinks resolving " + path);
                }
                String target = new String(inodes.readlink(next), StandardCharsets.UTF_8);
                next = resolve(cur, target, follows + 1, true);
            }
            cur = next;
        }
        return cur;
    }

    /**
     * statfs(2), computed the way btrfs_statfs() does for a single device: blocks is the device
     * size, bfree what no block group uses (DUP counted twice, as raw bytes), bavail the free
     * room in data block groups plus the unallocated device space. Block group items are looked up
     * per chunk, so the cost follows the number of chunks, not the size of the extent tree.
     */
    public StatFs statfs() throws IOException {
        boolean bgTree = (fs.superblock().compatRoFlags() & Features.COMPAT_RO_BLOCK_GROUP_TREE) != 0;
        TreeRoot bgRoot = fs.requireTreeRoot(bgTree ? ObjectIds.BLOCK_GROUP_TREE : ObjectIds.EXTENT_TREE);
        long rawUsed = 0;
        long dataFree = 0;
        for (ChunkMap.Mapping m : fs.chunks()) {
            Item it = fs.btree().lookup(bgRoot, new DiskKey(m.logical(), ItemType.BLOCK_GROUP_ITEM, m.length()));
            if (it == null) {
                throw new CorruptImageException("chunk " + Long.toUnsignedString(m.logical()) + " has no block group item");
            }
            BlockGroupItem bg = BlockGroupItem.decode(it.data(), 0, it.size());
            rawUsed += bg.used() * m.mirrors();
            if ((bg.flags() & BlockGroupItem.DATA) != 0) {
                dataFree += Math.max(0, m.length() - bg.used());
            }
        }
        DevItem dev = fs.superblock().devItem();
        long bsize = fs.sectorsize();
        long unallocated = Math.max(0, dev.totalBytes() - dev.bytesUsed());
        long blocks = fs.superblock().totalBytes() / bsize;
        long bfree = Math.max(0, blocks - rawUsed / bsize);
        long bavail = (dataFree + unallocated) / bsize;
        return new StatFs(bsize, blocks, bfree, Math.min(bavail, bfree), 0, 0, InodeReader.NAME_MAX,
                fs.superblock().fsid());
    }

    @Override
    public void close() throws IOException {
        fs.close();
    }
}
