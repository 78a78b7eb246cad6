package org.jbtrfs.fstests;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.jbtrfs.Attr;
import org.jbtrfs.DirEntry;
import org.jbtrfs.Errno;
import org.jbtrfs.Filesystem;
import org.jbtrfs.FsException;
import org.jbtrfs.InodeId;
import org.jbtrfs.SetAttr;
import org.jbtrfs.format.Timespec;
import org.jbtrfs.inode.Namespace;

/**
 * One fsstress-like worker on the embedded API: random creat, mkdir, link, symlink, unlink, rmdir,
 * rename (with NOREPLACE and EXCHANGE), truncate, punch, buffered writes and reads, xattrs,
 * setattr, readdir and sync, mostly in its own directory and sometimes in the shared one, until
 * its thread is interrupted (the embedded form of SIGKILL) or told to stop.
 *
 * <p>Refusals a real workload meets (ENOENT, EEXIST, ENOSPC, EINTR, ...) are counted; anything
 * else — EROFS after an abort, EIO, a runtime exception — is a failure of the filesystem and ends
 * the worker with it.
 */
final class StressWorker implements Runnable {
    /** Errnos a racing, filling workload expects to see. */
    static final java.util.Set<Errno> EXPECTED = java.util.EnumSet.of(Errno.ENOENT, Errno.EEXIST, Errno.ENOTEMPTY,
            Errno.ENOSPC, Errno.EINTR, Errno.ENOTDIR, Errno.EISDIR, Errno.EMLINK, Errno.EINVAL, Errno.ENODATA,
            Errno.EXDEV, Errno.EPERM, Errno.EOVERFLOW);

    private final Filesystem fs;
    private final int id;
    private final SplittableRandom rnd;
    private final InodeId shared;
    private volatile boolean stop;
    private final Map<Errno, Long> refusals = new EnumMap<>(Errno.class);
    /** Written by the worker only; read by the filler to see progress. */
    private volatile long ops;
    private volatile Throwable failure;
    private final byte[] buf = new byte[256 * 1024];

    StressWorker(Filesystem fs, int id, long seed, InodeId shared) {
        this.fs = fs;
        this.id = id;
        this.rnd = new SplittableRandom(seed);
        this.shared = shared;
    }

    void requestStop() {
        stop = true;
    }

    long ops() {
        return ops;
    }

    Map<Errno, Long> refusals() {
        return refusals;
    }

    Throwable failure() {
        return failure;
    }

    @Override
    public void run() {
        try {
            InodeId home = fs.mkdir(fs.root(), "p" + id, 0755, 0, 0);
            while (!stop && !Thread.currentThread().isInterrupted()) {
                try {
                    step(rnd.nextInt(8) == 0 ? shared : home);
                    ops++;
                } catch (FsException e) {
                    if (!EXPECTED.contains(e.errno())) {
                        throw e;
                    }
                    refusals.merge(e.errno(), 1L, Long::sum);
                    if (e.errno() == Errno.EINTR) {
                        return; // interrupted while waiting for space: the kill arrived
                    }
                }
            }
        } catch (Throwable t) {
            if (t instanceof FsException fe && fe.errno() == Errno.EINTR) {
                return;
            }
            failure = t;
        }
    }

    private byte[] name() {
        return ("n" + rnd.nextInt(64)).getBytes(StandardCharsets.UTF_8);
    }

    /** A random entry of {@code dir}, or null when it is empty. */
    private DirEntry pick(InodeId dir) throws IOException {
        List<DirEntry> l = fs.readdir(dir, 2, 64);
        return l.isEmpty() ? null : l.get(rnd.nextInt(l.size()));
    }

    /** A subdirectory of {@code dir} (or dir itself) to work in. */
    private InodeId where(InodeId dir) throws IOException {
        DirEntry e = pick(dir);
        if (e != null && e.fileType() == org.jbtrfs.format.DirItem.FT_DIR && rnd.nextBoolean()) {
            return e.target();
        }
        return dir;
    }

    private void step(InodeId top) throws IOException {
        InodeId dir = where(top);
        int op = rnd.nextInt(100);
        if (op < 15) {
            InodeId f = fs.create(dir, new String(name(), StandardCharsets.UTF_8), 0644, 0, 0);
            write(f);
        } else if (op < 20) {
            fs.mkdir(dir, name(), 0755, 0, 0);
        } else if (op < 24) {
            fs.symlink(dir, name(), ("target-" + rnd.nextInt(1000)).getBytes(StandardCharsets.UTF_8), 0, 0);
        } else if (op < 28) {
            DirEntry e = pick(dir);
            if (e != null) {
                fs.link(e.target(), dir, name());
            }
        } else if (op < 38) {
            DirEntry e = pick(dir);
            if (e != null) {
                if (e.fileType() == org.jbtrfs.format.DirItem.FT_DIR) {
                    fs.rmdir(dir, e.rawName());
                } else {
                    fs.unlink(dir, e.rawName());
                }
            }
        } else if (op < 46) {
            DirEntry e = pick(dir);
            if (e != null) {
                int flags = rnd.nextInt(4) == 0 ? Namespace.RENAME_EXCHANGE : rnd.nextInt(4) == 0 ? Namespace.RENAME_NOREPLACE : 0;
                fs.rename(dir, e.rawName(), where(top), name(), flags);
            }
        } else if (op < 66) {
            InodeId f = regular(dir);
            if (f != null) {
                write(f);
            }
        } else if (op < 72) {
            InodeId f = regular(dir);
            if (f != null) {
                fs.setattr(f, SetAttr.truncate(rnd.nextLong(0, 1L << 20)));
            }
        } else if (op < 76) {
            InodeId f = regular(dir);
            if (f != null) {
                fs.punchHole(f, rnd.nextLong(0, 1L << 20), rnd.nextLong(1, 1L << 18));
            }
        } else if (op < 84) {
            InodeId f = regular(dir);
            if (f != null) {
                fs.read(f, rnd.nextLong(0, 1L << 20), buf, 0, rnd.nextInt(1, buf.length));
            }
        } else if (op < 90) {
            DirEntry e = pick(dir);
            if (e != null && e.fileType() != org.jbtrfs.format.DirItem.FT_SYMLINK) {
                byte[] n = ("user.k" + rnd.nextInt(8)).getBytes(StandardCharsets.UTF_8);
                if (rnd.nextInt(3) == 0) {
                    fs.removexattr(e.target(), n);
                } else {
                    byte[] v = new byte[rnd.nextInt(2000)];
                    fs.setxattr(e.target(), n, v, 0);
                }
            }
        } else if (op < 95) {
            DirEntry e = pick(dir);
            if (e != null && e.fileType() != org.jbtrfs.format.DirItem.FT_SYMLINK) {
                Timespec t = new Timespec(rnd.nextLong(0, 2_000_000_000L), rnd.nextInt(1_000_000_000));
                fs.setattr(e.target(), new SetAttr(rnd.nextInt(01000), null, null, null, t, t, null));
            }
        } else if (op < 99) {
            fs.list(dir);
        } else {
            fs.sync();
        }
    }

    private InodeId regular(InodeId dir) throws IOException {
        DirEntry e = pick(dir);
        if (e == null || e.fileType() != org.jbtrfs.format.DirItem.FT_REG_FILE) {
            return null;
        }
        Attr a = fs.getattr(e.target());
        return a.isRegular() ? e.target() : null;
    }

    private void write(InodeId f) throws IOException {
        int len = rnd.nextInt(8) == 0 ? rnd.nextInt(1, buf.length) : rnd.nextInt(1, 8192);
        rnd.nextBytes(buf);
        fs.write(f, rnd.nextInt(4) == 0 ? rnd.nextLong(0, 1L << 20) : 0, buf, 0, len);
    }

    /** Names for a report: "ENOSPC 12, EEXIST 40". */
    static String describe(Map<Errno, Long> m) {
        List<String> parts = new ArrayList<>();
        m.forEach((k, v) -> parts.add(k + " " + v));
        return parts.isEmpty() ? "none" : String.join(", ", parts);
    }
}
