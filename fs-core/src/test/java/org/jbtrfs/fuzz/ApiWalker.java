package org.jbtrfs.fuzz;

import java.io.EOFException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.zip.CRC32;
import org.jbtrfs.Attr;
import org.jbtrfs.CorruptImageException;
import org.jbtrfs.DirEntry;
import org.jbtrfs.Filesystem;
import org.jbtrfs.FsException;
import org.jbtrfs.InodeId;
import org.jbtrfs.StatFs;
import org.jbtrfs.UnsupportedImageException;

/**
 * Drives every read operation of the public API over a whole (possibly damaged) filesystem:
 * statfs, then from the root down, for each directory list() and readdir() in small batches, and
 * for each entry lookup, resolve, getattr, and then readlink, xattrs and the file's data (read in
 * 64 KiB chunks, plus reads at the end and past it).
 *
 * <p>An {@link IOException} from one operation is logged and the walk goes on, so one damaged
 * item does not hide the next; anything else escapes to the caller, which counts it as a failure.
 * The log is deterministic, so a walk of an image whose damage should be invisible (a bad DUP
 * copy) must produce the same log as the pristine image.
 *
 * <p>Everything is bounded, so a damaged image that claims absurd sizes cannot make the walk
 * itself slow: operations, bytes per file, bytes per walk, entries per directory, depth.
 */
final class ApiWalker {
    static final int MAX_OPS = 20_000;
    static final int MAX_FILE_BYTES = 4 << 20;
    static final long MAX_WALK_BYTES = 32L << 20;
    static final int MAX_DEPTH = 24;
    static final int MAX_DIR_ENTRIES = 5_000;
    /** readdir batches are small so that resuming at an offset is exercised often. */
    static final int READDIR_BATCH = 7;
    private static final int CHUNK = 65_536;

    /** The walk found an engine behaviour that is wrong whatever the image holds. */
    static final class Finding extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Finding(String message) {
            super(message);
        }
    }

    private static final class OutOfBudget extends RuntimeException {
        private static final long serialVersionUID = 1L;
    }

    @FunctionalInterface
    private interface Call<T> {
        T call() throws IOException;
    }

    private final Filesystem fs;
    private final List<String> log = new ArrayList<>();
    /** IOException classes seen, with counts; for the run summary. */
    private final Map<String, Integer> errors = new TreeMap<>();
    private int ops;
    private long bytes;
    private final byte[] buf = new byte[CHUNK];

    ApiWalker(Filesystem fs) {
        this.fs = fs;
    }

    List<String> log() {
        return log;
    }

    Map<String, Integer> errors() {
        return errors;
    }

    /** Walks everything within the budget; returns the log. */
    List<String> run() {
        try {
            op("statfs", () -> {
                StatFs s = fs.statfs();
                return s.bsize() + " " + s.blocks() + " " + s.bfree() + " " + s.bavail();
            });
            InodeId root = fs.root();
            log.add("root = " + root);
            walkDir(root, "", 0, new HashSet<>());
        } catch (OutOfBudget e) {
            log.add("(budget exhausted)");
        }
        return log;
    }

    private <T> T op(String what, Call<T> c) {
        if (++ops > MAX_OPS) {
            throw new OutOfBudget();
        }
        try {
            T r = c.call();
            log.add(what + " = " + r);
            return r;
        } catch (IOException e) {
            errors.merge(e.getClass().getSimpleName(), 1, Integer::sum);
            checkIOException(e, what);
            log.add(what + " ! " + e.getClass().getSimpleName());
            return null;
        }
    }

    private void walkDir(InodeId dir, String path, int depth, Set<InodeId> seen) {
        if (depth > MAX_DEPTH || !seen.add(dir)) {
            log.add("skip " + path);
            return;
        }
        op("parent " + path, () -> fs.parent(dir));
        xattrs(dir, path);
        List<DirEntry> entries = op("list " + path, () -> names(fs.list(dir)));
        readdirInBatches(dir, path);
        if (entries == null) {
            return;
        }
        for (DirEntry e : entries.subList(0, Math.min(entries.size(), MAX_DIR_ENTRIES))) {
            String p = path + "/" + e.name();
            op("lookup " + p, () -> fs.lookup(dir, e.rawName()));
            op("resolve " + p, () -> fs.resolve(p));
            Attr a = op("getattr " + p, () -> fs.getattr(e.target()));
            if (a == null) {
                continue;
            }
            if (a.isDirectory()) {
                walkDir(e.target(), p, depth + 1, seen);
                continue;
            }
            xattrs(e.target(), p);
            if (a.isSymlink()) {
                op("readlink " + p, () -> new String(fs.readlink(e.target()), StandardCharsets.UTF_8));
            } else if (a.isRegular()) {
                readFile(e.target(), p, a.size());
            }
        }
    }

    /**
     * The IOException kinds the engine may raise, each with a message; another IOException class,
     * or one without a message, is a finding.
     */
    static void checkIOException(IOException e, String what) {
        if (!(e instanceof CorruptImageException || e instanceof UnsupportedImageException || e instanceof FsException
                || e instanceof EOFException)) {
            throw new Finding(what + " failed with an unexpected IOException class: " + e);
        }
        if (e.getMessage() == null || e.getMessage().isBlank()) {
            throw new Finding(what + " failed with an IOException without a message: " + e);
        }
    }

    /** Returns the list with a compact toString for the log. */
    private static List<DirEntry> names(List<DirEntry> l) {
        return new ArrayList<>(l) {
            private static final long serialVersionUID = 1L;

            @Override
            public String toString() {
                StringBuilder sb = new StringBuilder().append(size()).append(':');
                forEach(d -> sb.append(' ').append(d.name()).append("->").append(d.target()));
                return sb.toString();
            }
        };
    }

    /**
     * readdir from offset 0 in small batches. Every batch must move forward: an entry whose
     * resume offset is not above the offset asked for would make a getdents loop run forever.
     */
    private void readdirInBatches(InodeId dir, String path) {
        long off = 0;
        for (int batches = 0; batches * READDIR_BATCH < MAX_DIR_ENTRIES + 2; batches++) {
            long from = off;
            List<DirEntry> b = op("readdir " + path + " @" + from, () -> fs.readdir(dir, from, READDIR_BATCH));
            if (b == null || b.isEmpty()) {
                return;
            }
            if (b.size() > READDIR_BATCH) {
                throw new Finding("readdir(" + dir + ", " + from + ", " + READDIR_BATCH + ") returned " + b.size());
            }
            for (DirEntry e : b) {
                if (Long.compareUnsigned(e.nextOffset(), off) <= 0) {
                    throw new Finding("readdir(" + dir + ", " + from + ") returned " + e + ": its resume offset "
                            + Long.toUnsignedString(e.nextOffset()) + " does not move past " + off
                            + ", so a readdir loop never ends");
                }
                off = e.nextOffset();
            }
        }
    }

    private void xattrs(InodeId id, String path) {
        List<byte[]> names = op("listxattr " + path, () -> {
            List<byte[]> l = fs.listxattr(id);
            return new ArrayList<>(l) {
                private static final long serialVersionUID = 1L;

                @Override
                public String toString() {
                    return stream().map(n -> new String(n, StandardCharsets.UTF_8)).toList().toString();
                }
            };
        });
        if (names == null) {
            return;
        }
        for (byte[] n : names) {
            String name = new String(n, StandardCharsets.UTF_8);
            op("getxattr " + path + " " + name, () -> crc(fs.getxattr(id, n)));
        }
    }

    private void readFile(InodeId id, String path, long size) {
        CRC32 crc = new CRC32();
        long limit = Long.compareUnsigned(size, MAX_FILE_BYTES) > 0 ? MAX_FILE_BYTES : size;
        long pos = 0;
        while (pos < limit && bytes < MAX_WALK_BYTES) {
            long at = pos;
            Integer n = op("read " + path + " @" + at, () -> fs.read(id, at, buf, 0, CHUNK));
            if (n == null) {
                pos += CHUNK; // skip the bad part, read on
                continue;
            }
            if (n < 0 || n > CHUNK) {
                throw new Finding("read(" + id + ", " + at + ", " + CHUNK + ") returned " + n);
            }
            if (n == 0) {
                break;
            }
            crc.update(buf, 0, n);
            pos += n;
            bytes += n;
        }
        log.add("data " + path + " crc " + Long.toHexString(crc.getValue()) + " bytes " + pos);
        op("read-tail " + path, () -> fs.read(id, Math.max(0, size - 1), buf, 0, 100));
        op("read-past-eof " + path, () -> fs.read(id, size < 0 ? Long.MAX_VALUE - 10 : size + 10, buf, 0, 100));
    }

    private static String crc(byte[] b) {
        CRC32 c = new CRC32();
        c.update(b);
        return b.length + ":" + Long.toHexString(c.getValue());
    }
}
