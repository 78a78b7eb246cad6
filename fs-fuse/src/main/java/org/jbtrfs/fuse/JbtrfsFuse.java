package org.jbtrfs.fuse;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.jbtrfs.Attr;
import org.jbtrfs.CorruptImageException;
import org.jbtrfs.DirEntry;
import org.jbtrfs.Errno;
import org.jbtrfs.Filesystem;
import org.jbtrfs.FsException;
import org.jbtrfs.InodeId;
import org.jbtrfs.SetAttr;
import org.jbtrfs.StatFs;
import org.jbtrfs.format.Timespec;
import org.jbtrfs.fuse.protocol.EventCounter;
import org.jbtrfs.fuse.protocol.FuseAbi;
import org.jbtrfs.fuse.protocol.FuseReply;
import org.jbtrfs.fuse.protocol.FuseRequest;
import org.jbtrfs.fuse.protocol.FuseSession;

/**
 * The FUSE frontend: each kernel request (by node id, see {@link NodeTable}) mapped one to one
 * onto a {@link Filesystem} call. It keeps no filesystem state of its own beyond the node ids the
 * kernel holds and the open file handles.
 *
 * <h2>How a request is served</h2>
 * <ol>
 *   <li>The header's node id names the inode ({@link NodeTable#inode}); names come as bytes and
 *       go to fs-core as bytes (no charset on the way).</li>
 *   <li>Exactly one {@link Filesystem} call does the work; its result fills the reply. Replies that
 *       name an inode count one kernel lookup of it.</li>
 *   <li>Errors: {@link FsException} replies its errno; {@link CorruptImageException} and other
 *       failures reply EIO and are logged.</li>
 * </ol>
 *
 * <p>The kernel caches attributes and names for {@link Timeouts}; that is safe because every
 * change comes through this mount (the daemon holds the image locked) and the kernel drops what a
 * change of its own makes stale (a hard link's other names share the node, so its link count is
 * right everywhere). Permissions are the kernel's ({@code default_permissions}, and POSIX ACLs with
 * FUSE_POSIX_ACL: the kernel enforces them, fs-core stores them, keeps the mode in step and applies
 * default ACLs and the umask, which the kernel passes on under FUSE_DONT_MASK). Owner of new
 * inodes: the caller's uid and gid; in a directory with S_ISGID the gid is the directory's and a
 * new directory keeps S_ISGID (inode_init_owner() in fs/inode.c), which FUSE leaves to us.
 */
public final class JbtrfsFuse implements FuseSession.Handler {
    private static final Logger LOG = Logger.getLogger(JbtrfsFuse.class.getName());

    private static final int S_ISGID = 02000;
    /** lseek(2) whence values the kernel passes on. */
    private static final int SEEK_DATA = 3;
    private static final int SEEK_HOLE = 4;
    /** Directory entries fetched from fs-core per step while filling a READDIR reply. */
    private static final int READDIR_BATCH = 64;
    /** renameat2 flags fs-core knows (RENAME_NOREPLACE | RENAME_EXCHANGE). */
    private static final int RENAME_FLAGS = 1 | 2;

    /** How long the kernel may trust what we reply: names, attributes, and "no such name". */
    public record Timeouts(double entrySeconds, double attrSeconds, double negativeSeconds) {
        public static final Timeouts DEFAULT = new Timeouts(10, 10, 10);
    }

    private final Filesystem fs;
    private final NodeTable nodes;
    private final Timeouts timeouts;
    /** Open file handles: fh → inode. Entries live from OPEN/CREATE to RELEASE. */
    private final ConcurrentHashMap<Long, InodeId> handles = new ConcurrentHashMap<>();
    private final AtomicLong nextFh = new AtomicLong(1);
    /** Requests answered EINTR: their thread was interrupted (a FUSE INTERRUPT) while it waited. */
    private final EventCounter interruptedReplies = new EventCounter();
    /**
     * Asked when a change met EROFS on a filesystem remounted read-only: whether the mount is
     * read-write again (and the filesystem now follows it), so the change may be retried.
     */
    private volatile BooleanSupplier followRemount = () -> false;

    /** An adapter serving {@code fs}; it takes ownership: destroy (after unmount) closes it. */
    public JbtrfsFuse(Filesystem fs, Timeouts timeouts) {
        this.fs = fs;
        this.timeouts = timeouts;
        this.nodes = new NodeTable(fs.root());
    }

    public Filesystem filesystem() {
        return fs;
    }

    /** Number of open FUSE file handles (for tests and the leak report at close). */
    public int openHandles() {
        return handles.size();
    }

    /** Requests answered EINTR because a FUSE INTERRUPT reached the thread waiting in them. */
    public EventCounter interruptedReplies() {
        return interruptedReplies;
    }

    /** Number of inodes the kernel holds node ids for (the root included). */
    public int knownNodes() {
        return nodes.size();
    }

    void setFollowRemount(BooleanSupplier f) {
        this.followRemount = f;
    }

    @Override
    public void destroy() throws IOException {
        if (!handles.isEmpty()) {
            LOG.warning("unmounted with " + handles.size() + " open file handles");
        }
        fs.close();
    }

    // ---- dispatch -------------------------------------------------------------------------

    @FunctionalInterface
    private interface Op {
        void run(FuseRequest rq, FuseReply r) throws IOException;
    }

    @Override
    public void serve(FuseRequest rq, FuseReply r) {
        Op op = switch (rq.opcode()) {
            case FuseAbi.LOOKUP -> this::lookup;
            case FuseAbi.FORGET -> this::forget;
            case FuseAbi.BATCH_FORGET -> this::batchForget;
            case FuseAbi.GETATTR -> this::getattr;
            case FuseAbi.SETATTR -> this::setattr;
            case FuseAbi.READLINK -> this::readlink;
            case FuseAbi.SYMLINK -> this::symlink;
            case FuseAbi.MKNOD -> this::mknod;
            case FuseAbi.MKDIR -> this::mkdir;
            case FuseAbi.UNLINK -> (q, p) -> {
                fs.unlink(node(q), q.cstring(0));
                p.ok();
            };
            case FuseAbi.RMDIR -> (q, p) -> {
                fs.rmdir(node(q), q.cstring(0));
                p.ok();
            };
            case FuseAbi.RENAME -> (q, p) -> rename(q, p, 8, 0);
            case FuseAbi.RENAME2 -> (q, p) -> rename(q, p, 16, q.u32(8));
            case FuseAbi.LINK -> this::link;
            case FuseAbi.OPEN -> this::open;
            case FuseAbi.CREATE -> this::create;
            case FuseAbi.READ -> this::read;
            case FuseAbi.WRITE -> this::write;
            case FuseAbi.RELEASE -> this::release;
            case FuseAbi.STATFS -> this::statfs;
            case FuseAbi.RELEASEDIR -> (q, p) -> p.ok();
            case FuseAbi.FSYNC, FuseAbi.FSYNCDIR, FuseAbi.SYNCFS -> (q, p) -> {
                fs.sync();
                p.ok();
            };
            case FuseAbi.OPENDIR -> this::opendir;
            case FuseAbi.READDIR -> (q, p) -> readdir(q, p, false);
            case FuseAbi.READDIRPLUS -> (q, p) -> readdir(q, p, true);
            case FuseAbi.SETXATTR -> this::setxattr;
            case FuseAbi.GETXATTR -> this::getxattr;
            case FuseAbi.LISTXATTR -> this::listxattr;
            case FuseAbi.REMOVEXATTR -> (q, p) -> {
                fs.removexattr(node(q), q.cstring(0));
                p.ok();
            };
            case FuseAbi.FALLOCATE -> this::fallocate;
            case FuseAbi.LSEEK -> this::lseek;
            default -> null;
        };
        if (op == null) {
            // The kernel stops asking: locks, ioctl, poll, bmap, copy_file_range, and FLUSH (nothing
            // is buffered above fs-core: writes are done when they return, so close(2) needs no
            // round trip of its own).
            r.error(Errno.ENOSYS.code());
            return;
        }
        call(op, rq, r);
    }

    private void call(Op op, FuseRequest rq, FuseReply r) {
        try {
            try {
                op.run(rq, r);
            } catch (FsException e) {
                // `mount -o remount,rw` changed the VFS flag before the watcher saw it: follow now.
                if (e.errno() == Errno.EROFS && !r.isAnswered() && fs.isReadOnly() && followRemount.getAsBoolean()) {
                    op.run(rq, r);
                } else {
                    throw e;
                }
            }
        } catch (FsException e) {
            if (e.errno() == Errno.EINTR) {
                interruptedReplies.increment();
            }
            fail(r, e.errno());
        } catch (CorruptImageException e) {
            LOG.severe(FuseAbi.opcodeName(rq.opcode()) + " on node " + rq.nodeid() + ": the image is damaged: " + e.getMessage());
            fail(r, Errno.EIO);
        } catch (IOException e) {
            LOG.log(Level.SEVERE, FuseAbi.opcodeName(rq.opcode()) + " on node " + rq.nodeid() + " failed", e);
            fail(r, Errno.EIO);
        }
    }

    /** Replies an error, unless the failure came after the reply (undoing a reply the kernel did not take). */
    private static void fail(FuseReply r, Errno errno) {
        if (!r.isAnswered()) {
            r.error(errno.code());
        }
    }

    private InodeId node(FuseRequest rq) throws FsException {
        return nodes.inode(rq.nodeid());
    }

    /** The inode of an open file handle; the request's node when the handle is unknown. */
    private InodeId handle(FuseRequest rq, long fh) throws FsException {
        InodeId id = handles.get(fh);
        return id != null ? id : node(rq);
    }

    // ---- replies --------------------------------------------------------------------------

    private static long seconds(double s) {
        return (long) s;
    }

    private static int nanos(double s) {
        return (int) ((s - Math.floor(s)) * 1e9);
    }

    private void putAttr(ByteBuffer b, Attr a) {
        b.putLong(stIno(a.id()));
        b.putLong(a.size());
        b.putLong(a.blocks());
        b.putLong(a.atime().sec());
        b.putLong(a.mtime().sec());
        b.putLong(a.ctime().sec());
        b.putInt(a.atime().nsec());
        b.putInt(a.mtime().nsec());
        b.putInt(a.ctime().nsec());
        b.putInt(a.mode());
        b.putInt((int) Math.min(a.nlink(), 0xffffffffL));
        b.putInt(a.uid());
        b.putInt(a.gid());
        b.putInt((int) a.rdev()); // new_encode_dev: glibc's dev_t for the 32-bit range
        b.putInt(a.blksize());
        b.putInt(0);
    }

    /** Subvolume ids and inode numbers that fit {@link #stIno}'s packing. */
    private static final int SUBVOL_SHIFT = 40;

    /**
     * st_ino (and d_ino) of an inode. The kernel's btrfs gives each subvolume its own st_dev, so
     * inode numbers may repeat across subvolumes (every subvolume's top directory is 256); one FUSE
     * mount has one st_dev, and tools that go by (st_dev, st_ino) — rm and find seeing a directory
     * cycle, tar and rsync -H seeing hard links — would take them for the same file. So the mount's
     * own subvolume keeps its inode numbers (they match the kernel's) and other subvolumes' inodes
     * get the subvolume id in the high bits; a number that does not fit is hashed instead.
     */
    long stIno(InodeId id) {
        if (id.root() == fs.root().root()) {
            return id.ino();
        }
        if (Long.compareUnsigned(id.ino(), 1L << SUBVOL_SHIFT) < 0 && Long.compareUnsigned(id.root(), 1L << (63 - SUBVOL_SHIFT)) < 0) {
            return (id.root() << SUBVOL_SHIFT) | id.ino();
        }
        long h = (id.root() * 0x9E3779B97F4A7C15L) ^ id.ino();
        return (h ^ (h >>> 29)) | (1L << 63); // above any packed number
    }

    /** fuse_entry_out for {@code a} under {@code nodeid} (0: a cached "no such name"). */
    private void putEntry(ByteBuffer b, long nodeid, Attr a) {
        double entry = nodeid == 0 ? timeouts.negativeSeconds() : timeouts.entrySeconds();
        b.putLong(nodeid);
        b.putLong(0); // generation: node ids are never reused
        b.putLong(seconds(entry));
        b.putLong(seconds(timeouts.attrSeconds()));
        b.putInt(nanos(entry));
        b.putInt(nanos(timeouts.attrSeconds()));
        if (a == null) {
            for (int i = 0; i < FuseAbi.ATTR_SIZE / 8; i++) {
                b.putLong(0);
            }
        } else {
            putAttr(b, a);
        }
    }

    /** Replies a fuse_entry_out naming {@code id}, counting the kernel's lookup of it. */
    private void replyEntry(FuseReply r, InodeId id) throws IOException {
        Attr a = fs.getattr(id);
        long nodeid = nodes.remember(id);
        putEntry(r.begin(), nodeid, a);
        if (!r.send()) {
            nodes.forget(nodeid, 1); // the kernel never saw it
        }
    }

    private void replyAttr(FuseReply r, Attr a) {
        ByteBuffer b = r.begin();
        b.putLong(seconds(timeouts.attrSeconds()));
        b.putInt(nanos(timeouts.attrSeconds()));
        b.putInt(0);
        putAttr(b, a);
        r.send();
    }

    // ---- names ----------------------------------------------------------------------------

    private void lookup(FuseRequest rq, FuseReply r) throws IOException {
        InodeId id;
        try {
            id = fs.lookup(node(rq), rq.cstring(0));
        } catch (FsException e) {
            if (e.errno() != Errno.ENOENT || timeouts.negativeSeconds() <= 0) {
                throw e;
            }
            putEntry(r.begin(), 0, null); // the kernel caches the absence; a create here goes through it
            r.send();
            return;
        }
        replyEntry(r, id);
    }

    /** fuse_forget_in: 0 nlookup u64. No reply. */
    private void forget(FuseRequest rq, FuseReply r) {
        nodes.forget(rq.nodeid(), rq.u64(0));
        r.none();
    }

    /** fuse_batch_forget_in: 0 count u32 · 4 dummy; then count × (nodeid u64, nlookup u64). No reply. */
    private void batchForget(FuseRequest rq, FuseReply r) {
        int count = rq.u32(0);
        for (int i = 0; i < count; i++) {
            nodes.forget(rq.u64(8 + 16 * i), rq.u64(16 + 16 * i));
        }
        r.none();
    }

    /** Owner and mode of a new inode in {@code dir}: caller's ids, or the directory's group when it is setgid. */
    private record Owner(int uid, int gid, int mode) {
    }

    private Owner owner(FuseRequest rq, InodeId dir, int mode) throws IOException {
        int gid = rq.gid();
        Attr d = fs.getattr(dir);
        if ((d.mode() & S_ISGID) != 0) {
            gid = d.gid();
            if ((mode & Attr.S_IFMT) == Attr.S_IFDIR) {
                mode |= S_ISGID;
            }
        }
        return new Owner(rq.uid(), gid, mode);
    }

    /** fuse_mknod_in: 0 mode · 4 rdev (new_encode_dev) · 8 umask · 12 padding (u32); name at 16. */
    private void mknod(FuseRequest rq, FuseReply r) throws IOException {
        InodeId dir = node(rq);
        Owner o = owner(rq, dir, rq.u32(0));
        long rdev = rq.u32(4) & 0xffffffffL;
        replyEntry(r, fs.mknod(dir, rq.cstring(16), o.mode(), rdev, o.uid(), o.gid(), rq.u32(8)));
    }

    /** fuse_mkdir_in: 0 mode · 4 umask (u32); name at 8. */
    private void mkdir(FuseRequest rq, FuseReply r) throws IOException {
        InodeId dir = node(rq);
        Owner o = owner(rq, dir, Attr.S_IFDIR | (rq.u32(0) & 07777));
        replyEntry(r, fs.mknod(dir, rq.cstring(8), o.mode(), 0, o.uid(), o.gid(), rq.u32(4)));
    }

    /** The name, then the target, both NUL-terminated. */
    private void symlink(FuseRequest rq, FuseReply r) throws IOException {
        InodeId dir = node(rq);
        byte[] name = rq.cstring(0);
        byte[] target = rq.cstring(name.length + 1);
        Owner o = owner(rq, dir, Attr.S_IFLNK | 0777);
        replyEntry(r, fs.symlink(dir, name, target, o.uid(), o.gid()));
    }

    /** fuse_link_in: 0 oldnodeid u64; the new name at 8. The node is the new parent. */
    private void link(FuseRequest rq, FuseReply r) throws IOException {
        InodeId target = nodes.inode(rq.u64(0));
        fs.link(target, node(rq), rq.cstring(8));
        replyEntry(r, target);
    }

    /**
     * fuse_rename_in: 0 newdir u64; names at 8. fuse_rename2_in: 0 newdir u64 · 8 flags u32 ·
     * 12 padding; names at 16. The node is the old parent.
     */
    private void rename(FuseRequest rq, FuseReply r, int namesAt, int flags) throws IOException {
        if ((flags & ~RENAME_FLAGS) != 0) {
            throw new FsException(Errno.EINVAL, "rename flags " + flags + " (RENAME_WHITEOUT is not supported)");
        }
        InodeId newDir = nodes.inode(rq.u64(0));
        byte[] oldName = rq.cstring(namesAt);
        byte[] newName = rq.cstring(namesAt + oldName.length + 1);
        fs.rename(node(rq), oldName, newDir, newName, flags);
        r.ok();
    }

    // ---- attributes -----------------------------------------------------------------------

    /** fuse_getattr_in: 0 getattr_flags · 4 dummy (u32) · 8 fh u64. The node is enough, even unlinked. */
    private void getattr(FuseRequest rq, FuseReply r) throws IOException {
        replyAttr(r, fs.getattr(node(rq)));
    }

    /**
     * fuse_setattr_in: 0 valid · 4 padding (u32) · 8 fh · 16 size · 24 lock_owner · 32 atime ·
     * 40 mtime · 48 ctime (u64) · 56 atimensec · 60 mtimensec · 64 ctimensec · 68 mode · 72 unused
     * · 76 uid · 80 gid · 84 unused (u32).
     */
    private void setattr(FuseRequest rq, FuseReply r) throws IOException {
        int valid = rq.u32(0);
        InodeId id = (valid & FuseAbi.FATTR_FH) != 0 ? handle(rq, rq.u64(8)) : node(rq);
        Integer mode = (valid & FuseAbi.FATTR_MODE) != 0 ? rq.u32(68) & 07777 : null;
        Integer uid = (valid & FuseAbi.FATTR_UID) != 0 ? rq.u32(76) : null;
        Integer gid = (valid & FuseAbi.FATTR_GID) != 0 ? rq.u32(80) : null;
        Long size = (valid & FuseAbi.FATTR_SIZE) != 0 ? rq.u64(16) : null;
        Timespec atime = time(rq, valid, FuseAbi.FATTR_ATIME, FuseAbi.FATTR_ATIME_NOW, 32, 56);
        Timespec mtime = time(rq, valid, FuseAbi.FATTR_MTIME, FuseAbi.FATTR_MTIME_NOW, 40, 60);
        Timespec ctime = (valid & FuseAbi.FATTR_CTIME) != 0 ? new Timespec(rq.u64(48), rq.u32(64)) : null;
        Attr a = fs.setattr(id, new SetAttr(mode, uid, gid, size, atime, mtime, ctime));
        replyAttr(r, a);
    }

    private static Timespec time(FuseRequest rq, int valid, int set, int setNow, int secAt, int nsecAt) {
        if ((valid & setNow) != 0) {
            Instant n = Instant.now();
            return new Timespec(n.getEpochSecond(), n.getNano());
        }
        return (valid & set) != 0 ? new Timespec(rq.u64(secAt), rq.u32(nsecAt)) : null;
    }

    private void readlink(FuseRequest rq, FuseReply r) throws IOException {
        byte[] target = fs.readlink(node(rq));
        r.begin().put(target);
        r.send();
    }

    private void statfs(FuseRequest rq, FuseReply r) throws IOException {
        StatFs s = fs.statfs();
        ByteBuffer b = r.begin();
        b.putLong(s.blocks());
        b.putLong(s.bfree());
        b.putLong(s.bavail());
        b.putLong(s.files());
        b.putLong(s.ffree());
        b.putInt((int) s.bsize());
        b.putInt(s.namelen());
        b.putInt((int) s.bsize()); // frsize
        b.putInt(0);
        for (int i = 0; i < 6; i++) {
            b.putInt(0);
        }
        r.send();
    }

    // ---- files ----------------------------------------------------------------------------

    private long openHandle(InodeId id) throws IOException {
        fs.open(id);
        long fh = nextFh.getAndIncrement();
        handles.put(fh, id);
        return fh;
    }

    private static void putOpen(ByteBuffer b, long fh) {
        b.putLong(fh);
        // Every change comes through this mount: the page cache stays valid from one open to the next.
        b.putInt(FuseAbi.FOPEN_KEEP_CACHE);
        b.putInt(0);
    }

    /** fuse_open_in: 0 flags · 4 open_flags (u32). O_TRUNC came before as a SETATTR. */
    private void open(FuseRequest rq, FuseReply r) throws IOException {
        long fh = openHandle(node(rq));
        putOpen(r.begin(), fh);
        if (!r.send()) {
            releaseHandle(fh); // interrupted: the kernel will not release what it never got
        }
    }

    /** fuse_create_in: 0 flags · 4 mode · 8 umask · 12 open_flags (u32); name at 16. */
    private void create(FuseRequest rq, FuseReply r) throws IOException {
        InodeId dir = node(rq);
        Owner o = owner(rq, dir, Attr.S_IFREG | (rq.u32(4) & 07777));
        InodeId id = fs.mknod(dir, rq.cstring(16), o.mode(), 0, o.uid(), o.gid(), rq.u32(8));
        Attr a = fs.getattr(id);
        long fh = openHandle(id);
        long nodeid = nodes.remember(id);
        ByteBuffer b = r.begin();
        putEntry(b, nodeid, a);
        putOpen(b, fh);
        if (!r.send()) {
            nodes.forget(nodeid, 1);
            releaseHandle(fh);
        }
    }

    /** fuse_release_in: 0 fh u64 · 8 flags · 12 release_flags (u32) · 16 lock_owner u64. */
    private void release(FuseRequest rq, FuseReply r) throws IOException {
        if (!releaseHandle(rq.u64(0))) {
            throw new FsException(Errno.EBADF, "no open file handle " + rq.u64(0));
        }
        r.ok();
    }

    private boolean releaseHandle(long fh) throws IOException {
        InodeId id = handles.remove(fh);
        if (id == null) {
            return false;
        }
        fs.release(id);
        return true;
    }

    /** fuse_read_in: 0 fh · 8 offset (u64) · 16 size · 20 read_flags (u32) · 24 lock_owner u64 · 32 flags. */
    private void read(FuseRequest rq, FuseReply r) throws IOException {
        InodeId id = handle(rq, rq.u64(0));
        long offset = rq.u64(8);
        byte[] b = r.scratch();
        int want = Math.min(rq.u32(16), Math.min(b.length, r.capacity()));
        int got = 0;
        while (got < want) {
            int n = fs.read(id, offset + got, b, got, want - got);
            if (n <= 0) {
                break;
            }
            got += n;
        }
        r.begin().put(b, 0, got);
        r.send();
    }

    /**
     * fuse_write_in: 0 fh · 8 offset (u64) · 16 size · 20 write_flags (u32) · 24 lock_owner u64 ·
     * 32 flags · 36 padding (u32); the data at 40. Reply fuse_write_out: 0 size u32 · 4 padding.
     */
    private void write(FuseRequest rq, FuseReply r) throws IOException {
        InodeId id = handle(rq, rq.u64(0));
        int size = rq.u32(16);
        byte[] b = r.scratch();
        if (size < 0 || size > b.length) {
            throw new FsException(Errno.EINVAL, "write of " + size + " bytes is larger than max_write");
        }
        rq.copy(40, b, size);
        int n = fs.write(id, rq.u64(8), b, 0, size);
        ByteBuffer out = r.begin();
        out.putInt(n);
        out.putInt(0);
        r.send();
    }

    /** fuse_fallocate_in: 0 fh · 8 offset · 16 length (u64) · 24 mode · 28 padding (u32). */
    private void fallocate(FuseRequest rq, FuseReply r) throws IOException {
        fs.fallocate(handle(rq, rq.u64(0)), rq.u32(24), rq.u64(8), rq.u64(16));
        r.ok();
    }

    /** fuse_lseek_in: 0 fh · 8 offset (u64) · 16 whence · 20 padding (u32). Reply: offset u64. */
    private void lseek(FuseRequest rq, FuseReply r) throws IOException {
        int whence = rq.u32(16);
        if (whence != SEEK_DATA && whence != SEEK_HOLE) {
            throw new FsException(Errno.EINVAL, "lseek whence " + whence + " is the kernel's to handle");
        }
        long at = fs.seek(handle(rq, rq.u64(0)), rq.u64(8), whence == SEEK_DATA);
        r.begin().putLong(at);
        r.send();
    }

    // ---- directories ----------------------------------------------------------------------

    /** fuse_open_in; directories need no handle of ours (readdir goes by node and offset). */
    private void opendir(FuseRequest rq, FuseReply r) throws IOException {
        Attr a = fs.getattr(node(rq));
        if (!a.isDirectory()) {
            throw new FsException(Errno.ENOTDIR, "not a directory");
        }
        putOpen(r.begin(), 0);
        r.send();
    }

    /** BTRFS_FT_* (what readdir reports) to the d_type DT_* value (S_IFMT >> 12). */
    static int dtypeOfFileType(int ft) {
        int mode = switch (ft) {
            case 1 -> Attr.S_IFREG;
            case 2 -> Attr.S_IFDIR;
            case 3 -> Attr.S_IFCHR;
            case 4 -> Attr.S_IFBLK;
            case 5 -> Attr.S_IFIFO;
            case 6 -> Attr.S_IFSOCK;
            case 7 -> Attr.S_IFLNK;
            default -> 0;
        };
        return mode >>> 12;
    }

    /**
     * READDIR and READDIRPLUS take a fuse_read_in (fh, offset, size). The reply is fuse_dirent
     * records (READDIRPLUS: each behind a fuse_entry_out) up to size bytes; each record's off is
     * where the next READDIR starts (fs-core's offsets: 0 ".", 1 "..", then DIR_INDEX numbers).
     * Every READDIRPLUS entry but "." and ".." counts a lookup; those two go with node id 0.
     */
    private void readdir(FuseRequest rq, FuseReply r, boolean plus) throws IOException {
        InodeId dir = node(rq);
        long offset = rq.u64(8);
        int limit = Math.min(rq.u32(16), r.capacity());
        ByteBuffer b = r.begin();
        int start = b.position();
        boolean full = false;
        List<Long> counted = plus ? new java.util.ArrayList<>() : List.of();
        while (!full) {
            List<DirEntry> batch = fs.readdir(dir, offset, READDIR_BATCH);
            for (DirEntry e : batch) {
                byte[] name = e.rawName();
                int header = (plus ? FuseAbi.ENTRY_OUT_SIZE : 0) + FuseAbi.DIRENT_HEADER_SIZE;
                int record = (header + name.length + 7) & ~7;
                if (b.position() - start + record > limit) {
                    full = true;
                    break;
                }
                if (plus) {
                    boolean dots = (name.length == 1 && name[0] == '.') || (name.length == 2 && name[0] == '.' && name[1] == '.');
                    if (dots) {
                        putEntry(b, 0, null); // node id 0: the kernel takes nothing from it
                    } else {
                        Attr a = fs.getattr(e.target());
                        long nodeid = nodes.remember(e.target());
                        counted.add(nodeid);
                        putEntry(b, nodeid, a);
                    }
                }
                b.putLong(stIno(e.target()));
                b.putLong(e.nextOffset());
                b.putInt(name.length);
                b.putInt(dtypeOfFileType(e.fileType()));
                b.put(name);
                while (((b.position() - start) & 7) != 0) {
                    b.put((byte) 0);
                }
                offset = e.nextOffset();
            }
            if (batch.size() < READDIR_BATCH) {
                break;
            }
        }
        if (!r.send()) {
            counted.forEach(n -> nodes.forget(n, 1)); // the kernel never saw these entries
        }
    }

    // ---- xattrs ---------------------------------------------------------------------------

    /** fuse_setxattr_in (without FUSE_SETXATTR_EXT): 0 size · 4 flags (u32); the name at 8, the value after it. */
    private void setxattr(FuseRequest rq, FuseReply r) throws IOException {
        int size = rq.u32(0);
        int flags = rq.u32(4);
        byte[] name = rq.cstring(8);
        byte[] value = new byte[size];
        rq.copy(8 + name.length + 1, value, size);
        fs.setxattr(node(rq), name, value, flags);
        r.ok();
    }

    /** fuse_getxattr_in: 0 size · 4 padding (u32); the name at 8. */
    private void getxattr(FuseRequest rq, FuseReply r) throws IOException {
        replyBytes(r, rq.u32(0), fs.getxattr(node(rq), rq.cstring(8)));
    }

    /** fuse_getxattr_in: 0 size; the reply is the NUL-terminated names. */
    private void listxattr(FuseRequest rq, FuseReply r) throws IOException {
        List<byte[]> names = fs.listxattr(node(rq));
        int total = 0;
        for (byte[] n : names) {
            total += n.length + 1;
        }
        byte[] all = new byte[total];
        int at = 0;
        for (byte[] n : names) {
            System.arraycopy(n, 0, all, at, n.length);
            at += n.length + 1;
        }
        replyBytes(r, rq.u32(0), all);
    }

    /** The xattr reply protocol: size 0 asks for the size (fuse_getxattr_out); too small a buffer is ERANGE. */
    private static void replyBytes(FuseReply r, int size, byte[] v) throws FsException {
        ByteBuffer b = r.begin();
        if (size == 0) {
            b.putInt(v.length);
            b.putInt(0);
        } else if (size < v.length) {
            throw new FsException(Errno.ERANGE, "value of " + v.length + " bytes, buffer of " + size);
        } else {
            b.put(v);
        }
        r.send();
    }
}
