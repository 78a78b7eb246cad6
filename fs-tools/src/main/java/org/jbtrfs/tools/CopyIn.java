package org.jbtrfs.tools;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jbtrfs.Attr;
import org.jbtrfs.Errno;
import org.jbtrfs.Filesystem;
import org.jbtrfs.FsException;
import org.jbtrfs.InodeId;
import org.jbtrfs.SetAttr;
import org.jbtrfs.format.Timespec;

/**
 * Copies a host file or tree into a writable image, keeping what {@code cp -a} keeps: contents
 * (sparse files stay sparse: only the ranges SEEK_DATA finds are written), modes with
 * setuid/setgid/sticky, owners, access/modify/change times with nanoseconds, symlinks, hard links
 * (within the copy), device nodes, fifos, sockets and xattrs of every namespace. Shared by
 * {@code cp-in} and {@code mkfs --rootdir}.
 *
 * <p>A host entry that cannot be read is reported and skipped (the copy goes on and the exit
 * status says so); an error of the image (no space, a damaged image) stops the copy.
 */
final class CopyIn {
    /** Bytes per write call: large writes make large extents, as the kernel's writeback would. */
    static final int CHUNK_BYTES = 8 << 20;

    /** What one copy did, for the summary line and the progress display. */
    static final class Counts {
        long files;
        long dirs;
        long bytes;
        long warnings;
    }

    private final Filesystem fs;
    private final PrintWriter err;
    private final Runnable progress;
    private final Counts counts = new Counts();
    /** Host (dev, ino) of files with several links → their copy, so that links stay links. */
    private final Map<List<Long>, InodeId> links = new HashMap<>();
    private final byte[] buf = new byte[CHUNK_BYTES];

    CopyIn(Filesystem fs, PrintWriter err, Runnable progress) {
        this.fs = fs;
        this.err = err;
        this.progress = progress;
    }

    Counts counts() {
        return counts;
    }

    /** Host metadata of one entry (lstat). */
    private record HostStat(int mode, int uid, int gid, long dev, long ino, long rdev, int nlink, long size,
            FileTime atime, FileTime mtime, FileTime ctime) {
        int type() {
            return mode & Attr.S_IFMT;
        }
    }

    private static HostStat stat(Path p) throws IOException {
        Map<String, Object> a = Files.readAttributes(p,
                "unix:mode,uid,gid,dev,ino,rdev,nlink,size,lastAccessTime,lastModifiedTime,ctime", LinkOption.NOFOLLOW_LINKS);
        return new HostStat((Integer) a.get("mode"), (Integer) a.get("uid"), (Integer) a.get("gid"), (Long) a.get("dev"),
                (Long) a.get("ino"), (Long) a.get("rdev"), (Integer) a.get("nlink"), (Long) a.get("size"),
                (FileTime) a.get("lastAccessTime"), (FileTime) a.get("lastModifiedTime"), (FileTime) a.get("ctime"));
    }

    private static Timespec time(FileTime t) {
        java.time.Instant i = t.toInstant();
        return new Timespec(i.getEpochSecond(), i.getNano());
    }

    /**
     * Copies {@code src} to {@code name} in directory {@code dir} of the image. An existing regular
     * file of that name is overwritten by a regular file; an existing directory receives the
     * contents of a source directory; anything else that exists is refused with EEXIST.
     */
    InodeId copy(Path src, InodeId dir, byte[] name) throws IOException {
        HostStat st;
        try {
            st = stat(src);
        } catch (IOException e) {
            warn(src, "cannot stat: " + e.getMessage());
            return null;
        }
        InodeId existing = lookupOrNull(dir, name);
        InodeId id;
        if (st.type() == Attr.S_IFDIR) {
            if (existing != null) {
                if (!fs.getattr(existing).isDirectory()) {
                    throw new FsException(Errno.EEXIST, "cannot overwrite non-directory " + str(name) + " with directory " + src);
                }
                id = existing;
            } else {
                id = fs.mkdir(dir, name, 0700, st.uid(), st.gid());
            }
            counts.dirs++;
            copyChildren(src, id);
        } else {
            if (existing != null) {
                Attr a = fs.getattr(existing);
                if (st.type() != Attr.S_IFREG || !a.isRegular()) {
                    throw new FsException(Errno.EEXIST, str(name) + " exists in the image and is not a regular file to overwrite");
                }
                fs.setattr(existing, SetAttr.truncate(0));
                id = existing;
                copyData(src, id, st);
            } else {
                id = copyNew(src, dir, name, st);
                if (id == null) {
                    return null;
                }
            }
            counts.files++;
        }
        applyMetadata(src, id, st);
        progress.run();
        return id;
    }

    private InodeId lookupOrNull(InodeId dir, byte[] name) throws IOException {
        try {
            return fs.lookup(dir, name);
        } catch (FsException e) {
            if (e.errno() == Errno.ENOENT) {
                return null;
            }
            throw e;
        }
    }

    /** Copies the entries of host directory {@code src} into {@code dirId}, then its metadata onto {@code dirId}. */
    void copyContents(Path src, InodeId dirId) throws IOException {
        HostStat st = stat(src);
        if (st.type() != Attr.S_IFDIR) {
            throw new IOException(src + ": not a directory");
        }
        copyChildren(src, dirId);
        applyMetadata(src, dirId, st);
    }

    private void copyChildren(Path src, InodeId dirId) throws IOException {
        List<Path> children = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(src)) {
            for (Path c : ds) {
                children.add(c);
            }
        } catch (IOException e) {
            warn(src, "cannot list: " + e.getMessage());
            return;
        }
        children.sort(null); // a reproducible order: the same tree gives the same image layout
        for (Path c : children) {
            copy(c, dirId, hostName(c));
        }
    }

    private static byte[] hostName(Path p) {
        return p.getFileName().toString().getBytes(StandardCharsets.UTF_8);
    }

    private InodeId copyNew(Path src, InodeId dir, byte[] name, HostStat st) throws IOException {
        List<Long> key = List.of(st.dev(), st.ino());
        if (st.nlink() > 1) {
            InodeId first = links.get(key);
            if (first != null) {
                fs.link(first, dir, name);
                return first;
            }
        }
        InodeId id;
        switch (st.type()) {
            case Attr.S_IFREG -> {
                id = fs.mknod(dir, name, Attr.S_IFREG | 0600, 0, st.uid(), st.gid());
                copyData(src, id, st);
            }
            case Attr.S_IFLNK -> {
                byte[] target = Files.readSymbolicLink(src).toString().getBytes(StandardCharsets.UTF_8);
                id = fs.symlink(dir, name, target, st.uid(), st.gid());
            }
            case Attr.S_IFCHR, Attr.S_IFBLK, Attr.S_IFIFO, Attr.S_IFSOCK ->
                id = fs.mknod(dir, name, st.type() | (st.mode() & 07777), st.rdev(), st.uid(), st.gid());
            default -> {
                warn(src, "unknown file type " + Integer.toOctalString(st.type()));
                return null;
            }
        }
        if (st.nlink() > 1) {
            links.put(key, id);
        }
        return id;
    }

    /** Writes the data ranges of a host file (SEEK_DATA/SEEK_HOLE), leaving its holes as holes. */
    private void copyData(Path src, InodeId id, HostStat st) throws IOException {
        List<long[]> ranges = dataRanges(src, st.size());
        try (FileChannel ch = FileChannel.open(src, StandardOpenOption.READ)) {
            for (long[] r : ranges) {
                long pos = r[0];
                long end = r[1];
                while (pos < end) {
                    int want = (int) Math.min(buf.length, end - pos);
                    ByteBuffer bb = ByteBuffer.wrap(buf, 0, want);
                    int n = 0;
                    while (bb.hasRemaining()) {
                        int k = ch.read(bb, pos + n);
                        if (k < 0) {
                            break;
                        }
                        n += k;
                    }
                    if (n == 0) {
                        break; // the file shrank under us
                    }
                    fs.write(id, pos, buf, 0, n);
                    pos += n;
                    counts.bytes += n;
                    progress.run();
                }
            }
        } catch (FsException e) {
            throw e;
        } catch (IOException e) {
            warn(src, "cannot read: " + e.getMessage());
        }
        long now = fs.getattr(id).size();
        if (now < st.size()) {
            fs.setattr(id, SetAttr.truncate(st.size())); // a trailing hole
        }
    }

    /** [start, end) ranges holding data, by SEEK_DATA/SEEK_HOLE; the whole file where that is unsupported. */
    private static List<long[]> dataRanges(Path src, long size) {
        List<long[]> out = new ArrayList<>();
        if (size == 0) {
            return out;
        }
        PosixLibc.Lib c = PosixLibc.get();
        int fd = c.open(src.toString(), PosixLibc.O_RDONLY);
        if (fd < 0) {
            out.add(new long[] {0, size});
            return out;
        }
        try {
            long pos = 0;
            while (pos < size) {
                long data = c.lseek(fd, pos, PosixLibc.SEEK_DATA);
                if (data < 0) {
                    if (PosixLibc.errno() == PosixLibc.ENXIO) {
                        break; // no data after pos
                    }
                    out.clear();
                    out.add(new long[] {0, size});
                    return out;
                }
                long hole = c.lseek(fd, data, PosixLibc.SEEK_HOLE);
                if (hole < 0 || hole <= data) {
                    hole = size;
                }
                out.add(new long[] {data, Math.min(hole, size)});
                pos = hole;
            }
        } finally {
            c.close(fd);
        }
        return out;
    }

    /** Xattrs, owner, mode (after the owner: a chown clears setuid) and times (last: everything else changes ctime). */
    private void applyMetadata(Path src, InodeId id, HostStat st) throws IOException {
        for (Map.Entry<String, byte[]> x : xattrs(src).entrySet()) {
            try {
                fs.setxattr(id, x.getKey().getBytes(StandardCharsets.UTF_8), x.getValue(), 0);
            } catch (FsException e) {
                if (e.errno() == Errno.ENOSPC && e.getMessage().contains("does not fit")) {
                    warn(src, "xattr " + x.getKey() + " is too large for this node size");
                    continue;
                }
                throw e;
            }
        }
        Integer mode = st.type() == Attr.S_IFLNK ? null : st.mode() & 07777;
        fs.setattr(id, new SetAttr(mode, st.uid(), st.gid(), null, time(st.atime()), time(st.mtime()), time(st.ctime())));
    }

    private Map<String, byte[]> xattrs(Path src) {
        Map<String, byte[]> out = new java.util.TreeMap<>();
        PosixLibc.Lib c = PosixLibc.get();
        String path = src.toString();
        long len = c.llistxattr(path, null, 0);
        if (len <= 0) {
            return out;
        }
        byte[] list = new byte[(int) len];
        len = c.llistxattr(path, list, list.length);
        if (len < 0) {
            warn(src, "cannot list xattrs: " + PosixLibc.lastError());
            return out;
        }
        int start = 0;
        for (int i = 0; i < len; i++) {
            if (list[i] == 0) {
                String name = new String(list, start, i - start, StandardCharsets.UTF_8);
                start = i + 1;
                long vlen = c.lgetxattr(path, name, null, 0);
                if (vlen < 0) {
                    warn(src, "cannot read xattr " + name + ": " + PosixLibc.lastError());
                    continue;
                }
                byte[] v = new byte[(int) vlen];
                if (vlen > 0 && c.lgetxattr(path, name, v, v.length) != vlen) {
                    warn(src, "xattr " + name + " changed while copying");
                    continue;
                }
                out.put(name, v);
            }
        }
        return out;
    }

    private void warn(Path p, String what) {
        counts.warnings++;
        err.println("jbtrfs: " + p + ": " + what);
    }

    private static String str(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }
}
