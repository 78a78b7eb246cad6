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
import org.jbtrfs.extent.BlockGroup;
import org.jbtrfs.file.FileWriter;
import org.jbtrfs.format.Timespec;
import org.jbtrfs.inode.FileData;
import org.jbtrfs.inode.InodeReader;
import org.jbtrfs.inode.Namespace;
import org.jbtrfs.transaction.FsTrees;
import org.jbtrfs.transaction.TransHandle;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.logging.Logger;

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
    /** The write core; null on a read-only open. */
    private final FsTrees trees;
    private final Namespace namespace;
    private final FileData files;
    /**
     * Changes are serialized: each takes this exclusively for its whole length, readers share it.
     * (Per-inode locks, as the kernel's i_rwsem, come with the FUSE work; one lock is the safe first step.)
     */
    private final ReentrantReadWriteLock opLock = new ReentrantReadWriteLock();
    /** Open handles per inode: an inode that loses its last name while open becomes an orphan. */
    private final Map<InodeId, Integer> openCounts = new HashMap<>();
    private final InodeReader inodes;
    private final InodeId rootDir;
    private final long dirtyCommitBytes;
    private boolean closed;
    /** Remounted read-only: changes get EROFS, no transaction starts (seed 003). */
    private volatile boolean remountedReadOnly;
    /** The background workers of a writable filesystem; null when read-only. */
    private final org.jbtrfs.lifecycle.TransactionThread transactionThread;
    private final org.jbtrfs.lifecycle.Cleaner cleaner;
    /** Deleted subvolumes whose trees the cleaner drops (fs_info->dead_roots); null when read-only. */
    private final org.jbtrfs.subvol.DeadRoots deadRoots;

    private Filesystem(FsInfo fs, FsTrees trees) throws IOException {
        this.fs = fs;
        this.trees = trees;
        this.inodes = trees == null ? new InodeReader(fs) : new InodeReader(fs, trees.reads());
        this.files = trees == null ? null : new FileWriter(trees);
        this.namespace = trees == null ? null : new Namespace(trees, files);
        // Dirty tree blocks stay in memory until their commit: commit before they crowd the cache.
        this.dirtyCommitBytes = Math.max(4L << 20, fs.options().cacheLimitBytes() / 2);
        this.transactionThread = trees == null ? null
                : new org.jbtrfs.lifecycle.TransactionThread(this::commitIfRunning, fs.options().commitSeconds());
        this.cleaner = trees == null ? null
                : new org.jbtrfs.lifecycle.Cleaner(id -> change("evict", UNLINK_ITEMS, 0, true, h -> namespace.evict(h, id)),
                        this::isWritable, this::cleanerWork);
        this.deadRoots = trees == null ? null : new org.jbtrfs.subvol.DeadRoots();
        if (trees != null) {
            trees.setDelayedIputs(() -> cleaner.runDelayedIputsIfIdle(this::evictForReclaim));
        }
        this.rootDir = inodes.subvolumes().topDirectory(inodes.subvolumes().defaultSubvolume());
        try {
            if (!inodes.getattr(rootDir).isDirectory()) {
                throw new CorruptImageException("the top directory " + rootDir + " is not a directory");
            }
        } catch (FsException e) {
            throw new CorruptImageException("the top directory " + rootDir + " has no inode item", e);
        }
    }

    /** Opens the image file at {@code image}, for writing unless {@code options} say read-only. */
    public static Filesystem open(java.nio.file.Path image, OpenOptions options) throws IOException {
        BlockDevice dev = FileBlockDevice.open(image, options.readOnly());
        try {
            return open(dev, options);
        } catch (IOException | RuntimeException e) {
            dev.close();
            throw e;
        }
    }

    /** Opens the filesystem on {@code device}; closing the filesystem closes the device. */
    public static Filesystem open(BlockDevice device, OpenOptions options) throws IOException {
        FsInfo info = FsInfo.open(device, options);
        if (options.readOnly()) {
            return new Filesystem(info, null);
        }
        if (device.isReadOnly()) {
            throw new FsException(Errno.EROFS, device + " is read-only; open the filesystem read-only");
        }
        FsTrees trees = FsTrees.open(info);
        trees.startSpace(trees.flusher());
        Filesystem f = new Filesystem(info, trees);
        f.cleanOrphans();
        f.startWorkers();
        return f;
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
        return reading(() -> inodes.getattr(id));
    }

    public InodeId lookup(InodeId dir, byte[] name) throws IOException {
        return reading(() -> inodes.lookup(dir, name));
    }

    public InodeId lookup(InodeId dir, String name) throws IOException {
        return lookup(dir, name.getBytes(StandardCharsets.UTF_8));
    }

    public InodeId parent(InodeId dir) throws IOException {
        return reading(() -> inodes.parent(dir));
    }

    /** See {@link InodeReader#readdir}: entries from {@code offset}, each with the offset to resume at. */
    public List<DirEntry> readdir(InodeId dir, long offset, int max) throws IOException {
        return reading(() -> inodes.readdir(dir, offset, max));
    }

    /** Every entry of a directory except "." and "..". */
    public List<DirEntry> list(InodeId dir) throws IOException {
        List<DirEntry> all = new ArrayList<>();
        long off = 2;
        while (true) {
            List<DirEntry> batch = readdir(dir, off, 1024);
            if (batch.isEmpty()) {
                return all;
            }
            all.addAll(batch);
            off = batch.get(batch.size() - 1).nextOffset();
        }
    }

    public int read(InodeId id, long pos, byte[] dst, int off, int len) throws IOException {
        return reading(() -> inodes.read(id, pos, dst, off, len));
    }

    /** lseek(2) SEEK_DATA ({@code data} true) or SEEK_HOLE from {@code pos}; ENXIO at or past EOF. */
    public long seek(InodeId id, long pos, boolean data) throws IOException {
        return reading(() -> inodes.seek(id, pos, data));
    }

    public byte[] readlink(InodeId id) throws IOException {
        return reading(() -> inodes.readlink(id));
    }

    public List<byte[]> listxattr(InodeId id) throws IOException {
        return reading(() -> inodes.listxattr(id));
    }

    public byte[] getxattr(InodeId id, byte[] name) throws IOException {
        return reading(() -> inodes.getxattr(id, name));
    }

    public byte[] getxattr(InodeId id, String name) throws IOException {
        return getxattr(id, name.getBytes(StandardCharsets.UTF_8));
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
                cur = cur.equals(rootDir) ? cur : parent(cur);
                continue;
            }
            InodeId next = lookup(cur, p.getBytes(StandardCharsets.UTF_8));
            boolean last = i == parts.length - 1;
            if ((!last || followLast) && getattr(next).isSymlink()) {
                if (follows >= MAX_SYMLINK_FOLLOWS) {
                    throw new FsException(Errno.ELOOP, "too many symlinks resolving " + path);
                }
                String target = new String(readlink(next), StandardCharsets.UTF_8);
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
        if (trees != null) {
            return reading(this::statfsWritable);
        }
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
        return statfs(rawUsed, dataFree, fs.superblock(), fs.superblock().devItem());
    }

    /** The statfs figures from raw used bytes, free bytes in data block groups, the superblock and the device item. */
    private StatFs statfs(long rawUsed, long dataFree, org.jbtrfs.format.Superblock sb, DevItem dev) {
        long bsize = fs.sectorsize();
        long unallocated = Math.max(0, dev.totalBytes() - dev.bytesUsed());
        long blocks = sb.totalBytes() / bsize;
        long bfree = Math.max(0, blocks - rawUsed / bsize);
        long bavail = (dataFree + unallocated) / bsize;
        return new StatFs(bsize, blocks, bfree, Math.min(bavail, bfree), 0, 0, InodeReader.NAME_MAX, sb.fsid());
    }

    // ---- Writing -------------------------------------------------------------------------

    /** Whether this filesystem was opened for writing (and has not turned read-only after an abort). */
    public boolean isWritable() {
        return trees != null && !remountedReadOnly && trees.transactions().readOnlyReason() == null;
    }

    /** A change: runs in a transaction handle, exclusively; an error after the first change aborts. */
    private interface Change<T> {
        T run(TransHandle h) throws IOException;
    }

    private interface Read<T> {
        T run() throws IOException;
    }

    private <T> T reading(Read<T> r) throws IOException {
        opLock.readLock().lock();
        try {
            return r.run();
        } finally {
            opLock.readLock().unlock();
        }
    }

    /** Items a namespace change may insert or change, the kernel's counts (btrfs_start_transaction callers). */
    /** A create's items (as btrfs_create's trans units) and the two ACL xattrs it may inherit. */
    private static final int CREATE_ITEMS = 8;
    private static final int LINK_ITEMS = 5;
    private static final int UNLINK_ITEMS = 8;
    private static final int RENAME_ITEMS = 11;
    /** the inode, and the access ACL a chmod rewrites. */
    private static final int SETATTR_ITEMS = 3;
    private static final int XATTR_ITEMS = 3;
    private static final int TRUNCATE_ITEMS = 8;
    /** Deleting empty groups changes a few items per group in four trees; a handful of groups at a time. */
    private static final int UNUSED_BG_ITEMS = 16;
    /** A subvolume deletion: the entry (like an unlink), ROOT_REF, ROOT_BACKREF, ROOT_ITEM, orphan and uuid items. */
    private static final int DELETE_SUBVOL_ITEMS = UNLINK_ITEMS + 6;
    /** A drop step edits the ROOT_ITEM; the refs it queues only free space (paid at commit like any refs). */
    private static final int DROP_STEP_ITEMS = 2;

    private <T> T change(String what, Change<T> c) throws IOException {
        return change(what, SETATTR_ITEMS, 0, c);
    }

    /**
     * Runs a change: reserves its metadata worst case ({@code items}) and {@code dataBytes} first
     * — ENOSPC comes here, before anything changed — then runs it in a transaction handle.
     */
    private <T> T change(String what, long items, long dataBytes, Change<T> c) throws IOException {
        return change(what, items, dataBytes, false, c);
    }

    /** Changes that free space ({@code freesSpace}) may draw on the global reserve when nothing else is left. */
    private <T> T change(String what, long items, long dataBytes, boolean freesSpace, Change<T> c) throws IOException {
        if (trees == null) {
            throw new FsException(Errno.EROFS, "the filesystem is open read-only");
        }
        opLock.writeLock().lock();
        try {
            T result;
            try (var reservation = reserve(items, dataBytes, freesSpace)) {
                result = inTransaction(what, c);
            }
            maybeCommit();
            return result;
        } finally {
            opLock.writeLock().unlock();
        }
    }

    /** Runs {@code c} in a transaction handle; the caller holds the reservation. */
    private <T> T inTransaction(String what, Change<T> c) throws IOException {
        TransHandle h = trees.transactions().start();
        T result;
        try {
            result = c.run(h);
            trees.throttleDelayedRefs(h);
        } catch (IOException | RuntimeException | Error e) {
            // A half-done change must never reach the disk (btrfs_abort_transaction); a
            // refusal before the first change (an errno, a bad argument) leaves the trees as
            // they were and the filesystem writable. A broken invariant (Error) aborts always.
            if (h.changed() || e instanceof Error) {
                trees.transactions().abort(h.transaction(), what + " failed: " + e);
            }
            trees.transactions().end(h);
            throw e;
        }
        trees.transactions().end(h);
        return result;
    }

    /**
     * An eviction run by the space reclaimer (RUN_DELAYED_IPUTS): without the op lock — a writer
     * holding it may be the one waiting for this space; the inode has no name and no handle, so no
     * other change can reach it — and with a reservation that never waits for the reclaimer.
     */
    private void evictForReclaim(InodeId id) throws IOException {
        if (closed || !isWritable()) {
            throw new FsException(Errno.EROFS, "not writable: delayed iput of " + id + " stays queued");
        }
        try (var reservation = trees.space().reserveOp(UNLINK_ITEMS, 0, true, org.jbtrfs.space.FlushPolicy.NO_FLUSH)) {
            inTransaction("evict", h -> namespace.evict(h, id));
        }
    }

    private org.jbtrfs.transaction.SpaceAccounting.OpReservation reserve(long items, long dataBytes, boolean freesSpace)
            throws IOException {
        if (closed) {
            throw new FsException(Errno.EIO, "the filesystem is closed");
        }
        String ro = trees.transactions().readOnlyReason();
        if (ro != null) {
            throw new FsException(Errno.EROFS, "the filesystem turned read-only: " + ro);
        }
        if (remountedReadOnly) {
            throw new FsException(Errno.EROFS, "the filesystem is mounted read-only");
        }
        return trees.space().reserveOp(items, dataBytes, freesSpace);
    }

    /** Commits when the running transaction holds more dirty tree blocks than the cache should carry. */
    private void maybeCommit() throws IOException {
        if (trees.dirtyBytes() >= dirtyCommitBytes) {
            commitLocked();
        }
    }

    /** Commits the running transaction, if there is one (btrfs_sync_fs attaches, it does not start one). */
    private void commitLocked() throws IOException {
        if (!trees.transactions().busy()) {
            return;
        }
        TransHandle h = trees.transactions().start();
        trees.transactions().commit(h);
    }

    private static Timespec now() {
        java.time.Instant t = java.time.Instant.now();
        return new Timespec(t.getEpochSecond(), t.getNano());
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /**
     * mknod(2)/creat(2)/mkdir(2): {@code mode} carries the file type (S_IFREG, S_IFDIR, ...). A
     * default ACL of {@code dir} is inherited (and cuts the mode down).
     */
    public InodeId mknod(InodeId dir, byte[] name, int mode, long rdev, int uid, int gid) throws IOException {
        return mknod(dir, name, mode, rdev, uid, gid, 0);
    }

    /** As above, with the caller's umask, which applies unless {@code dir} has a default ACL (as in the kernel). */
    public InodeId mknod(InodeId dir, byte[] name, int mode, long rdev, int uid, int gid, int umask) throws IOException {
        return change("mknod", CREATE_ITEMS, 0, h -> namespace.create(h, dir, name, mode, rdev, uid, gid, umask, now()));
    }

    /** creat(2) of a regular file with permission bits {@code perm}. */
    public InodeId create(InodeId dir, String name, int perm, int uid, int gid) throws IOException {
        return mknod(dir, utf8(name), Attr.S_IFREG | (perm & 07777), 0, uid, gid);
    }

    public InodeId mkdir(InodeId dir, byte[] name, int perm, int uid, int gid) throws IOException {
        return mknod(dir, name, Attr.S_IFDIR | (perm & 07777), 0, uid, gid);
    }

    public InodeId mkdir(InodeId dir, String name, int perm, int uid, int gid) throws IOException {
        return mkdir(dir, utf8(name), perm, uid, gid);
    }

    public InodeId symlink(InodeId dir, byte[] name, byte[] target, int uid, int gid) throws IOException {
        return change("symlink", CREATE_ITEMS, 0, h -> namespace.symlink(h, dir, name, target, uid, gid, now()));
    }

    public InodeId symlink(InodeId dir, String name, String target, int uid, int gid) throws IOException {
        return symlink(dir, utf8(name), utf8(target), uid, gid);
    }

    /** link(2): a new name for {@code id}. */
    public void link(InodeId id, InodeId dir, byte[] name) throws IOException {
        change("link", LINK_ITEMS, 0, h -> {
            namespace.link(h, id, dir, name, now());
            return null;
        });
    }

    public void unlink(InodeId dir, byte[] name) throws IOException {
        change("unlink", UNLINK_ITEMS, 0, true, h -> {
            lastLinkGone(h, namespace.unlink(h, dir, name, now()));
            return null;
        });
    }

    public void unlink(InodeId dir, String name) throws IOException {
        unlink(dir, utf8(name));
    }

    public void rmdir(InodeId dir, byte[] name) throws IOException {
        if (namesSubvolume(dir, name)) {
            // btrfs_rmdir of a subvolume's top directory is btrfs_delete_subvolume, if it is empty.
            deleteSubvolume(dir, name, true);
            return;
        }
        change("rmdir", UNLINK_ITEMS, 0, true, h -> {
            lastLinkGone(h, namespace.rmdir(h, dir, name, now()));
            return null;
        });
    }

    /** renameat2(2); {@code flags} 0, {@link Namespace#RENAME_NOREPLACE} or {@link Namespace#RENAME_EXCHANGE}. */
    public void rename(InodeId srcDir, byte[] srcName, InodeId dstDir, byte[] dstName, int flags) throws IOException {
        change("rename", RENAME_ITEMS, 0, h -> {
            lastLinkGone(h, namespace.rename(h, srcDir, srcName, dstDir, dstName, flags, now()));
            return null;
        });
    }

    /** An inode without names: removed now, or kept as an orphan while it is open. */
    private void lastLinkGone(TransHandle h, Namespace.Unlinked u) throws IOException {
        if (u == null || !u.lastLink()) {
            return;
        }
        boolean open;
        synchronized (openCounts) {
            open = openCounts.containsKey(u.id());
        }
        if (open) {
            namespace.addOrphan(h, u.id());
        } else {
            namespace.evict(h, u.id());
        }
    }

    /** chmod/chown/truncate/utimes in one call. */
    public Attr setattr(InodeId id, SetAttr a) throws IOException {
        return change("setattr", a.size() != null ? TRUNCATE_ITEMS : SETATTR_ITEMS, a.size() != null ? 2L * fs.sectorsize() : 0, h -> {
            Timespec now = now();
            if (a.size() != null) {
                Attr cur = inodes.getattr(id);
                if (cur.isDirectory()) {
                    throw new FsException(Errno.EISDIR, "cannot truncate directory " + id);
                }
                if (!cur.isRegular()) {
                    throw new FsException(Errno.EINVAL, "cannot truncate inode " + id);
                }
                if (a.size() < 0) {
                    throw new FsException(Errno.EINVAL, "negative size");
                }
                files.truncate(h, id.root(), id.ino(), a.size(), now);
            }
            namespace.setattr(h, id, a, now);
            return inodes.getattr(id);
        });
    }

    /** pwrite(2); returns {@code len}. */
    public int write(InodeId id, long pos, byte[] src, int off, int len) throws IOException {
        java.util.Objects.checkFromIndexSize(off, len, src.length);
        if (pos < 0 || len < 0 || pos + len < 0) {
            throw new FsException(pos + len < 0 ? Errno.EFBIG : Errno.EINVAL, "write of " + len + " bytes at " + pos);
        }
        // The file writer reads the inode item once and refuses directories (EISDIR) and other
        // non-regular inodes (EINVAL) itself, before it changes anything.
        return change("write", writeItems(len), alignedLength(pos, len), h -> {
            if (len > 0) {
                files.write(h, id.root(), id.ino(), pos, src, off, len, now());
            }
            return len;
        });
    }

    /**
     * The data a write of {@code len} bytes at {@code pos} may allocate: its sectors, plus the first
     * sector of an inline file it turns regular and the old last sector zeroed when it grows the
     * file (btrfs_cont_expand).
     */
    private long alignedLength(long pos, long len) {
        long sector = fs.sectorsize();
        long start = pos / sector * sector;
        long end = (pos + len + sector - 1) / sector * sector;
        return end - start + 2 * sector;
    }

    /** Items a write changes: the file extent items, their csum items, the inode item. */
    private long writeItems(long len) {
        long csumBytes = len / fs.sectorsize() * fs.csumType().size();
        return 4 + csumBytes / Math.max(1, trees.cow().maxItemSize()) + len / (128L << 20);
    }

    /** fallocate(PUNCH_HOLE | KEEP_SIZE). */
    public void punchHole(InodeId id, long pos, long len) throws IOException {
        change("punch hole", TRUNCATE_ITEMS, 2L * fs.sectorsize(), h -> {
            if (!inodes.getattr(id).isRegular()) {
                throw new FsException(Errno.EINVAL, "inode " + id + " is not a regular file");
            }
            files.punchHole(h, id.root(), id.ino(), pos, len, now());
            return null;
        });
    }

    /**
     * fallocate(2) with the Linux mode bits of {@link Fallocate}: 0 or {@link Fallocate#KEEP_SIZE}
     * preallocates the holes of the range (PREALLOC extents; the size grows to pos+len unless
     * KEEP_SIZE), {@link Fallocate#ZERO_RANGE} [| KEEP_SIZE] makes the range read as zeros
     * (mostly preallocated), {@link Fallocate#PUNCH_HOLE} | KEEP_SIZE is {@link #punchHole}.
     * Refusals come in the kernel's order ({@link Fallocate#checkArguments},
     * {@link Fallocate#checkFile}), then the space: the sector-aligned length (plus the two
     * partial sectors it may rewrite) is reserved up front, so ENOSPC comes before anything
     * changed — even where the range is allocated already (the kernel counts only the holes).
     */
    public void fallocate(InodeId id, int mode, long pos, long len) throws IOException {
        Fallocate.checkArguments(mode, pos, len);
        Fallocate.checkFile(mode, pos, len, getattr(id), FileWriter.MAX_FILE_BYTES);
        if ((mode & Fallocate.PUNCH_HOLE) != 0) {
            punchHole(id, pos, len);
            return;
        }
        boolean keepSize = (mode & Fallocate.KEEP_SIZE) != 0;
        boolean zero = (mode & Fallocate.ZERO_RANGE) != 0;
        long aligned = alignedLength(pos, len);
        long extents = aligned / FileWriter.MAX_EXTENT_BYTES + 1;
        // Per prealloc extent its item, its ref and the inode (the kernel starts a 3-item
        // transaction per extent); plus a truncate's worth for the drops and partial sectors.
        change(zero ? "zero range" : "fallocate", TRUNCATE_ITEMS + 3 * extents, aligned + 2L * fs.sectorsize(), h -> {
            if (!inodes.getattr(id).isRegular()) {
                throw new FsException(Errno.EINVAL, "inode " + id + " is not a regular file");
            }
            if (zero) {
                files.zeroRange(h, id.root(), id.ino(), pos, len, keepSize, now());
            } else {
                files.fallocate(h, id.root(), id.ino(), pos, len, keepSize, now());
            }
            return null;
        });
    }

    public void setxattr(InodeId id, byte[] name, byte[] value, int flags) throws IOException {
        change("setxattr", XATTR_ITEMS, 0, h -> {
            namespace.setxattr(h, id, name, value, flags, now());
            return null;
        });
    }

    public void removexattr(InodeId id, byte[] name) throws IOException {
        change("removexattr", XATTR_ITEMS, 0, h -> {
            namespace.removexattr(h, id, name, now());
            return null;
        });
    }

    /** An open file handle: the inode stays while any is open, even without names. */
    public void open(InodeId id) throws IOException {
        reading(() -> inodes.getattr(id));
        synchronized (openCounts) {
            openCounts.merge(id, 1, Integer::sum);
        }
    }

    /** Closes a handle from {@link #open}; the last close of an inode without names removes it. */
    public void release(InodeId id) throws IOException {
        synchronized (openCounts) {
            Integer n = openCounts.get(id);
            if (n == null) {
                throw new IllegalStateException("release of " + id + " which is not open");
            }
            if (n > 1) {
                openCounts.put(id, n - 1);
                return;
            }
            openCounts.remove(id);
        }
        if (trees != null && reading(() -> inodes.inodeItem(id).nlink()) == 0) {
            // The last handle of an inode without names: the cleaner evicts it (a delayed iput),
            // or, while read-only, its orphan item keeps it until the next read-write mount.
            cleaner.addDelayedIput(id);
        }
    }

    /**
     * btrfs_run_delayed_iputs and wait: every inode whose last handle was released is evicted when
     * this returns (callers that must see it gone, and tests).
     */
    public void runDelayedIputs() throws IOException {
        if (trees == null) {
            return;
        }
        cleaner.holdIdle();
        try {
            if (isWritable()) {
                cleaner.runDelayedIputs();
            }
        } finally {
            cleaner.releaseIdle();
        }
    }

    // ---- Lifecycle: workers, remount, unmount (seed 003) ---------------------------------------

    private void startWorkers() {
        transactionThread.start("jbtrfs-transaction");
        cleaner.start("jbtrfs-cleaner");
    }

    /** The transaction thread's commit: the running transaction, if any, under the op lock like sync. */
    private void commitIfRunning() throws IOException {
        opLock.writeLock().lock();
        try {
            if (!closed && isWritable()) {
                commitLocked();
            }
        } finally {
            opLock.writeLock().unlock();
        }
        cleaner.kick(); // groups emptied by that commit's frees can go now
    }

    /**
     * Deletes empty DATA and METADATA block groups (btrfs_delete_unused_bgs; the cleaner does this
     * after commits): their chunks' device space is free again once the next commit is on disk.
     * Returns how many block groups went.
     */
    public int deleteUnusedBlockGroups() throws IOException {
        if (trees == null || !isWritable() || trees.unusedBlockGroups().isEmpty()) {
            return 0; // nothing to do: no transaction, no commit of an idle filesystem
        }
        return change("delete unused block groups", UNUSED_BG_ITEMS, 0, true, trees::deleteUnusedBlockGroups);
    }

    /**
     * Deletes subvolume or snapshot {@code name} of {@code dir} (btrfs_delete_subvolume): the entry
     * and the root's links go, its ROOT_ITEM gets refs 0 and an orphan item; the cleaner frees its
     * tree after this transaction commits ({@link #cleanDeadRoots}). EBUSY while a file in it is open.
     */
    public void deleteSubvolume(InodeId dir, byte[] name) throws IOException {
        deleteSubvolume(dir, name, false);
    }

    /** Whether {@code name} in {@code dir} is another subvolume's top directory (false if there is no such name). */
    private boolean namesSubvolume(InodeId dir, byte[] name) throws IOException {
        try {
            InodeId t = lookup(dir, name);
            return t.root() != dir.root() && t.ino() == ObjectIds.FIRST_FREE;
        } catch (FsException e) {
            return false; // rmdir's own path reports it
        }
    }

    private void deleteSubvolume(InodeId dir, byte[] name, boolean onlyIfEmpty) throws IOException {
        change("delete subvolume", DELETE_SUBVOL_ITEMS, 0, true, h -> {
            if (onlyIfEmpty && inodes.getattr(inodes.lookup(dir, name)).size() != 0) {
                // checked before the subvolume rules, as btrfs_rmdir does
                throw new FsException(Errno.ENOTEMPTY, "subvolume " + new String(name, StandardCharsets.UTF_8) + " is not empty");
            }
            long id = org.jbtrfs.subvol.SubvolumeDeletion.check(trees, dir, name);
            synchronized (openCounts) {
                if (openCounts.keySet().stream().anyMatch(i -> i.root() == id)) {
                    throw new FsException(Errno.EBUSY, "subvolume " + id + " has open files");
                }
            }
            namespace.unlinkSubvolume(h, dir, name, id, now());
            org.jbtrfs.subvol.SubvolumeDeletion.markDead(trees, h, dir.root(), id);
            deadRoots.add(id, h.transid());
            return null;
        });
    }

    /**
     * Drops dead roots now, in the caller's thread with the cleaner held idle, at most
     * {@code maxSteps} bounded steps (each its own transaction); returns the roots finished. A root
     * deleted in the running transaction waits for its commit.
     */
    public int cleanDeadRoots(long maxSteps) throws IOException {
        if (trees == null) {
            return 0;
        }
        cleaner.holdIdle();
        try {
            return deadRoots.run(this::dropStep, trees.transactions()::lastCommitted, () -> !isWritable(), maxSteps);
        } finally {
            cleaner.releaseIdle();
        }
    }

    /** Dead roots not dropped yet (ids), for tests and tools. */
    public List<Long> deadRoots() {
        return deadRoots == null ? List.of() : deadRoots.pending();
    }

    private boolean dropStep(long rootId, int maxBlocks) throws IOException {
        return change("drop dead root " + rootId, DROP_STEP_ITEMS, 0, true,
                h -> new org.jbtrfs.subvol.DropSnapshot(trees).step(h, rootId, maxBlocks));
    }

    /** The cleaner's work after the delayed iputs, in the kernel's order: dead roots, then unused groups. */
    private void cleanerWork() throws IOException {
        deadRoots.run(this::dropStep, trees.transactions()::lastCommitted, cleaner::shouldYield, Long.MAX_VALUE);
        deleteUnusedBlockGroups();
    }

    /** Whether the filesystem is mounted read-only now (opened so, or remounted). */
    public boolean isReadOnly() {
        return trees == null || remountedReadOnly;
    }

    /**
     * mount -o remount,ro | remount,rw. To read-only, in the order of seed 003's fixes: stop the
     * transaction thread; wait for the cleaner to go idle and keep it so; run the pending delayed
     * iputs; commit; from then on nothing starts a transaction and changes get EROFS. Back to
     * read-write: the transaction thread runs again, orphans are cleaned, the cleaner picks up its
     * queue. A filesystem opened read-only stays so (reopen it for writing).
     */
    public void remount(boolean readOnly) throws IOException {
        if (trees == null) {
            if (readOnly) {
                return;
            }
            throw new FsException(Errno.EROFS, "opened read-only; open the image for writing to remount it read-write");
        }
        if (readOnly) {
            transactionThread.stop();
            cleaner.holdIdle();
            try {
                opLock.writeLock().lock();
                try {
                    if (closed) {
                        throw new FsException(Errno.EIO, "the filesystem is closed");
                    }
                    if (remountedReadOnly) {
                        return;
                    }
                    if (isWritable()) {
                        cleaner.runDelayedIputs();
                        commitLocked();
                    }
                    remountedReadOnly = true;
                    trees.transactions().setReadOnly(true);
                } finally {
                    opLock.writeLock().unlock();
                }
            } finally {
                cleaner.releaseIdle();
            }
            return;
        }
        opLock.writeLock().lock();
        try {
            if (closed) {
                throw new FsException(Errno.EIO, "the filesystem is closed");
            }
            if (!remountedReadOnly) {
                return;
            }
            String ro = trees.transactions().readOnlyReason();
            if (ro != null) {
                throw new FsException(Errno.EROFS, "the filesystem turned read-only after an error: " + ro);
            }
            trees.transactions().setReadOnly(false);
            remountedReadOnly = false;
            cleanOrphans();
            transactionThread.start("jbtrfs-transaction");
        } finally {
            opLock.writeLock().unlock();
        }
        if (cleaner.pending() > 0) {
            runDelayedIputs();
        }
    }

    /** sync(2): commits the running transaction; everything changed before is on disk when this returns. */
    public void sync() throws IOException {
        if (trees == null) {
            return;
        }
        opLock.writeLock().lock();
        try {
            if (trees.transactions().readOnlyReason() != null) {
                throw new FsException(Errno.EROFS, "the filesystem turned read-only: " + trees.transactions().readOnlyReason());
            }
            commitLocked();
        } finally {
            opLock.writeLock().unlock();
        }
    }

    /** Orphans left by a crash or a kill: inodes whose last name went while they were open. */
    private void cleanOrphans() throws IOException {
        // Dead roots first (btrfs_find_orphan_roots, read-write mounts only: seed 003 patch 2).
        if (deadRoots.findOrphanRoots(trees) > 0) {
            cleaner.kick();
        }
        for (long tree : namespace.subvolumes()) {
            List<Long> orphans = namespace.orphans(tree);
            for (long ino : orphans) {
                change("orphan cleanup", UNLINK_ITEMS, 0, true, h -> namespace.evict(h, new InodeId(tree, ino)));
            }
        }
    }

    private StatFs statfsWritable() throws IOException {
        long rawUsed = 0;
        long dataFree = 0;
        for (BlockGroup bg : trees.blockGroups().all()) {
            ChunkMap.Mapping m = fs.chunkMap().find(bg.start());
            int mirrors = m == null ? 1 : m.mirrors();
            rawUsed += bg.used() * mirrors;
            if (bg.isData()) {
                dataFree += Math.max(0, bg.length() - bg.used());
            }
        }
        // The device item of the chunk allocator counts chunks made since the last commit too.
        return statfs(rawUsed, dataFree, trees.superblock(), trees.chunkAllocator().devItem());
    }

    /**
     * Commits what changed (a writable filesystem) and closes the device. After an abort nothing is
     * written: the image keeps its last committed state. Then every space reservation must be back:
     * a leak throws IllegalStateException with one {@code LEAK <type> <counter> <value>} line each
     * (after the image was committed and closed).
     */
    @Override
    public void close() throws IOException {
        IllegalStateException leaked = null;
        if (trees != null) {
            // The workers stop first (seed 003): the transaction thread, then the cleaner, which
            // finishes its round; its queue is run below, in this thread.
            transactionThread.stop();
            cleaner.stop();
            cleaner.holdIdle();
        }
        opLock.writeLock().lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            if (trees != null && isWritable()) {
                synchronized (openCounts) {
                    if (!openCounts.isEmpty()) {
                        LOG.warning("closing with " + openCounts.size() + " inodes still open");
                    }
                }
                cleaner.runDelayedIputs();
                commitLocked();
                org.jbtrfs.race.RacePoint.UNMOUNT_BEFORE_CHECK.hit();
                List<String> leaks = new ArrayList<>(unmountLeaks());
                leaks.addAll(trees.closeSpace());
                if (!leaks.isEmpty()) {
                    // Everything is committed and the device closes below; the caller (a test, the
                    // daemon's exit status) must still hear of the leak: one LEAK line per counter.
                    LOG.severe("leaked at close:\n" + String.join("\n", leaks));
                    leaked = new IllegalStateException("leaked at close:\n" + String.join("\n", leaks));
                }
            } else if (trees != null) {
                trees.closeSpace();
            }
        } finally {
            opLock.writeLock().unlock();
            if (trees != null) {
                cleaner.releaseIdle();
            }
            fs.close();
        }
        if (leaked != null) {
            throw leaked;
        }
    }

    /**
     * What must be gone once the workers stopped and the last commit is on disk (seed 003, patch
     * 4): an open or committing transaction, a pending delayed iput, a dirty tree block.
     */
    private List<String> unmountLeaks() {
        List<String> out = new ArrayList<>();
        if (trees.transactions().busy()) {
            out.add("LEAK transaction open or committing at unmount");
        }
        if (cleaner.pending() > 0) {
            out.add("LEAK delayed_iputs " + cleaner.pending() + " " + cleaner.pendingIds());
        }
        if (trees.dirtyBytes() > 0) {
            out.add("LEAK dirty_tree_blocks_bytes " + trees.dirtyBytes());
        }
        return out;
    }

    private static final Logger LOG = Logger.getLogger(Filesystem.class.getName());
}
