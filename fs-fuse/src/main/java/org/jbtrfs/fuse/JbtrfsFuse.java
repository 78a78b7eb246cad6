package org.jbtrfs.fuse;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import java.util.logging.Logger;
import jnr.ffi.Pointer;
import jnr.ffi.Struct;
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
import ru.serce.jnrfuse.FuseFillDir;
import ru.serce.jnrfuse.FuseStubFS;
import ru.serce.jnrfuse.struct.FileStat;
import ru.serce.jnrfuse.struct.FuseFileInfo;
import ru.serce.jnrfuse.struct.Statvfs;

/**
 * The FUSE frontend: libfuse2's path API (through jnr-fuse) mapped one to one onto
 * {@link Filesystem} calls. It keeps no filesystem state of its own.
 *
 * <h2>How a request is served</h2>
 * <ol>
 *   <li>The path libfuse hands over is resolved to an {@link InodeId} by
 *       {@link Filesystem#resolve(String)} on every call (no symlink followed in the last
 *       component; the kernel already followed the others). Nothing path-shaped is cached, so
 *       nothing can go stale after a rename or unlink.</li>
 *   <li>Open files are keyed by inode: {@code open}/{@code create} put the {@link InodeId} into
 *       {@link #handles} under a fresh {@code fh}, and every call that comes with a file handle
 *       uses it instead of the path. With {@code -o hard_remove} and {@code flag_nullpath_ok}
 *       libfuse passes a null path for an unlinked open file; its reads, writes and fstat still
 *       work through the handle until {@code release} (fs-core keeps the inode as an orphan while
 *       {@link Filesystem#open(InodeId)} counts it open).</li>
 *   <li>Exactly one {@link Filesystem} call does the work; its result fills the reply.</li>
 *   <li>Errors: {@link FsException} replies {@code -errno}; {@link CorruptImageException} and any
 *       other failure reply {@code -EIO} and are logged (other failures with their stack). No
 *       exception ever crosses into native code, so a bug fails one request, not the daemon.</li>
 * </ol>
 *
 * <p>Owner of new inodes: the caller's uid and gid from the FUSE context; in a directory with
 * S_ISGID the gid is the directory's and a new directory keeps S_ISGID (inode_init_owner() in
 * fs/inode.c), which the kernel leaves to the filesystem under FUSE.
 *
 * <p>Not yet: renameat2 flags (libfuse2's path API has no RENAME2), lseek SEEK_DATA/SEEK_HOLE,
 * FUSE interrupts.
 */
public final class JbtrfsFuse extends FuseStubFS {
    private static final Logger LOG = Logger.getLogger(JbtrfsFuse.class.getName());

    /** Linux errno numbers libfuse expects negated; taken from {@link Errno} where it has them. */
    private static final int EIO = Errno.EIO.code();
    private static final int ERANGE = Errno.ERANGE.code();
    private static final int EBADF = Errno.EBADF.code();
    private static final int EOPNOTSUPP = Errno.EOPNOTSUPP.code();

    /** utimensat(2) special nanosecond values (linux/stat.h). */
    private static final long UTIME_NOW = (1L << 30) - 1;
    private static final long UTIME_OMIT = (1L << 30) - 2;

    private static final int S_ISGID = 02000;

    /** How many directory entries one fs-core readdir call fetches. */
    private static final int READDIR_BATCH = 256;

    /** The largest read libfuse asks for (max_read is 128 KiB; big_writes caps writes the same). */
    private static final int MAX_IO_BYTES = 1 << 20;

    private final Filesystem fs;
    /** Open file handles: fh → inode. Entries live from open/create to release. */
    private final ConcurrentHashMap<Long, InodeId> handles = new ConcurrentHashMap<>();
    private final AtomicLong nextFh = new AtomicLong(1);
    /** Completes when the kernel has sent FUSE_INIT: the mount is live. */
    private final CompletableFuture<Void> initialized = new CompletableFuture<>();
    /** Completes when FUSE_DESTROY has run and the filesystem is closed (or failed to close). */
    private final CompletableFuture<Void> destroyed = new CompletableFuture<>();

    /**
     * An adapter serving {@code fs}; it takes ownership: destroy (after unmount) closes it.
     */
    public JbtrfsFuse(Filesystem fs) {
        this.fs = fs;
        // struct fuse_operations' bit field: flag_nullpath_ok (bit 0), so that operations on an
        // unlinked open file (hard_remove) reach us with a null path instead of failing ENOENT.
        Pointer ops = Struct.getMemory(fuseOperations);
        int at = flagsOffset();
        ops.putInt(at, ops.getInt(at) | 1);
    }

    /**
     * Offset of the flags word in struct fuse_operations. jnr-fuse declares it as a Padding
     * member, whose offset() jnr-ffi keeps package-private; reflection reads it.
     */
    private int flagsOffset() {
        try {
            java.lang.reflect.Method m = null;
            Object member = fuseOperations.flag_nullpath_ok;
            Class<?> c = member.getClass();
            while (m == null && c != null) {
                for (java.lang.reflect.Method d : c.getDeclaredMethods()) {
                    if (d.getName().equals("offset") && d.getParameterCount() == 0) {
                        m = d;
                    }
                }
                c = c.getSuperclass();
            }
            if (m == null) {
                throw new IllegalStateException("jnr-ffi Struct member has no offset()");
            }
            m.setAccessible(true);
            return (int) (long) (Long) m.invoke(member);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot find fuse_operations' flags in jnr-fuse's layout", e);
        }
    }

    public Filesystem filesystem() {
        return fs;
    }

    /** Completes when the kernel has initialized the connection (the mount is live). */
    public CompletableFuture<Void> initialized() {
        return initialized;
    }

    /** Completes when the filesystem was closed after unmount. */
    public CompletableFuture<Void> destroyed() {
        return destroyed;
    }

    /** Number of open FUSE file handles (for tests and the leak report at close). */
    public int openHandles() {
        return handles.size();
    }

    // ---- plumbing -------------------------------------------------------------------------

    @FunctionalInterface
    private interface Op {
        int run() throws IOException;
    }

    /** Runs one operation and turns every failure into a negative errno. */
    /**
     * Asked when a change met EROFS on a filesystem remounted read-only: whether the mount is
     * read-write again (and the filesystem now follows it), so the change may be retried.
     */
    private volatile java.util.function.BooleanSupplier followRemount = () -> false;

    void setFollowRemount(java.util.function.BooleanSupplier f) {
        this.followRemount = f;
    }

    private int call(String what, String path, Op op) {
        try {
            try {
                return op.run();
            } catch (FsException e) {
                // `mount -o remount,rw` changed the VFS flag before the watcher saw it: follow now.
                if (e.errno() == Errno.EROFS && fs.isReadOnly() && followRemount.getAsBoolean()) {
                    return op.run();
                }
                throw e;
            }
        } catch (FsException e) {
            return -e.errno().code();
        } catch (CorruptImageException e) {
            LOG.severe(what + " " + path + ": the image is damaged: " + e.getMessage());
            return -EIO;
        } catch (IOException e) {
            LOG.log(Level.SEVERE, what + " " + path + " failed", e);
            return -EIO;
        } catch (Throwable e) {
            LOG.log(Level.SEVERE, what + " " + path + ": internal error", e);
            return -EIO;
        }
    }

    private InodeId node(String path) throws IOException {
        if (path == null) {
            throw new FsException(Errno.ENOENT, "no path");
        }
        return fs.resolve(path);
    }

    /** The inode behind a file handle when there is one, else behind the path. */
    private InodeId node(String path, FuseFileInfo fi) throws IOException {
        if (fi != null) {
            long fh = fi.fh.get();
            if (fh != 0) {
                InodeId id = handles.get(fh);
                if (id == null) {
                    throw new FsException(Errno.EBADF, "no open file handle " + fh);
                }
                return id;
            }
        }
        return node(path);
    }

    /** A path's directory and last name. */
    private record Entry(InodeId dir, byte[] name) {
    }

    private Entry entry(String path) throws IOException {
        if (path == null) {
            throw new FsException(Errno.ENOENT, "no path");
        }
        int slash = path.lastIndexOf('/');
        String parent = slash <= 0 ? "/" : path.substring(0, slash);
        byte[] name = path.substring(slash + 1).getBytes(StandardCharsets.UTF_8);
        if (name.length == 0) {
            throw new FsException(Errno.EEXIST, "the root has no name");
        }
        return new Entry(fs.resolve(parent), name);
    }

    /** Owner and mode of a new inode in {@code dir}: caller's ids, or the directory's group when it is setgid. */
    private record Owner(int uid, int gid, int mode) {
    }

    private Owner owner(InodeId dir, int mode) throws IOException {
        int uid = (int) getContext().uid.get();
        int gid = (int) getContext().gid.get();
        Attr d = fs.getattr(dir);
        if ((d.mode() & S_ISGID) != 0) {
            gid = d.gid();
            if ((mode & Attr.S_IFMT) == Attr.S_IFDIR) {
                mode |= S_ISGID;
            }
        }
        return new Owner(uid, gid, mode);
    }

    private long openHandle(InodeId id) throws IOException {
        fs.open(id);
        long fh = nextFh.getAndIncrement();
        handles.put(fh, id);
        return fh;
    }

    private static Timespec now() {
        Instant n = Instant.now();
        return new Timespec(n.getEpochSecond(), n.getNano());
    }

    private static void fill(FileStat st, Attr a) {
        st.st_mode.set(a.mode());
        st.st_ino.set(a.ino());
        st.st_nlink.set(a.nlink());
        st.st_uid.set(a.uid());
        st.st_gid.set(a.gid());
        st.st_rdev.set(a.rdev());
        st.st_size.set(a.size());
        st.st_blocks.set(a.blocks());
        st.st_blksize.set(a.blksize());
        st.st_atim.tv_sec.set(a.atime().sec());
        st.st_atim.tv_nsec.set(a.atime().nsec());
        st.st_mtim.tv_sec.set(a.mtime().sec());
        st.st_mtim.tv_nsec.set(a.mtime().nsec());
        st.st_ctim.tv_sec.set(a.ctime().sec());
        st.st_ctim.tv_nsec.set(a.ctime().nsec());
    }

    /** BTRFS_FT_* (what readdir reports) to the S_IFMT bits of st_mode, for d_type. */
    static int modeOfFileType(int ft) {
        return switch (ft) {
            case 1 -> Attr.S_IFREG;
            case 2 -> Attr.S_IFDIR;
            case 3 -> Attr.S_IFCHR;
            case 4 -> Attr.S_IFBLK;
            case 5 -> Attr.S_IFIFO;
            case 6 -> Attr.S_IFSOCK;
            case 7 -> Attr.S_IFLNK;
            default -> 0;
        };
    }

    /** The reply protocol of getxattr/listxattr: size 0 asks for the size; too small a buffer is ERANGE. */
    private static int replyBytes(byte[] v, Pointer buf, long size) {
        if (size == 0) {
            return v.length;
        }
        if (size < v.length) {
            return -ERANGE;
        }
        buf.put(0, v, 0, v.length);
        return v.length;
    }

    private static Timespec time(ru.serce.jnrfuse.struct.Timespec t) {
        long nsec = t.tv_nsec.longValue();
        if (nsec == UTIME_OMIT) {
            return null;
        }
        if (nsec == UTIME_NOW) {
            return now();
        }
        return new Timespec(t.tv_sec.get(), (int) nsec);
    }

    // ---- lifecycle ------------------------------------------------------------------------

    @Override
    public Pointer init(Pointer conn) {
        initialized.complete(null);
        return null;
    }

    @Override
    public void destroy(Pointer initResult) {
        // Unmounted already: jnr-fuse's shutdown hook must not run its lazy "fusermount -u -z"
        // at exit, which could hit the next mount at the same place once our image lock is free.
        mounted.set(false);
        try {
            if (!handles.isEmpty()) {
                LOG.warning("unmounted with " + handles.size() + " open file handles");
            }
            fs.close();
            destroyed.complete(null);
        } catch (Throwable e) {
            LOG.log(Level.SEVERE, "closing the filesystem after unmount failed", e);
            destroyed.completeExceptionally(e);
        }
    }

    // ---- attributes -----------------------------------------------------------------------

    @Override
    public int getattr(String path, FileStat stat) {
        return call("getattr", path, () -> {
            fill(stat, fs.getattr(node(path)));
            return 0;
        });
    }

    @Override
    public int fgetattr(String path, FileStat stat, FuseFileInfo fi) {
        return call("fgetattr", path, () -> {
            fill(stat, fs.getattr(node(path, fi)));
            return 0;
        });
    }

    @Override
    public int chmod(String path, long mode) {
        return call("chmod", path, () -> {
            fs.setattr(node(path), SetAttr.chmod((int) mode & 07777));
            return 0;
        });
    }

    @Override
    public int chown(String path, long uid, long gid) {
        return call("chown", path, () -> {
            // (uid_t) -1 leaves the id as it is.
            Integer u = (int) uid == -1 ? null : (int) uid;
            Integer g = (int) gid == -1 ? null : (int) gid;
            fs.setattr(node(path), new SetAttr(null, u, g, null, null, null, null));
            return 0;
        });
    }

    @Override
    public int truncate(String path, long size) {
        return call("truncate", path, () -> {
            fs.setattr(node(path), SetAttr.truncate(size));
            return 0;
        });
    }

    @Override
    public int ftruncate(String path, long size, FuseFileInfo fi) {
        return call("ftruncate", path, () -> {
            fs.setattr(node(path, fi), SetAttr.truncate(size));
            return 0;
        });
    }

    @Override
    public int utimens(String path, ru.serce.jnrfuse.struct.Timespec[] timespec) {
        return call("utimens", path, () -> {
            fs.setattr(node(path), SetAttr.times(time(timespec[0]), time(timespec[1])));
            return 0;
        });
    }

    @Override
    public int statfs(String path, Statvfs stbuf) {
        return call("statfs", path, () -> {
            StatFs s = fs.statfs();
            stbuf.f_bsize.set(s.bsize());
            stbuf.f_frsize.set(s.bsize());
            stbuf.f_blocks.set(s.blocks());
            stbuf.f_bfree.set(s.bfree());
            stbuf.f_bavail.set(s.bavail());
            stbuf.f_files.set(s.files());
            stbuf.f_ffree.set(s.ffree());
            stbuf.f_namemax.set(s.namelen());
            return 0;
        });
    }

    // ---- namespace ------------------------------------------------------------------------

    @Override
    public int readdir(String path, Pointer buf, FuseFillDir filler, long offset, FuseFileInfo fi) {
        return call("readdir", path, () -> {
            InodeId dir = node(path);
            FileStat st = new FileStat(jnr.ffi.Runtime.getSystemRuntime());
            Pointer stp = Struct.getMemory(st);
            long next = offset;
            while (true) {
                List<DirEntry> batch = fs.readdir(dir, next, READDIR_BATCH);
                for (DirEntry e : batch) {
                    byte[] name = Arrays.copyOf(e.rawName(), e.rawName().length + 1); // NUL-terminated
                    st.st_ino.set(e.target().ino());
                    st.st_mode.set(modeOfFileType(e.fileType()));
                    if (filler.apply(buf, ByteBuffer.wrap(name), stp, e.nextOffset()) != 0) {
                        return 0; // the reply buffer is full; the kernel asks again from this offset
                    }
                    next = e.nextOffset();
                }
                if (batch.size() < READDIR_BATCH) {
                    return 0;
                }
            }
        });
    }

    @Override
    public int readlink(String path, Pointer buf, long size) {
        return call("readlink", path, () -> {
            byte[] target = fs.readlink(node(path));
            if (size <= 0) {
                return -Errno.EINVAL.code();
            }
            int n = (int) Math.min(target.length, size - 1);
            buf.put(0, target, 0, n);
            buf.putByte(n, (byte) 0);
            return 0;
        });
    }

    @Override
    public int mknod(String path, long mode, long rdev) {
        return call("mknod", path, () -> {
            Entry e = entry(path);
            Owner o = owner(e.dir(), (int) mode);
            fs.mknod(e.dir(), e.name(), o.mode(), rdev, o.uid(), o.gid());
            return 0;
        });
    }

    @Override
    public int mkdir(String path, long mode) {
        return call("mkdir", path, () -> {
            Entry e = entry(path);
            Owner o = owner(e.dir(), Attr.S_IFDIR | ((int) mode & 07777));
            fs.mkdir(e.dir(), e.name(), o.mode() & 07777, o.uid(), o.gid());
            return 0;
        });
    }

    @Override
    public int symlink(String target, String linkpath) {
        return call("symlink", linkpath, () -> {
            Entry e = entry(linkpath);
            Owner o = owner(e.dir(), Attr.S_IFLNK | 0777);
            fs.symlink(e.dir(), e.name(), target.getBytes(StandardCharsets.UTF_8), o.uid(), o.gid());
            return 0;
        });
    }

    @Override
    public int link(String oldpath, String newpath) {
        return call("link", newpath, () -> {
            InodeId id = node(oldpath);
            Entry e = entry(newpath);
            fs.link(id, e.dir(), e.name());
            return 0;
        });
    }

    @Override
    public int unlink(String path) {
        return call("unlink", path, () -> {
            Entry e = entry(path);
            fs.unlink(e.dir(), e.name());
            return 0;
        });
    }

    @Override
    public int rmdir(String path) {
        return call("rmdir", path, () -> {
            Entry e = entry(path);
            fs.rmdir(e.dir(), e.name());
            return 0;
        });
    }

    @Override
    public int rename(String oldpath, String newpath) {
        return call("rename", oldpath, () -> {
            Entry from = entry(oldpath);
            Entry to = entry(newpath);
            fs.rename(from.dir(), from.name(), to.dir(), to.name(), 0);
            return 0;
        });
    }

    // ---- files ----------------------------------------------------------------------------

    @Override
    public int create(String path, long mode, FuseFileInfo fi) {
        return call("create", path, () -> {
            Entry e = entry(path);
            Owner o = owner(e.dir(), Attr.S_IFREG | ((int) mode & 07777));
            InodeId id = fs.mknod(e.dir(), e.name(), o.mode(), 0, o.uid(), o.gid());
            fi.fh.set(openHandle(id));
            return 0;
        });
    }

    @Override
    public int open(String path, FuseFileInfo fi) {
        return call("open", path, () -> {
            fi.fh.set(openHandle(node(path)));
            return 0;
        });
    }

    @Override
    public int release(String path, FuseFileInfo fi) {
        return call("release", path, () -> {
            InodeId id = handles.remove(fi.fh.get());
            if (id == null) {
                return -EBADF;
            }
            fs.release(id);
            return 0;
        });
    }

    @Override
    public int read(String path, Pointer buf, long size, long offset, FuseFileInfo fi) {
        return call("read", path, () -> {
            InodeId id = node(path, fi);
            int want = (int) Math.min(size, MAX_IO_BYTES);
            byte[] b = new byte[want];
            int got = 0;
            while (got < want) {
                int n = fs.read(id, offset + got, b, got, want - got);
                if (n <= 0) {
                    break;
                }
                got += n;
            }
            buf.put(0, b, 0, got);
            return got;
        });
    }

    @Override
    public int write(String path, Pointer buf, long size, long offset, FuseFileInfo fi) {
        return call("write", path, () -> {
            InodeId id = node(path, fi);
            int len = (int) Math.min(size, MAX_IO_BYTES);
            byte[] b = new byte[len];
            buf.get(0, b, 0, len);
            return fs.write(id, offset, b, 0, len);
        });
    }

    @Override
    public int flush(String path, FuseFileInfo fi) {
        return 0; // nothing is buffered above fs-core
    }

    @Override
    public int fsync(String path, int isdatasync, FuseFileInfo fi) {
        return call("fsync", path, () -> {
            fs.sync();
            return 0;
        });
    }

    @Override
    public int fsyncdir(String path, FuseFileInfo fi) {
        return call("fsyncdir", path, () -> {
            fs.sync();
            return 0;
        });
    }

    @Override
    public int fallocate(String path, int mode, long off, long length, FuseFileInfo fi) {
        return call("fallocate", path, () -> {
            // Every mode fs-core knows (allocate, KEEP_SIZE, PUNCH_HOLE, ZERO_RANGE), with Linux's errnos.
            fs.fallocate(node(path, fi), mode, off, length);
            return 0;
        });
    }

    // ---- xattrs ---------------------------------------------------------------------------

    private static byte[] xattrName(String name) {
        return name.getBytes(StandardCharsets.UTF_8);
    }

    /**
     * POSIX ACLs arrive as these xattrs (libfuse2 leaves ACLs to the filesystem). Until fs-core
     * applies them (btrfs_set_acl updates the mode too) they are refused as a filesystem without
     * ACLs refuses them, so cp -a and friends fall back to chmod instead of losing the mode.
     */
    private static boolean isAclXattr(String name) {
        return name.equals("system.posix_acl_access") || name.equals("system.posix_acl_default");
    }

    @Override
    public int setxattr(String path, String name, Pointer value, long size, int flags) {
        return call("setxattr", path, () -> {
            if (isAclXattr(name)) {
                return -EOPNOTSUPP;
            }
            byte[] v = new byte[(int) size];
            value.get(0, v, 0, v.length);
            fs.setxattr(node(path), xattrName(name), v, flags);
            return 0;
        });
    }

    @Override
    public int getxattr(String path, String name, Pointer value, long size) {
        return call("getxattr", path, () -> replyBytes(fs.getxattr(node(path), xattrName(name)), value, size));
    }

    @Override
    public int listxattr(String path, Pointer list, long size) {
        return call("listxattr", path, () -> {
            List<byte[]> names = fs.listxattr(node(path));
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
            return replyBytes(all, list, size);
        });
    }

    @Override
    public int removexattr(String path, String name) {
        return call("removexattr", path, () -> {
            fs.removexattr(node(path), xattrName(name));
            return 0;
        });
    }
}
