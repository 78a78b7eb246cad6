package org.jbtrfs.bench;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileStore;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import jnr.ffi.Pointer;
import ru.serce.jnrfuse.ErrorCodes;
import ru.serce.jnrfuse.FuseFillDir;
import ru.serce.jnrfuse.FuseStubFS;
import ru.serce.jnrfuse.struct.FileStat;
import ru.serce.jnrfuse.struct.FuseFileInfo;
import ru.serce.jnrfuse.struct.Statvfs;

/**
 * A minimal jnr-fuse passthrough of a host directory: the ceiling of any filesystem written on
 * jnr-fuse, and the FUSE benchmark's second baseline. Each FUSE call is one or two host system
 * calls through java.nio, with no state but the open files; what it costs above the host
 * filesystem is the price of FUSE, libfuse2's path API and jnr-ffi, which jbtrfs pays as well.
 *
 * <p>It mounts with libfuse2's usual options for a real filesystem ({@code hard_remove, big_writes,
 * use_ino}, libfuse's default 1 s attribute and entry caching, multithreaded, foreground). jbtrfs
 * itself no longer runs on jnr-fuse (it speaks the /dev/fuse protocol, see fs-fuse's
 * {@code protocol} package), so this is the ceiling of the path-API design it replaced. It serves getattr/fgetattr, readdir, open, create,
 * release, read, write, truncate/ftruncate, unlink, mkdir, rmdir, rename, statfs and fsync; the
 * rest are jnr-fuse's stubs. Not for anything but benchmarks: no symlinks, no ownership, no
 * xattrs, no permission checks of its own (root runs it).
 *
 * <p>Usage: {@code java -cp ... org.jbtrfs.bench.PassthroughFuse SRC MNT}; serves until unmounted
 * ({@code fusermount -u MNT}), then exits 0.
 */
public final class PassthroughFuse extends FuseStubFS {
    /** The mount's type in mountinfo: fuse.{@value}. */
    static final String SUBTYPE = "jbtrfs-passthrough";
    /** The libfuse options (attribute caching at libfuse's default). */
    static final List<String> FUSE_OPTIONS = List.of("hard_remove", "big_writes", "use_ino");
    /** Largest read or write libfuse hands over with big_writes (128 KiB); buffers are this big. */
    static final int MAX_IO_BYTES = 1 << 20;

    private static final int O_ACCMODE = 3;
    private static final int O_RDONLY = 0;
    private static final int O_TRUNC = 01000;

    private final Path root;
    /** Open files: fh to the host file, from open/create to release. */
    private final Map<Long, RandomAccessFile> open = new ConcurrentHashMap<>();
    private final AtomicLong nextFh = new AtomicLong(1);
    /** One I/O buffer per libfuse worker thread. */
    private final ThreadLocal<byte[]> buffers = ThreadLocal.withInitial(() -> new byte[MAX_IO_BYTES]);

    PassthroughFuse(Path root) {
        this.root = root.toAbsolutePath().normalize();
    }

    public static void main(String[] args) {
        if (args.length != 2) {
            System.err.println("usage: PassthroughFuse SRC MNT");
            System.exit(2);
        }
        Path src = Path.of(args[0]);
        Path mnt = Path.of(args[1]).toAbsolutePath().normalize();
        if (!Files.isDirectory(src) || !Files.isDirectory(mnt)) {
            System.err.println("passthrough: SRC and MNT must be directories: " + src + " " + mnt);
            System.exit(2);
        }
        PassthroughFuse fs = new PassthroughFuse(src);
        String opts = String.join(",", FUSE_OPTIONS) + ",fsname=" + fs.root.toString().replace("\\", "\\\\").replace(",", "\\,")
                + ",subtype=" + SUBTYPE;
        fs.mount(mnt, true, false, new String[] {"-o", opts});
        System.exit(0);
    }

    /** The host path of a FUSE path (always absolute, "/" the root). */
    private Path host(String path) {
        return path.equals("/") ? root : root.resolve(path.substring(1));
    }

    /** The negated errno of a failed host call. */
    static int errno(IOException e) {
        if (e instanceof NoSuchFileException) {
            return -ErrorCodes.ENOENT();
        }
        if (e instanceof FileAlreadyExistsException) {
            return -ErrorCodes.EEXIST();
        }
        if (e instanceof DirectoryNotEmptyException) {
            return -ErrorCodes.ENOTEMPTY();
        }
        if (e instanceof NotDirectoryException) {
            return -ErrorCodes.ENOTDIR();
        }
        if (e instanceof AccessDeniedException) {
            return -ErrorCodes.EACCES();
        }
        if (e instanceof FileSystemException f && f.getReason() != null && f.getReason().contains("No space")) {
            return -ErrorCodes.ENOSPC();
        }
        return -ErrorCodes.EIO();
    }

    @Override
    public int getattr(String path, FileStat stat) {
        try {
            fill(stat, Files.readAttributes(host(path), "unix:*", LinkOption.NOFOLLOW_LINKS));
            return 0;
        } catch (IOException e) {
            return errno(e);
        }
    }

    @Override
    public int fgetattr(String path, FileStat stat, FuseFileInfo fi) {
        return getattr(path, stat);
    }

    private static void fill(FileStat st, Map<String, Object> a) {
        long size = (Long) a.get("size");
        st.st_mode.set((Integer) a.get("mode"));
        st.st_ino.set((Long) a.get("ino"));
        st.st_nlink.set((Integer) a.get("nlink"));
        st.st_uid.set((Integer) a.get("uid"));
        st.st_gid.set((Integer) a.get("gid"));
        st.st_size.set(size);
        st.st_blocks.set((size + 511) / 512);
        st.st_blksize.set(4096);
        setTime(st.st_atim, (FileTime) a.get("lastAccessTime"));
        setTime(st.st_mtim, (FileTime) a.get("lastModifiedTime"));
        setTime(st.st_ctim, (FileTime) a.get("ctime"));
    }

    private static void setTime(ru.serce.jnrfuse.struct.Timespec t, FileTime time) {
        java.time.Instant i = time.toInstant();
        t.tv_sec.set(i.getEpochSecond());
        t.tv_nsec.set(i.getNano());
    }

    @Override
    public int readdir(String path, Pointer buf, FuseFillDir filler, long offset, FuseFileInfo fi) {
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(host(path))) {
            filler.apply(buf, ".", null, 0);
            filler.apply(buf, "..", null, 0);
            for (Path p : ds) {
                if (filler.apply(buf, p.getFileName().toString(), null, 0) != 0) {
                    break;
                }
            }
            return 0;
        } catch (IOException e) {
            return errno(e);
        }
    }

    @Override
    public int open(String path, FuseFileInfo fi) {
        int flags = fi.flags.get();
        try {
            RandomAccessFile f = new RandomAccessFile(host(path).toFile(), (flags & O_ACCMODE) == O_RDONLY ? "r" : "rw");
            if ((flags & O_TRUNC) != 0 && (flags & O_ACCMODE) != O_RDONLY) {
                f.setLength(0);
            }
            return handle(f, fi);
        } catch (IOException e) {
            return errno(e);
        }
    }

    @Override
    public int create(String path, long mode, FuseFileInfo fi) {
        try {
            Path p = host(path);
            FileChannel.open(p, EnumSet.of(java.nio.file.StandardOpenOption.CREATE_NEW, java.nio.file.StandardOpenOption.WRITE),
                    permissions(mode)).close();
            return handle(new RandomAccessFile(p.toFile(), "rw"), fi);
        } catch (IOException e) {
            return errno(e);
        }
    }

    private int handle(RandomAccessFile f, FuseFileInfo fi) {
        long fh = nextFh.getAndIncrement();
        open.put(fh, f);
        fi.fh.set(fh);
        return 0;
    }

    private static FileAttribute<Set<PosixFilePermission>> permissions(long mode) {
        StringBuilder s = new StringBuilder(9);
        String rwx = "rwxrwxrwx";
        for (int bit = 8; bit >= 0; bit--) {
            s.append((mode & (1L << bit)) != 0 ? rwx.charAt(8 - bit) : '-');
        }
        return PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(s.toString()));
    }

    @Override
    public int release(String path, FuseFileInfo fi) {
        RandomAccessFile f = open.remove(fi.fh.get());
        if (f == null) {
            return -ErrorCodes.EBADF();
        }
        try {
            f.close();
            return 0;
        } catch (IOException e) {
            return errno(e);
        }
    }

    @Override
    public int read(String path, Pointer buf, long size, long offset, FuseFileInfo fi) {
        RandomAccessFile f = open.get(fi.fh.get());
        if (f == null) {
            return -ErrorCodes.EBADF();
        }
        byte[] b = buffers.get();
        int want = (int) Math.min(size, b.length);
        try {
            FileChannel ch = f.getChannel();
            ByteBuffer bb = ByteBuffer.wrap(b, 0, want);
            while (bb.hasRemaining()) {
                if (ch.read(bb, offset + bb.position()) < 0) {
                    break;
                }
            }
            buf.put(0, b, 0, bb.position());
            return bb.position();
        } catch (IOException e) {
            return errno(e);
        }
    }

    @Override
    public int write(String path, Pointer buf, long size, long offset, FuseFileInfo fi) {
        RandomAccessFile f = open.get(fi.fh.get());
        if (f == null) {
            return -ErrorCodes.EBADF();
        }
        byte[] b = buffers.get();
        int len = (int) Math.min(size, b.length);
        buf.get(0, b, 0, len);
        try {
            FileChannel ch = f.getChannel();
            ByteBuffer bb = ByteBuffer.wrap(b, 0, len);
            while (bb.hasRemaining()) {
                ch.write(bb, offset + bb.position());
            }
            return len;
        } catch (IOException e) {
            return errno(e);
        }
    }

    @Override
    public int truncate(String path, long size) {
        try (RandomAccessFile f = new RandomAccessFile(host(path).toFile(), "rw")) {
            f.setLength(size);
            return 0;
        } catch (IOException e) {
            return errno(e);
        }
    }

    @Override
    public int ftruncate(String path, long size, FuseFileInfo fi) {
        RandomAccessFile f = open.get(fi.fh.get());
        if (f == null) {
            return truncate(path, size);
        }
        try {
            f.setLength(size);
            return 0;
        } catch (IOException e) {
            return errno(e);
        }
    }

    @Override
    public int fsync(String path, int isdatasync, FuseFileInfo fi) {
        RandomAccessFile f = open.get(fi.fh.get());
        if (f == null) {
            return -ErrorCodes.EBADF();
        }
        try {
            f.getChannel().force(isdatasync == 0);
            return 0;
        } catch (IOException e) {
            return errno(e);
        }
    }

    @Override
    public int unlink(String path) {
        try {
            Path p = host(path);
            if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                return -ErrorCodes.EISDIR();
            }
            Files.delete(p);
            return 0;
        } catch (IOException e) {
            return errno(e);
        }
    }

    @Override
    public int mkdir(String path, long mode) {
        try {
            Files.createDirectory(host(path), permissions(mode));
            return 0;
        } catch (IOException e) {
            return errno(e);
        }
    }

    @Override
    public int rmdir(String path) {
        try {
            Path p = host(path);
            if (!Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                return Files.exists(p, LinkOption.NOFOLLOW_LINKS) ? -ErrorCodes.ENOTDIR() : -ErrorCodes.ENOENT();
            }
            Files.delete(p);
            return 0;
        } catch (IOException e) {
            return errno(e);
        }
    }

    @Override
    public int rename(String oldpath, String newpath) {
        try {
            Files.move(host(oldpath), host(newpath), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            return 0;
        } catch (IOException e) {
            return errno(e);
        }
    }

    @Override
    public int statfs(String path, Statvfs st) {
        try {
            FileStore s = Files.getFileStore(root);
            long bsize = 4096;
            st.f_bsize.set(bsize);
            st.f_frsize.set(bsize);
            st.f_blocks.set(s.getTotalSpace() / bsize);
            st.f_bfree.set(s.getUnallocatedSpace() / bsize);
            st.f_bavail.set(s.getUsableSpace() / bsize);
            st.f_namemax.set(255);
            return 0;
        } catch (IOException e) {
            return errno(e);
        }
    }

    @Override
    public void destroy(Pointer initResult) {
        // Unmounted already: jnr-fuse's exit hook must not run its lazy "fusermount -u -z", which
        // could hit the next mount at the same place (as JbtrfsFuse.destroy explains).
        mounted.set(false);
    }
}
