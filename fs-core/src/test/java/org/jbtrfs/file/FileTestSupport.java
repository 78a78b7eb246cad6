package org.jbtrfs.file;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.jbtrfs.Filesystem;
import org.jbtrfs.InodeId;
import org.jbtrfs.OpenOptions;
import org.jbtrfs.ctree.BTree;
import org.jbtrfs.ctree.CowRoot;
import org.jbtrfs.ctree.Item;
import org.jbtrfs.ctree.TreeRoot;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.FileExtentItem;
import org.jbtrfs.format.InodeItem;
import org.jbtrfs.format.ItemType;
import org.jbtrfs.format.ObjectIds;
import org.jbtrfs.inode.FileDataReader;
import org.jbtrfs.testing.KernelImages;
import org.jbtrfs.transaction.FsTrees;

/**
 * Images and helpers for the file write path tests. The template image is made once per JVM by
 * the kernel: mkfs gives only 8 MiB of DATA block group and we cannot allocate chunks yet, so the
 * kernel first writes 1 MiB ballast files across ~200 MiB and deletes all but one in 25 (the
 * remaining ones keep their block groups from being removed as unused); then it creates the test
 * files: empty ones, a small inline one, a one-sector regular one and a larger one.
 */
final class FileTestSupport {
    static final long IMAGE_BYTES = 1L << 30;
    static final List<String> EMPTY = List.of("e0", "e1", "e2", "e3");
    /** name → initial size: inline (100), one regular sector (3000), several extents' worth. */
    static final Map<String, Integer> FILLED = new LinkedHashMap<>();

    static {
        FILLED.put("small", 100);
        FILLED.put("mid", 3000);
        FILLED.put("big", 300 * 1024 + 7);
    }

    private static Path template;

    private FileTestSupport() {
    }

    /** Initial content of a filled file (deterministic). */
    static byte[] initial(String name) {
        byte[] b = new byte[FILLED.getOrDefault(name, 0)];
        new Random(name.hashCode()).nextBytes(b);
        return b;
    }

    /** A fresh copy of the template image in {@code dir}; skips the test when the kernel cannot make it. */
    static Path freshImage(Path dir) throws Exception {
        KernelImages.assumeAvailable();
        Path t = template();
        Path img = dir.resolve("file.img");
        KernelImages.runChecked(KernelImages.COMMAND_TIMEOUT, "cp", "--sparse=always", t.toString(), img.toString());
        return img;
    }

    private static synchronized Path template() throws Exception {
        if (template != null) {
            return template;
        }
        Path dir = Files.createTempDirectory("jbtrfs-file-template");
        Path img = dir.resolve("template.img");
        KernelImages.build(img, IMAGE_BYTES, null, m -> {
            Path ballast = Files.createDirectories(m.path("ballast"));
            byte[] mib = new byte[1 << 20];
            new Random(1).nextBytes(mib);
            for (int i = 0; i < 200; i++) {
                Files.write(ballast.resolve("b" + i), mib);
            }
            KernelImages.runChecked(KernelImages.COMMAND_TIMEOUT, "sync");
            for (int i = 0; i < 200; i++) {
                if (i % 25 != 24) {
                    Files.delete(ballast.resolve("b" + i));
                }
            }
            for (String e : EMPTY) {
                Files.write(m.path(e), new byte[0]);
            }
            for (String f : FILLED.keySet()) {
                Files.write(m.path(f), initial(f));
            }
        });
        template = img;
        return img;
    }

    /** Inode numbers of the test files in the top directory of the FS_TREE. */
    static Map<String, Long> inodes(Path img) throws IOException {
        Map<String, Long> out = new TreeMap<>();
        try (Filesystem fs = Filesystem.open(img, OpenOptions.readOnlyDefaults())) {
            for (String n : names()) {
                out.put(n, fs.lookup(fs.root(), n).ino());
            }
        }
        return out;
    }

    static List<String> names() {
        List<String> all = new ArrayList<>(EMPTY);
        all.addAll(FILLED.keySet());
        return all;
    }

    /** Options that verify data checksums on every read. */
    static OpenOptions verifying(boolean readOnly) {
        return new OpenOptions(readOnly, OpenOptions.DEFAULT_CACHE_LIMIT_BYTES, true);
    }

    /** A file's whole content as committed on disk, read by a fresh read-only open with csums verified. */
    static byte[] readCommitted(Path img, long ino) throws IOException {
        try (Filesystem fs = Filesystem.open(img, verifying(true))) {
            InodeId id = new InodeId(ObjectIds.FS_TREE, ino);
            long size = fs.getattr(id).size();
            byte[] out = new byte[(int) size];
            int n = fs.read(id, 0, out, 0, out.length);
            assertEquals(size, n, "short read of inode " + ino);
            return out;
        }
    }

    /** The INODE_ITEM of the current (uncommitted) FS_TREE. */
    static InodeItem inodeNow(FsTrees trees, long ino) throws IOException {
        CowRoot r = trees.root(ObjectIds.FS_TREE);
        r.lock.readLock().lock();
        try {
            Item it = trees.reader().lookup(r.current(), new DiskKey(ino, ItemType.INODE_ITEM, 0));
            return InodeItem.decode(it.data(), 0, it.size());
        } finally {
            r.lock.readLock().unlock();
        }
    }

    /** A file's whole content as the running transaction sees it (current roots, csums verified if the fs verifies). */
    static byte[] readCurrent(FsTrees trees, long ino) throws IOException {
        CowRoot r = trees.root(ObjectIds.FS_TREE);
        CowRoot csum = trees.root(ObjectIds.CSUM_TREE);
        r.lock.readLock().lock();
        csum.lock.readLock().lock();
        try {
            TreeRoot cur = r.current();
            Item it = trees.reader().lookup(cur, new DiskKey(ino, ItemType.INODE_ITEM, 0));
            InodeItem inode = InodeItem.decode(it.data(), 0, it.size());
            byte[] out = new byte[(int) inode.size()];
            int n = new FileDataReader(trees.fsInfo(), trees.reads()).read(ObjectIds.FS_TREE, new InodeId(ObjectIds.FS_TREE, ino),
                    inode, 0, out, 0, out.length);
            assertEquals(out.length, n, "short read of inode " + ino);
            return out;
        } finally {
            csum.lock.readLock().unlock();
            r.lock.readLock().unlock();
        }
    }

    /** The EXTENT_DATA items of an inode in the current tree, by file offset. */
    static TreeMap<Long, FileExtentItem> extents(FsTrees trees, long ino) throws IOException {
        CowRoot r = trees.root(ObjectIds.FS_TREE);
        TreeMap<Long, FileExtentItem> out = new TreeMap<>();
        r.lock.readLock().lock();
        try {
            trees.reader().scan(r.current(), new DiskKey(ino, ItemType.EXTENT_DATA, 0),
                    new DiskKey(ino, ItemType.EXTENT_DATA, -1L), (k, d, o, l) -> {
                        out.put(k.offset(), FileExtentItem.decode(d, o, l));
                        return true;
                    });
        } finally {
            r.lock.readLock().unlock();
        }
        return out;
    }

    /** Every csum item of the current csum tree as [start, end) ranges, merged where contiguous. */
    static TreeMap<Long, Long> csumRanges(FsTrees trees) throws IOException {
        CowRoot r = trees.root(ObjectIds.CSUM_TREE);
        int csize = trees.fsInfo().csumType().size();
        int sector = trees.fsInfo().sectorsize();
        TreeMap<Long, Long> out = new TreeMap<>();
        r.lock.readLock().lock();
        try {
            BTree bt = trees.reader();
            bt.scan(r.current(), new DiskKey(ObjectIds.EXTENT_CSUM, ItemType.EXTENT_CSUM, 0),
                    new DiskKey(ObjectIds.EXTENT_CSUM, ItemType.EXTENT_CSUM, -1L), (k, d, o, l) -> {
                        long s = k.offset();
                        long e = s + (long) (l / csize) * sector;
                        Map.Entry<Long, Long> last = out.lastEntry();
                        if (last != null && last.getValue() == s) {
                            out.put(last.getKey(), e);
                        } else {
                            out.put(s, e);
                        }
                        return true;
                    });
        } finally {
            r.lock.readLock().unlock();
        }
        return out;
    }

    /**
     * The DATA extents of the current extent tree as merged [start, end) ranges: what the csum tree
     * must cover exactly when no inode is NODATASUM.
     */
    static TreeMap<Long, Long> dataExtentRanges(FsTrees trees) throws IOException {
        CowRoot r = trees.root(ObjectIds.EXTENT_TREE);
        TreeMap<Long, Long> out = new TreeMap<>();
        r.lock.readLock().lock();
        try {
            trees.reader().scan(r.current(), new DiskKey(0, 0, 0), new DiskKey(-1L, 255, -1L), (k, d, o, l) -> {
                if (k.type() != ItemType.EXTENT_ITEM) {
                    return true;
                }
                org.jbtrfs.format.ExtentItem ei = org.jbtrfs.format.ExtentItem.decode(d, o, l, false);
                if ((ei.flags() & org.jbtrfs.format.ExtentItem.FLAG_DATA) == 0) {
                    return true;
                }
                long s = k.objectid();
                long e = s + k.offset();
                Map.Entry<Long, Long> last = out.lastEntry();
                if (last != null && last.getValue() == s) {
                    out.put(last.getKey(), e);
                } else {
                    out.put(s, e);
                }
                return true;
            });
        } finally {
            r.lock.readLock().unlock();
        }
        return out;
    }

    /** A file model: content up to size. */
    static final class FileModel {
        byte[] data = new byte[0];

        FileModel(byte[] initial) {
            data = initial.clone();
        }

        void write(long pos, byte[] buf, int off, int len) {
            long end = pos + len;
            if (end > data.length) {
                data = Arrays.copyOf(data, (int) end);
            }
            System.arraycopy(buf, off, data, (int) pos, len);
        }

        void truncate(long size) {
            data = Arrays.copyOf(data, (int) size);
        }

        /** fallocate mode 0 / KEEP_SIZE: the size grows (zeros) unless keepSize; the bytes stay. */
        void fallocate(long pos, long len, boolean keepSize) {
            if (!keepSize && pos + len > data.length) {
                data = Arrays.copyOf(data, (int) (pos + len));
            }
        }

        /** FALLOC_FL_ZERO_RANGE: zeros in the range, the size grows unless keepSize. */
        void zeroRange(long pos, long len, boolean keepSize) {
            fallocate(pos, len, keepSize);
            punch(pos, len);
        }

        void punch(long start, long len) {
            if (start >= data.length) {
                return;
            }
            Arrays.fill(data, (int) start, (int) Math.min(data.length, start + len), (byte) 0);
        }
    }
}
