package org.jbtrfs.file;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.jbtrfs.Errno;
import org.jbtrfs.Fallocate;
import org.jbtrfs.Filesystem;
import org.jbtrfs.FsException;
import org.jbtrfs.InodeId;
import org.jbtrfs.OpenOptions;
import org.jbtrfs.check.CheckAssertions;
import org.jbtrfs.ctree.Item;
import org.jbtrfs.ctree.TreeRoot;
import org.jbtrfs.disk.FsInfo;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.FileExtentItem;
import org.jbtrfs.format.InodeItem;
import org.jbtrfs.format.ItemType;
import org.jbtrfs.format.ObjectIds;
import org.jbtrfs.mkfs.Mkfs;
import org.jbtrfs.mkfs.MkfsOptions;
import org.jbtrfs.testing.KernelImages;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * fallocate through the public API on images our mkfs makes: exact extent layouts (prealloc items,
 * their offsets after a write splits one, inline conversion, 128 MiB extents), nbytes, size, the
 * PREALLOC flag, zeros read back, ENOSPC before anything changed, the errno table. Every image is
 * checked clean (our checker and btrfs check --check-data-csum). The comparison with the kernel's
 * own layouts is in {@link FallocateKernelTest}.
 */
class FallocateTest {
    @TempDir
    Path tmp;

    static OpenOptions rw() {
        return new OpenOptions(false, OpenOptions.DEFAULT_CACHE_LIMIT_BYTES, true);
    }

    private Path image(long bytes) throws IOException {
        Path img = tmp.resolve("f.img");
        Mkfs.format(img, MkfsOptions.defaults(bytes));
        return img;
    }

    /**
     * An inode's committed EXTENT_DATA items, one line: {@code off:T d<n>+offset/num_bytes(disk_num_bytes)}
     * with T = P (prealloc), R (regular), I (inline, then ram_bytes); disk extents are numbered in
     * order of first appearance so layouts compare across images. Then size, nbytes and whether the
     * PREALLOC flag is set.
     */
    static String layout(Path img, InodeId id) throws IOException {
        try (Filesystem fs = Filesystem.open(img, OpenOptions.readOnlyDefaults())) {
            return layout(fs.fsInfo(), id);
        }
    }

    static String layout(FsInfo info, InodeId id) throws IOException {
        TreeRoot root = info.requireTreeRoot(id.root());
        Item it = info.btree().lookup(root, new DiskKey(id.ino(), ItemType.INODE_ITEM, 0));
        InodeItem inode = InodeItem.decode(it.data(), 0, it.size());
        Map<Long, Integer> disks = new HashMap<>();
        StringBuilder sb = new StringBuilder();
        info.btree().scan(root, new DiskKey(id.ino(), ItemType.EXTENT_DATA, 0),
                new DiskKey(id.ino(), ItemType.EXTENT_DATA, -1L), (k, d, o, l) -> {
                    FileExtentItem fe = FileExtentItem.decode(d, o, l);
                    sb.append(k.offset()).append(':');
                    if (fe.isInline()) {
                        sb.append('I').append(fe.ramBytes());
                    } else {
                        sb.append(fe.type() == FileExtentItem.TYPE_PREALLOC ? 'P' : 'R').append(" d")
                                .append(disks.computeIfAbsent(fe.diskBytenr(), b -> disks.size())).append('+')
                                .append(fe.offset()).append('/').append(fe.numBytes()).append('(')
                                .append(fe.diskNumBytes()).append(')');
                        assertEquals(fe.type() == FileExtentItem.TYPE_PREALLOC ? fe.diskNumBytes() : fe.ramBytes(),
                                fe.ramBytes(), "ram_bytes of " + k);
                    }
                    sb.append("; ");
                    return true;
                });
        sb.append("size=").append(inode.size()).append(" nbytes=").append(inode.nbytes()).append(" prealloc=")
                .append((inode.flags() & InodeItem.FLAG_PREALLOC) != 0);
        return sb.toString();
    }

    static byte[] readAll(Filesystem fs, InodeId id) throws IOException {
        byte[] b = new byte[(int) fs.getattr(id).size()];
        assertEquals(b.length, fs.read(id, 0, b, 0, b.length));
        return b;
    }

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    /** One scenario: a file with initial bytes, a list of fallocate calls and writes, and the layout we expect. */
    private record Case(String name, int initial, List<long[]> ops, String expect) {
        /** Whether the kernel makes the same layout: not where it writes prealloc in place or keeps inline extents. */
        boolean kernelSame() {
            return !name.startsWith("inline-") && ops.stream().noneMatch(o -> o[0] == W);
        }
    }

    /** A fallocate call {mode, pos, len}; mode -1 is a pwrite of len random bytes at pos. */
    private static long[] op(long mode, long pos, long len) {
        return new long[] {mode, pos, len};
    }

    private static final int K = Fallocate.KEEP_SIZE;
    private static final int Z = Fallocate.ZERO_RANGE;
    private static final int W = -1;

    /** Layouts that are ours by design (copy on write into prealloc, inline rules); the rest match the kernel. */
    private static final List<Case> CASES = List.of(
            new Case("extend-empty", 0, List.of(op(0, 0, 20000)), "0:P d0+0/20480(20480); size=20000 nbytes=20480 prealloc=true"),
            new Case("keep-beyond", 0, List.of(op(K, 8192, 8192)), "8192:P d0+0/8192(8192); size=0 nbytes=8192 prealloc=true"),
            new Case("write-splits", 0, List.of(op(K, 0, 65536), op(W, 10000, 5000)),
                    "0:P d0+0/8192(65536); 8192:R d1+0/8192(8192); 16384:P d0+16384/49152(65536); "
                            + "size=15000 nbytes=65536 prealloc=true"),
            new Case("after-regular", 5000, List.of(op(0, 10000, 10000)),
                    "0:R d0+0/4096(8192); 4096:R d1+0/4096(4096); 8192:P d2+0/12288(12288); size=20000 nbytes=20480 prealloc=true"),
            new Case("covered", 12288, List.of(op(0, 0, 20000)),
                    "0:R d0+0/12288(12288); 12288:P d1+0/8192(8192); size=20000 nbytes=20480 prealloc=true"),
            new Case("nothing-to-do", 8192, List.of(op(K, 100, 5000)), "0:R d0+0/8192(8192); size=8192 nbytes=8192 prealloc=false"),
            new Case("prealloc-kept", 0, List.of(op(K, 0, 16384), op(0, 8192, 32768)),
                    "0:P d0+0/16384(16384); 16384:P d1+0/24576(24576); size=40960 nbytes=40960 prealloc=true"),
            new Case("zero-unaligned", 20000, List.of(op(Z, 1000, 10000)),
                    "0:R d0+0/4096(4096); 4096:P d1+0/4096(4096); 8192:R d2+0/4096(4096); 12288:R d3+12288/8192(20480); "
                            + "size=20000 nbytes=20480 prealloc=true"),
            new Case("zero-aligned", 20000, List.of(op(Z, 4096, 8192)),
                    "0:R d0+0/4096(20480); 4096:P d1+0/8192(8192); 12288:R d0+12288/8192(20480); size=20000 nbytes=20480 prealloc=true"),
            new Case("zero-in-prealloc", 0, List.of(op(K, 0, 65536), op(Z, 100, 1000)),
                    "0:P d0+0/65536(65536); size=1100 nbytes=65536 prealloc=true"),
            new Case("zero-one-sector", 20000, List.of(op(Z | K, 5000, 100)),
                    "0:R d0+0/4096(20480); 4096:R d1+0/4096(4096); 8192:R d0+8192/12288(20480); size=20000 nbytes=20480 prealloc=false"),
            new Case("zero-past-eof", 20000, List.of(op(Z | K, 16000, 10000)),
                    "0:R d0+0/12288(20480); 12288:R d1+0/4096(4096); 16384:P d2+0/12288(12288); size=20000 nbytes=28672 prealloc=true"),
            new Case("inline-grows-inline", 100, List.of(op(0, 0, 200)), "0:I200; size=200 nbytes=200 prealloc=false"),
            new Case("inline-keep", 5, List.of(op(K, 0, 20000)),
                    "0:R d0+0/4096(4096); 4096:P d1+0/16384(16384); size=5 nbytes=20480 prealloc=true"),
            new Case("inline-zero", 100, List.of(op(Z, 10, 20)), "0:I100; size=100 nbytes=100 prealloc=false"));

    @Test
    void layoutsSizesAndZeros() throws Exception {
        Path img = image(256L << 20);
        Map<String, byte[]> model = new HashMap<>();
        try (Filesystem fs = Filesystem.open(img, rw())) {
            for (Case c : CASES) {
                InodeId id = fs.create(fs.root(), c.name, 0644, 0, 0);
                byte[] data = random(c.initial, c.name.hashCode());
                if (c.initial > 0) {
                    fs.write(id, 0, data, 0, data.length);
                    fs.sync(); // the initial extent comes from its own write, as the kernel's writeback makes it
                }
                for (long[] o : c.ops) {
                    data = apply(fs, id, data, o);
                }
                model.put(c.name, data);
                assertArrayEquals(data, readAll(fs, id), c.name + " before the commit");
            }
        }
        CheckAssertions.assertClean(img);
        try (Filesystem fs = Filesystem.open(img, OpenOptions.readOnlyDefaults().withVerifyDataCsums(true))) {
            for (Case c : CASES) {
                InodeId id = fs.lookup(fs.root(), c.name);
                assertEquals(c.expect, layout(fs.fsInfo(), id), c.name);
                assertArrayEquals(model.get(c.name), readAll(fs, id), c.name + " as committed");
            }
        }
    }

    /** Runs one op on jbtrfs and returns the model's content after it. */
    static byte[] apply(Filesystem fs, InodeId id, byte[] data, long[] o) throws IOException {
        int mode = (int) o[0];
        long pos = o[1];
        long len = o[2];
        long end = pos + len;
        if (mode == W) {
            byte[] b = random((int) len, pos * 31 + len);
            fs.write(id, pos, b, 0, b.length);
            byte[] out = java.util.Arrays.copyOf(data, (int) Math.max(data.length, end));
            System.arraycopy(b, 0, out, (int) pos, b.length);
            return out;
        }
        fs.fallocate(id, mode, pos, len);
        byte[] out = (mode & K) != 0 ? data.clone() : java.util.Arrays.copyOf(data, (int) Math.max(data.length, end));
        if ((mode & (Z | Fallocate.PUNCH_HOLE)) != 0 && pos < out.length) {
            java.util.Arrays.fill(out, (int) pos, (int) Math.min(out.length, end), (byte) 0);
        }
        return out;
    }

    /** Extents stop at 128 MiB; a write then truncate and punch over the prealloc keep offsets and refs right. */
    @Test
    void largeFallocateSplitsAt128MiBAndEditsKeepRefs() throws Exception {
        Path img = image(12L << 30); // data chunks of 1 GiB
        InodeId id;
        long total = 300L << 20;
        try (Filesystem fs = Filesystem.open(img, rw())) {
            id = fs.create(fs.root(), "big", 0644, 0, 0);
            fs.fallocate(id, 0, 0, total);
            assertEquals(total, fs.getattr(id).size());
        }
        CheckAssertions.assertClean(img);
        assertEquals("0:P d0+0/134217728(134217728); 134217728:P d1+0/134217728(134217728); "
                + "268435456:P d2+0/46137344(46137344); size=314572800 nbytes=314572800 prealloc=true", layout(img, id));
        byte[] b = random(10000, 7);
        try (Filesystem fs = Filesystem.open(img, rw())) {
            fs.write(id, (128L << 20) - 5000, b, 0, b.length); // across the first two extents
            fs.punchHole(id, 200L << 20, 1L << 20);
            fs.setattr(id, org.jbtrfs.SetAttr.truncate(250L << 20));
        }
        CheckAssertions.assertClean(img);
        long m = 1L << 20;
        long w0 = (128 * m) - 8192;
        assertEquals("0:P d0+0/" + w0 + "(134217728); " + w0 + ":R d1+0/16384(16384); " + (w0 + 16384) + ":P d2+8192/"
                + (72 * m - 8192) + "(134217728); " + (201 * m) + ":P d2+" + (73 * m) + "/" + (49 * m)
                + "(134217728); size=" + (250 * m) + " nbytes=" + (249 * m) + " prealloc=true", layout(img, id));
        try (Filesystem fs = Filesystem.open(img, OpenOptions.readOnlyDefaults().withVerifyDataCsums(true))) {
            byte[] got = new byte[20000];
            assertEquals(got.length, fs.read(id, (128L << 20) - 10000, got, 0, got.length));
            byte[] want = new byte[20000];
            System.arraycopy(b, 0, want, 5000, b.length);
            assertArrayEquals(want, got, "the written bytes between zeros");
        }
    }

    /** A fallocate larger than the free space fails with ENOSPC before anything changed; the fs stays usable. */
    @Test
    void tooLargeIsEnospcUpFront() throws Exception {
        Path img = image(128L << 20);
        InodeId id;
        try (Filesystem fs = Filesystem.open(img, rw())) {
            id = fs.create(fs.root(), "f", 0644, 0, 0);
            fs.write(id, 0, random(3000, 1), 0, 3000);
        }
        String before = layout(img, id);
        try (Filesystem fs = Filesystem.open(img, rw())) {
            for (int mode : new int[] {0, K, Z}) {
                FsException e = assertThrows(FsException.class, () -> fs.fallocate(id, mode, 0, 1L << 30));
                assertEquals(Errno.ENOSPC, e.errno(), "mode " + mode);
            }
            assertTrue(fs.isWritable(), "still writable after ENOSPC");
            assertEquals(3000, fs.getattr(id).size());
        }
        assertEquals(before, layout(img, id), "nothing changed");
        try (Filesystem fs = Filesystem.open(img, rw())) {
            fs.fallocate(id, 0, 0, 16L << 20); // what fits still works
            fs.write(id, 1L << 20, random(5000, 2), 0, 5000);
            assertEquals(16L << 20, fs.getattr(id).size());
        }
        CheckAssertions.assertClean(img);
    }

    @Test
    void refusalsInTheKernelsOrder() throws Exception {
        Path img = image(128L << 20);
        try (Filesystem fs = Filesystem.open(img, rw())) {
            InodeId f = fs.create(fs.root(), "f", 0644, 0, 0);
            InodeId d = fs.mkdir(fs.root(), "d", 0755, 0, 0);
            InodeId l = fs.symlink(fs.root(), "l", "f", 0, 0);
            InodeId p = fs.mknod(fs.root(), "p".getBytes(), org.jbtrfs.Attr.S_IFIFO | 0644, 0, 0, 0);
            Object[][] table = {
                {f, 0, -1L, 10L, Errno.EINVAL},
                {f, 0, 0L, 0L, Errno.EINVAL},
                {f, 0x80, 0L, 10L, Errno.EOPNOTSUPP},
                {f, Fallocate.PUNCH_HOLE, 0L, 10L, Errno.EOPNOTSUPP},
                {f, Fallocate.PUNCH_HOLE | Z | K, 0L, 10L, Errno.EOPNOTSUPP},
                {f, Fallocate.COLLAPSE_RANGE | K, 0L, 4096L, Errno.EINVAL},
                {f, Fallocate.COLLAPSE_RANGE, 0L, 4096L, Errno.EOPNOTSUPP},
                {f, Fallocate.INSERT_RANGE, 0L, 4096L, Errno.EOPNOTSUPP},
                {f, Fallocate.UNSHARE_RANGE, 0L, 4096L, Errno.EOPNOTSUPP},
                {f, Fallocate.NO_HIDE_STALE, 0L, 4096L, Errno.EOPNOTSUPP},
                {f, 0, Long.MAX_VALUE - 10, 20L, Errno.EFBIG},
                {f, K, 1L << 62, 1L << 62, Errno.EFBIG},
                {d, 0, 0L, 10L, Errno.EISDIR},
                {l, 0, 0L, 10L, Errno.ENODEV},
                {p, 0, 0L, 10L, Errno.ESPIPE},
            };
            for (Object[] row : table) {
                FsException e = assertThrows(FsException.class,
                        () -> fs.fallocate((InodeId) row[0], (int) row[1], (long) row[2], (long) row[3]));
                assertEquals(row[4], e.errno(), java.util.Arrays.toString(row));
            }
            assertEquals(0, fs.getattr(f).size());
            fs.fallocate(f, Fallocate.PUNCH_HOLE | K, 0, 10); // on an empty file: nothing, no error
        }
        CheckAssertions.assertClean(img);
    }

    /**
     * The same cases done by the kernel (mkfs, writes, sync, the fallocate command through a loop
     * mount) and by us on copies of one kernel-made image: the same layouts (disk addresses aside)
     * where {@link Case#kernelSame}, the same bytes everywhere. Then the kernel reads our image,
     * writes into our prealloc ranges and fallocates its own; we read exactly that and write and
     * zero over its in-place split prealloc extents. Both images checked clean at every step.
     */
    @Test
    void sameAsTheKernel() throws Exception {
        Path kimg = FileTestSupport.freshImage(java.nio.file.Files.createDirectories(tmp.resolve("k")));
        Path oimg = FileTestSupport.freshImage(java.nio.file.Files.createDirectories(tmp.resolve("o")));
        Map<String, byte[]> model = new HashMap<>();
        try (KernelImages.LoopMount m = KernelImages.mount(kimg, tmp.resolve("kmnt"), null)) {
            for (Case c : CASES) {
                java.nio.file.Files.write(m.path(c.name), random(c.initial, c.name.hashCode()));
            }
            KernelImages.runChecked(KernelImages.COMMAND_TIMEOUT, "sync");
            for (Case c : CASES) {
                for (long[] o : c.ops) {
                    kernelOp(m.path(c.name), o);
                }
            }
        }
        CheckAssertions.assertClean(kimg);
        try (Filesystem fs = Filesystem.open(oimg, rw())) {
            for (Case c : CASES) {
                InodeId id = fs.create(fs.root(), c.name, 0644, 0, 0);
                byte[] data = random(c.initial, c.name.hashCode());
                fs.write(id, 0, data, 0, data.length);
            }
            fs.sync();
            for (Case c : CASES) {
                InodeId id = fs.lookup(fs.root(), c.name);
                byte[] data = random(c.initial, c.name.hashCode());
                for (long[] o : c.ops) {
                    data = apply(fs, id, data, o);
                }
                model.put(c.name, data);
            }
        }
        CheckAssertions.assertClean(oimg);
        int same = 0;
        try (Filesystem k = Filesystem.open(kimg, OpenOptions.readOnlyDefaults().withVerifyDataCsums(true));
                Filesystem o = Filesystem.open(oimg, OpenOptions.readOnlyDefaults().withVerifyDataCsums(true))) {
            for (Case c : CASES) {
                InodeId kid = k.lookup(k.root(), c.name);
                InodeId oid = o.lookup(o.root(), c.name);
                String kl = layout(k.fsInfo(), kid);
                String ol = layout(o.fsInfo(), oid);
                System.out.println("FallocateTest: " + c.name + "\n  kernel " + kl + "\n  jbtrfs " + ol);
                assertArrayEquals(model.get(c.name), readAll(k, kid), c.name + " as the kernel made it");
                assertArrayEquals(model.get(c.name), readAll(o, oid), c.name + " as we made it");
                if (c.kernelSame()) {
                    assertEquals(kl, ol, c.name + ": our layout against the kernel's");
                    same++;
                }
            }
        }
        System.out.println("FallocateTest: " + same + " of " + CASES.size() + " layouts identical to the kernel's");
        kernelOnOurs(oimg, model);
    }

    /** The same op through the mounted kernel filesystem. */
    private static void kernelOp(Path file, long[] o) throws IOException {
        int mode = (int) o[0];
        if (mode == W) {
            try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(file.toFile(), "rw")) {
                f.seek(o[1]);
                f.write(random((int) o[2], o[1] * 31 + o[2]));
            }
            return;
        }
        List<String> cmd = new ArrayList<>(List.of("fallocate"));
        if ((mode & K) != 0) {
            cmd.add("-n");
        }
        if ((mode & Z) != 0) {
            cmd.add("-z");
        }
        cmd.addAll(List.of("-o", Long.toString(o[1]), "-l", Long.toString(o[2]), file.toString()));
        KernelImages.run(KernelImages.COMMAND_TIMEOUT, null, cmd).orFail();
    }

    /** The kernel reads our image, writes into our prealloc extents and fallocates its own; we read and write on. */
    private void kernelOnOurs(Path oimg, Map<String, byte[]> model) throws Exception {
        long[][] writes = {{0, 3000, 5000}, {1, 9000, 100}, {6, 20000, 7000}, {2, 30000, 1000}};
        List<String> names = new ArrayList<>();
        CASES.forEach(c -> names.add(c.name));
        try (KernelImages.LoopMount m = KernelImages.mount(oimg, tmp.resolve("omnt"), null)) {
            for (String n : names) {
                assertArrayEquals(model.get(n), java.nio.file.Files.readAllBytes(m.path(n)), "the kernel reads " + n);
            }
            for (long[] w : writes) {
                String n = names.get((int) w[0]);
                long[] o = op(W, w[1], w[2]);
                kernelOp(m.path(n), o);
                model.put(n, modelWrite(model.get(n), o));
            }
            java.nio.file.Files.write(m.path("kfal"), new byte[0]);
            kernelOp(m.path("kfal"), op(K, 0, 1 << 20));
            kernelOp(m.path("kfal"), op(0, 0, 300_000));
            kernelOp(m.path("kfal"), op(W, 100_000, 20_000));
            model.put("kfal", modelWrite(new byte[300_000], op(W, 100_000, 20_000)));
        }
        CheckAssertions.assertClean(oimg);
        names.add("kfal");
        try (Filesystem fs = Filesystem.open(oimg, rw())) {
            for (String n : names) {
                assertArrayEquals(model.get(n), readAll(fs, fs.lookup(fs.root(), n)), "we read " + n + " after the kernel");
            }
            InodeId kfal = fs.lookup(fs.root(), "kfal");
            byte[] d = model.get("kfal");
            d = apply(fs, kfal, d, op(W, 110_000, 30_000)); // over the kernel's written part and its prealloc
            d = apply(fs, kfal, d, op(Z, 90_000, 20_000));
            d = apply(fs, kfal, d, op(0, 250_000, 200_000));
            model.put("kfal", d);
            assertArrayEquals(d, readAll(fs, kfal), "kfal after our changes");
        }
        CheckAssertions.assertClean(oimg);
        try (KernelImages.LoopMount m = KernelImages.mount(oimg, tmp.resolve("omnt"), null)) {
            for (String n : names) {
                assertArrayEquals(model.get(n), java.nio.file.Files.readAllBytes(m.path(n)), "the kernel reads " + n + " at the end");
            }
        }
        CheckAssertions.assertClean(oimg);
    }

    private static byte[] modelWrite(byte[] data, long[] o) {
        byte[] b = random((int) o[2], o[1] * 31 + o[2]);
        byte[] out = java.util.Arrays.copyOf(data, (int) Math.max(data.length, o[1] + o[2]));
        System.arraycopy(b, 0, out, (int) o[1], b.length);
        return out;
    }
}
