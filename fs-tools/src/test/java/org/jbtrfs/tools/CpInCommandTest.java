package org.jbtrfs.tools;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.UserDefinedFileAttributeView;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;
import org.jbtrfs.Filesystem;
import org.jbtrfs.OpenOptions;
import org.jbtrfs.check.CheckAssertions;
import org.jbtrfs.testing.KernelImages;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * cp-in end to end: a host tree with every kind of file goes into an image; btrfs check and our
 * checker find nothing wrong, and the copy read back by cp-out and by the kernel equals the source
 * in contents, types, modes, owners, times, links, xattrs and sparseness. Bad input and a full
 * image end with one clear line and an image that is still clean.
 */
class CpInCommandTest {
    @TempDir
    Path tmp;

    static Run run(String... args) {
        return Run.of(args);
    }

    static boolean root() {
        return "root".equals(System.getProperty("user.name"));
    }

    /** A host tree with small, large, sparse and empty files, links, special files, odd modes, owners, times, xattrs. */
    static Path buildSource(Path dir, long seed) throws Exception {
        Random rnd = new Random(seed);
        Path src = Files.createDirectories(dir.resolve("src"));
        Files.createDirectories(src.resolve("a/b/c"));
        Files.writeString(src.resolve("hello.txt"), "hello, btrfs\n");
        Files.write(src.resolve("empty"), new byte[0]);
        byte[] tiny = new byte[1500];
        rnd.nextBytes(tiny);
        Files.write(src.resolve("a/inline-size.bin"), tiny);
        for (int i = 0; i < 60; i++) {
            byte[] b = new byte[rnd.nextInt(20000)];
            rnd.nextBytes(b);
            Files.write(src.resolve("a/b/small-" + i), b);
        }
        byte[] big = new byte[(9 << 20) + 4097];
        rnd.nextBytes(big);
        Files.write(src.resolve("a/big.bin"), big);
        try (RandomAccessFile f = new RandomAccessFile(src.resolve("sparse.img").toFile(), "rw")) {
            f.setLength(64L << 20);
            f.seek(10L << 20);
            f.write(tiny);
            f.seek((40L << 20) + 123);
            f.write(tiny);
        }
        Files.createSymbolicLink(src.resolve("link"), Path.of("a/big.bin"));
        Files.createSymbolicLink(src.resolve("a/b/c/dangling"), Path.of("x".repeat(300)));
        Files.createLink(src.resolve("a/b/c/hard"), src.resolve("hello.txt"));
        KernelImages.run(KernelImages.COMMAND_TIMEOUT, "mkfifo", src.resolve("fifo").toString()).orFail();
        UserDefinedFileAttributeView x = Files.getFileAttributeView(src.resolve("hello.txt"), UserDefinedFileAttributeView.class);
        x.write("k1", ByteBuffer.wrap("value one".getBytes(StandardCharsets.UTF_8)));
        x.write("k2", ByteBuffer.wrap(new byte[3000]));
        Files.setAttribute(src.resolve("a/b"), "unix:mode", 01751);
        Files.setAttribute(src.resolve("a/big.bin"), "unix:mode", 04755);
        if (root()) {
            Files.setAttribute(src.resolve("a/b/small-1"), "unix:uid", 1234);
            Files.setAttribute(src.resolve("a/b/small-1"), "unix:gid", 567);
            KernelImages.run(KernelImages.COMMAND_TIMEOUT, "mknod", src.resolve("cdev").toString(), "c", "1", "3").orFail();
        }
        Files.setLastModifiedTime(src.resolve("a/b/small-2"), FileTime.from(1_234_567_890_123_456_789L, TimeUnit.NANOSECONDS));
        Files.setLastModifiedTime(src.resolve("a"), FileTime.from(1_000_000_000L, TimeUnit.SECONDS));
        return src;
    }

    /** One line per entry: path, type, mode, owner, size, mtime, link count, target or CRC32C, user xattrs. */
    static TreeMap<String, String> describe(Path top) throws IOException {
        TreeMap<String, String> out = new TreeMap<>();
        try (var s = Files.walk(top)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                Map<String, Object> a = Files.readAttributes(p, "unix:mode,uid,gid,size,lastModifiedTime,nlink,rdev",
                        LinkOption.NOFOLLOW_LINKS);
                int mode = (Integer) a.get("mode");
                String rel = top.relativize(p).toString();
                StringBuilder sb = new StringBuilder();
                sb.append(Integer.toOctalString(mode)).append(' ').append(a.get("uid")).append(':').append(a.get("gid"));
                boolean dir = Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS);
                if (!dir) {
                    sb.append(" size=").append(a.get("size")).append(" nlink=").append(a.get("nlink"));
                }
                if (!rel.isEmpty() && !dir) {
                    sb.append(" mtime=").append(((FileTime) a.get("lastModifiedTime")).to(TimeUnit.NANOSECONDS));
                }
                if (Files.isSymbolicLink(p)) {
                    sb.append(" -> ").append(Files.readSymbolicLink(p));
                } else if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                    CRC32C c = new CRC32C();
                    c.update(Files.readAllBytes(p));
                    sb.append(" crc=").append(Long.toHexString(c.getValue()));
                    UserDefinedFileAttributeView x = Files.getFileAttributeView(p, UserDefinedFileAttributeView.class);
                    for (String n : new java.util.TreeSet<>(x.list())) {
                        ByteBuffer b = ByteBuffer.allocate(x.size(n));
                        x.read(n, b);
                        CRC32C xc = new CRC32C();
                        xc.update(b.array());
                        sb.append(" user.").append(n).append('=').append(Long.toHexString(xc.getValue()));
                    }
                } else if ((mode & 0170000) == 0020000) {
                    sb.append(" rdev=").append(a.get("rdev"));
                }
                out.put(rel, sb.toString());
            }
        }
        return out;
    }

    static long allocatedBytes(Path p) throws Exception {
        String s = KernelImages.run(KernelImages.COMMAND_TIMEOUT, "stat", "-c", "%b %B", p.toString()).orFail().output().trim();
        String[] f = s.split(" ");
        return Long.parseLong(f[0]) * Long.parseLong(f[1]);
    }

    @Test
    void aTreeCopiedInReadsBackTheSameEverywhere() throws Exception {
        Assumptions.assumeTrue(CheckAssertions.haveBtrfsProgs(), "skipped: btrfs-progs is not installed");
        long seed = Long.getLong("jbtrfs.seed", System.nanoTime());
        System.out.println("CpInCommandTest: seed=" + seed);
        Path src = buildSource(tmp, seed);
        Path img = tmp.resolve("x.img");
        KernelImages.mkfs(img, 512L << 20, "-q");
        Run r = run("cp-in", img.toString(), src.toString(), "/copy");
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().startsWith("cp-in: copied "), r.out());
        CheckAssertions.assertClean(img);

        // Into an existing directory: the source lands under its own name.
        assertEquals(0, run("cp-in", img.toString(), src.resolve("a").toString(), "/copy/a/b").status());
        // Over an existing file: replaced.
        assertEquals(0, run("cp-in", img.toString(), src.resolve("a/inline-size.bin").toString(), "/copy/hello.txt").status());
        CheckAssertions.assertClean(img);

        TreeMap<String, String> expect = describe(src);
        TreeMap<String, String> expectNested = describe(src.resolve("a"));
        Path back = tmp.resolve("back");
        Run out = run("cp-out", "--verify-data", img.toString(), "/copy", back.toString());
        assertEquals(0, out.status(), out.err());
        TreeMap<String, String> got = describe(back);
        String replaced = got.remove("hello.txt");
        assertEquals(expect.get("a/inline-size.bin").replaceAll(" mtime=\\d+", "").replaceAll(" nlink=\\d+", ""),
                replaced.replaceAll(" mtime=\\d+", "").replaceAll(" nlink=\\d+", "").replaceAll(" user\\.\\S+", ""),
                "hello.txt was overwritten by inline-size.bin's contents");
        for (Map.Entry<String, String> e : expectNested.entrySet()) {
            String k = e.getKey().isEmpty() ? "a/b/a" : "a/b/a/" + e.getKey();
            String want = e.getValue().replaceAll(" mtime=\\d+", "");
            if (e.getKey().equals("b/c/hard")) {
                want = want.replace(" nlink=2", " nlink=1"); // its other name was not part of this copy
            }
            assertEquals(want, got.remove(k).replaceAll(" mtime=\\d+", ""), k);
        }
        expect.remove("hello.txt");
        // The hard link's other name was overwritten in place: same inode, so its contents changed too.
        expect.remove("a/b/c/hard");
        got.remove("a/b/c/hard");
        assertEquals(expect, got, "cp-out of the copy equals the source");

        if (KernelImages.unavailableReason().isEmpty()) {
            try (KernelImages.LoopMount m = KernelImages.mount(img, tmp.resolve("mnt"), "ro")) {
                TreeMap<String, String> kernel = describe(m.path("copy"));
                kernel.remove("hello.txt");
                kernel.remove("a/b/c/hard");
                kernel.keySet().removeIf(k -> k.startsWith("a/b/a"));
                assertEquals(expect, kernel, "the kernel's view of the copy");
                assertTrue(allocatedBytes(m.path("copy/sparse.img")) < (1L << 20),
                        "the sparse file stays sparse: " + allocatedBytes(m.path("copy/sparse.img")));
            }
        } else {
            System.out.println("CpInCommandTest: kernel view skipped: " + KernelImages.unavailableReason());
        }
    }

    @Test
    void badInputEndsWithOneLineAndLeavesTheImageClean() throws Exception {
        Assumptions.assumeTrue(CheckAssertions.haveBtrfsProgs(), "skipped: btrfs-progs is not installed");
        Path img = tmp.resolve("y.img");
        KernelImages.mkfs(img, 128L << 20, "-q");
        Path f = Files.writeString(tmp.resolve("f.txt"), "x");
        Run missing = run("cp-in", img.toString(), tmp.resolve("nothing").toString(), "/x");
        assertNotEquals(0, missing.status());
        assertTrue(missing.err().startsWith("jbtrfs: ") && missing.err().contains("no such file"), missing.err());
        Run noParent = run("cp-in", img.toString(), f.toString(), "/no/such/dir/x");
        assertNotEquals(0, noParent.status());
        assertEquals(1, noParent.err().lines().count(), noParent.err());
        Run noImage = run("cp-in", tmp.resolve("none.img").toString(), f.toString(), "/x");
        assertNotEquals(0, noImage.status());
        assertTrue(noImage.err().contains("no such file"), noImage.err());
        Run usage = run("cp-in", img.toString());
        assertEquals(Main.EXIT_USAGE, usage.status(), usage.err());
        CheckAssertions.assertClean(img);
    }

    @Test
    void aFullImageStopsWithEnospcAndKeepsWhatWasCommitted() throws Exception {
        Assumptions.assumeTrue(CheckAssertions.haveBtrfsProgs(), "skipped: btrfs-progs is not installed");
        Path img = tmp.resolve("full.img");
        KernelImages.mkfs(img, 128L << 20, "-q");
        Path src = Files.createDirectories(tmp.resolve("much"));
        Random rnd = new Random(7);
        byte[] b = new byte[8 << 20];
        for (int i = 0; i < 24; i++) {
            rnd.nextBytes(b);
            Files.write(src.resolve(String.format("f%02d", i)), b);
        }
        Run r = run("cp-in", img.toString(), src.toString(), "/much");
        assertEquals(1, r.status(), r.out() + r.err());
        assertTrue(r.err().contains("No space left") || r.err().contains("ENOSPC") || r.err().contains("no space left"), r.err());
        assertEquals(1, r.err().lines().count(), r.err());
        CheckAssertions.assertClean(img);
        try (Filesystem fs = Filesystem.open(img, OpenOptions.readOnlyDefaults().withVerifyDataCsums(true))) {
            List<String> names = new ArrayList<>();
            fs.list(fs.resolve("/much")).forEach(e -> names.add(e.name()));
            assertTrue(names.size() >= 5, "files copied before space ran out are there: " + names);
            byte[] got = new byte[8 << 20];
            rnd = new Random(7);
            rnd.nextBytes(b);
            assertEquals(b.length, fs.read(fs.resolve("/much/f00"), 0, got, 0, got.length));
            assertArrayEquals(b, got);
        }
    }

    @Test
    void mkfsRootdirMakesAnImageHoldingTheTree() throws Exception {
        Assumptions.assumeTrue(CheckAssertions.haveBtrfsProgs(), "skipped: btrfs-progs is not installed");
        long seed = Long.getLong("jbtrfs.seed", System.nanoTime());
        System.out.println("CpInCommandTest(mkfs --rootdir): seed=" + seed);
        Path src = buildSource(tmp, seed);
        Files.setAttribute(src, "unix:mode", 0750);
        Path img = tmp.resolve("rootdir.img");
        // More data than the first data chunk holds: data chunks are allocated on the way.
        Run r = run("mkfs", img.toString(), "--size", "300M", "--nodesize", "4K", "--rootdir", src.toString());
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("Rootdir:"), r.out());
        CheckAssertions.assertClean(img);
        Path back = tmp.resolve("back");
        Run out = run("cp-out", "--verify-data", img.toString(), "/", back.toString());
        assertEquals(0, out.status(), out.err());
        assertEquals(describe(src), describe(back), "cp-out of the image equals the source");
        if (KernelImages.unavailableReason().isEmpty()) {
            try (KernelImages.LoopMount m = KernelImages.mount(img, tmp.resolve("mnt"), "ro")) {
                assertEquals(describe(src), describe(m.dir()), "the kernel's view equals the source");
            }
        }
    }

    @Test
    void mkfsRootdirTooLargeForTheImageStopsWithEnospc() throws Exception {
        Assumptions.assumeTrue(CheckAssertions.haveBtrfsProgs(), "skipped: btrfs-progs is not installed");
        Path src = Files.createDirectories(tmp.resolve("big"));
        Random rnd = new Random(3);
        byte[] b = new byte[4 << 20];
        for (int i = 0; i < 40; i++) {
            rnd.nextBytes(b);
            Files.write(src.resolve(String.format("f%02d", i)), b);
        }
        Path img = tmp.resolve("small.img");
        Run r = run("mkfs", img.toString(), "--size", "128M", "--rootdir", src.toString());
        assertEquals(1, r.status(), r.out() + r.err());
        assertEquals(1, r.err().lines().count(), r.err());
        assertTrue(r.err().contains("no space left") && r.err().contains("ENOSPC"), r.err());
        CheckAssertions.assertClean(img);
        try (Filesystem fs = Filesystem.open(img, OpenOptions.readOnlyDefaults().withVerifyDataCsums(true))) {
            int n = fs.list(fs.root()).size();
            assertTrue(n > 3, "files copied before space ran out are kept: " + n);
        }
    }
}
