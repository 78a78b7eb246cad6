package org.jbtrfs.inode;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.TreeSet;
import org.jbtrfs.Attr;
import org.jbtrfs.DirEntry;
import org.jbtrfs.Errno;
import org.jbtrfs.Filesystem;
import org.jbtrfs.FsException;
import org.jbtrfs.InodeId;
import org.jbtrfs.OpenOptions;
import org.jbtrfs.SetAttr;
import org.jbtrfs.check.CheckAssertions;
import org.jbtrfs.testing.KernelImages;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/**
 * Random namespace operations (create, mkdir, mknod, symlink, link, unlink, rmdir, rename with its
 * flags, xattrs, chmod/chown) through the public {@link Filesystem} API against a model of paths,
 * with commits and reopenings in between; every refusal is checked for its errno. After each
 * reopening the whole tree is compared with the model; at the end btrfs check, our checker and the
 * kernel's view agree. Prints the seed.
 */
class NamespaceModelTest {
    @TempDir
    Path tmp;

    /** What the model knows of an inode; hard links share one. */
    static final class Node {
        final int mode;
        final byte[] target;
        int perm;
        int nlink = 1;
        final TreeMap<String, byte[]> xattrs = new TreeMap<>();
        InodeId id;

        Node(int mode, byte[] target) {
            this.mode = mode;
            this.perm = mode & 07777;
            this.target = target;
        }

        boolean isDir() {
            return (mode & Attr.S_IFMT) == Attr.S_IFDIR;
        }
    }

    private final TreeMap<String, Node> model = new TreeMap<>();
    private Random rnd;

    static OpenOptions rw() {
        return new OpenOptions(false, OpenOptions.DEFAULT_CACHE_LIMIT_BYTES, true);
    }

    @Test
    void randomNamespaceOperationsMatchTheModel() throws Exception {
        Assumptions.assumeTrue(CheckAssertions.haveBtrfsProgs(), "skipped: btrfs-progs is not installed");
        Path img = tmp.resolve("ns.img");
        KernelImages.mkfs(img, 160L << 20, "-q", "-n", "4096");
        long seed = Long.getLong("jbtrfs.seed", System.nanoTime());
        System.out.println("NamespaceModelTest: seed=" + seed + " (replay with -Djbtrfs.seed=" + seed + ")");
        rnd = new Random(seed);
        Node top = new Node(Attr.S_IFDIR | 0755, null);
        model.put("", top);
        int rounds = Integer.getInteger("jbtrfs.ns.rounds", 4);
        try {
            for (int round = 0; round < rounds; round++) {
                try (Filesystem fs = Filesystem.open(img, rw())) {
                    top.id = fs.root();
                    refreshIds(fs);
                    for (int commit = 0; commit < 3; commit++) {
                        int ops = 300 + rnd.nextInt(400);
                        for (int i = 0; i < ops; i++) {
                            step(fs);
                        }
                        fs.sync();
                    }
                    compare(fs);
                }
                try (Filesystem ro = Filesystem.open(img, OpenOptions.readOnlyDefaults().withVerifyDataCsums(true))) {
                    compare(ro);
                }
                assertTrue(CheckAssertions.check(img, true).clean(), CheckAssertions.check(img, true).toString());
            }
            System.out.println("NamespaceModelTest: " + model.size() + " paths after " + rounds + " rounds");
            CheckAssertions.assertClean(img);
            compareWithKernel(img);
        } catch (AssertionError | Exception e) {
            throw new AssertionError("seed " + seed + ": " + e.getMessage(), e);
        }
    }

    /** Inode ids are found again by path after a reopen (they are stable, but the model must not trust that). */
    private void refreshIds(Filesystem fs) throws Exception {
        for (Map.Entry<String, Node> e : model.entrySet()) {
            if (!e.getKey().isEmpty()) {
                InodeId id = fs.resolve("/" + e.getKey());
                if (e.getValue().id != null) {
                    assertEquals(e.getValue().id, id, "inode number of " + e.getKey() + " changed");
                }
                e.getValue().id = id;
            }
        }
    }

    private String randomName() {
        String[] stems = {"a", "file", "dir", "x", "long-name-" + "n".repeat(40), "ünï", "sp ace"};
        return stems[rnd.nextInt(stems.length)] + rnd.nextInt(rnd.nextBoolean() ? 8 : 400);
    }

    private <T> T pick(List<T> l) {
        return l.get(rnd.nextInt(l.size()));
    }

    private List<String> paths(boolean dirs, boolean others) {
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, Node> e : model.entrySet()) {
            if (e.getValue().isDir() ? dirs : others) {
                out.add(e.getKey());
            }
        }
        return out;
    }

    private static String join(String dir, String name) {
        return dir.isEmpty() ? name : dir + "/" + name;
    }

    private static String parentOf(String p) {
        int i = p.lastIndexOf('/');
        return i < 0 ? "" : p.substring(0, i);
    }

    private static String nameOf(String p) {
        return p.substring(p.lastIndexOf('/') + 1);
    }

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private boolean hasChildren(String dir) {
        String prefix = dir.isEmpty() ? "" : dir + "/";
        String next = model.higherKey(dir);
        return next != null && next.startsWith(prefix) && !dir.isEmpty() || dir.isEmpty() && model.size() > 1;
    }

    static void expectErrno(Errno want, Executable op) {
        FsException e = assertThrows(FsException.class, op);
        assertEquals(want, e.errno(), e.getMessage());
    }

    private void step(Filesystem fs) throws Exception {
        List<String> dirs = paths(true, false);
        String dir = pick(dirs);
        InodeId dirId = model.get(dir).id;
        int op = rnd.nextInt(100);
        if (op < 25) {
            String name = randomName();
            String p = join(dir, name);
            int kind = rnd.nextInt(10);
            int mode = kind < 6 ? Attr.S_IFREG | 0644 : kind < 9 ? Attr.S_IFDIR | 0755 : Attr.S_IFIFO | 0600;
            if (model.containsKey(p)) {
                expectErrno(Errno.EEXIST, () -> fs.mknod(dirId, b(name), mode, 0, 1000, 100));
                return;
            }
            Node n = new Node(mode, null);
            n.id = fs.mknod(dirId, b(name), mode, 0, 1000, 100);
            model.put(p, n);
        } else if (op < 32) {
            String name = randomName();
            String p = join(dir, name);
            byte[] target = b("t/".repeat(1 + rnd.nextInt(rnd.nextInt(10) == 0 ? 1500 : 40)));
            if (model.containsKey(p)) {
                expectErrno(Errno.EEXIST, () -> fs.symlink(dirId, b(name), target, 0, 0));
                return;
            }
            Node n = new Node(Attr.S_IFLNK | 0777, target);
            n.id = fs.symlink(dirId, b(name), target, 0, 0);
            model.put(p, n);
        } else if (op < 42) {
            List<String> files = paths(false, true);
            if (files.isEmpty()) {
                return;
            }
            String src = pick(files);
            Node n = model.get(src);
            String p = join(dir, randomName());
            if (model.containsKey(p)) {
                expectErrno(Errno.EEXIST, () -> fs.link(n.id, dirId, b(nameOf(p))));
                return;
            }
            fs.link(n.id, dirId, b(nameOf(p)));
            n.nlink++;
            model.put(p, n);
        } else if (op < 55) {
            List<String> files = paths(false, true);
            if (files.isEmpty()) {
                return;
            }
            String p = pick(files);
            InodeId parent = model.get(parentOf(p)).id;
            fs.unlink(parent, b(nameOf(p)));
            model.remove(p).nlink--;
        } else if (op < 62) {
            dirs.remove("");
            if (dirs.isEmpty()) {
                return;
            }
            String p = pick(dirs);
            InodeId parent = model.get(parentOf(p)).id;
            if (hasChildren(p)) {
                expectErrno(Errno.ENOTEMPTY, () -> fs.rmdir(parent, b(nameOf(p))));
                return;
            }
            fs.rmdir(parent, b(nameOf(p)));
            model.remove(p);
        } else if (op < 80) {
            rename(fs);
        } else if (op < 90) {
            List<String> all = new ArrayList<>(model.keySet());
            String p = pick(all);
            Node n = model.get(p);
            if (n.target != null) {
                return; // user xattrs are not allowed on symlinks (the VFS refuses them)
            }
            String xname = "user.k" + rnd.nextInt(6);
            if (rnd.nextInt(3) == 0) {
                if (n.xattrs.remove(xname) == null) {
                    expectErrno(Errno.ENODATA, () -> fs.removexattr(n.id, b(xname)));
                } else {
                    fs.removexattr(n.id, b(xname));
                }
            } else {
                byte[] v = new byte[rnd.nextInt(rnd.nextInt(8) == 0 ? 3000 : 40)];
                rnd.nextBytes(v);
                fs.setxattr(n.id, b(xname), v, 0);
                n.xattrs.put(xname, v);
            }
        } else {
            List<String> all = new ArrayList<>(model.keySet());
            Node n = model.get(pick(all));
            if (n.target != null) {
                return;
            }
            int perm = rnd.nextInt(01000);
            fs.setattr(n.id, SetAttr.chmod(perm));
            n.perm = perm;
        }
    }

    private void rename(Filesystem fs) throws Exception {
        List<String> all = new ArrayList<>(model.keySet());
        all.remove("");
        if (all.isEmpty()) {
            return;
        }
        String src = pick(all);
        String dstDir = pick(paths(true, false));
        String dst = rnd.nextInt(3) == 0 ? pick(all) : join(dstDir, randomName());
        InodeId sp = model.get(parentOf(src)).id;
        InodeId dp = model.get(parentOf(dst)).id;
        Node s = model.get(src);
        Node d = model.get(dst);
        boolean exchange = d != null && rnd.nextInt(4) == 0;
        int flags = exchange ? Namespace.RENAME_EXCHANGE : rnd.nextInt(5) == 0 ? Namespace.RENAME_NOREPLACE : 0;
        Executable call = () -> fs.rename(sp, b(nameOf(src)), dp, b(nameOf(dst)), flags);
        // The kernel's order of refusals: EEXIST, then a directory into itself, then the target holding the source.
        if (flags == Namespace.RENAME_NOREPLACE && d != null) {
            expectErrno(Errno.EEXIST, call);
            return;
        }
        if (s.isDir() && (dst + "/").startsWith(src + "/") && !src.equals(dst)) {
            expectErrno(Errno.EINVAL, call);
            return;
        }
        if (d != null && d.isDir() && (src + "/").startsWith(dst + "/") && !src.equals(dst)) {
            expectErrno(exchange ? Errno.EINVAL : Errno.ENOTEMPTY, call);
            return;
        }
        if (src.equals(dst) || d == s) {
            fs.rename(sp, b(nameOf(src)), dp, b(nameOf(dst)), flags);
            return;
        }
        if (!exchange && d != null) {
            if (s.isDir() && !d.isDir()) {
                expectErrno(Errno.ENOTDIR, call);
                return;
            }
            if (!s.isDir() && d.isDir()) {
                expectErrno(Errno.EISDIR, call);
                return;
            }
            if (d.isDir() && hasChildren(dst)) {
                expectErrno(Errno.ENOTEMPTY, call);
                return;
            }
        }
        fs.rename(sp, b(nameOf(src)), dp, b(nameOf(dst)), flags);
        if (exchange) {
            swapSubtrees(src, dst);
        } else {
            if (d != null) {
                model.remove(dst).nlink--;
            }
            moveSubtree(src, dst);
        }
    }

    private void moveSubtree(String from, String to) {
        TreeMap<String, Node> moved = new TreeMap<>();
        for (String k : new ArrayList<>(model.keySet())) {
            if (k.equals(from) || k.startsWith(from + "/")) {
                moved.put(to + k.substring(from.length()), model.remove(k));
            }
        }
        model.putAll(moved);
    }

    private void swapSubtrees(String a, String b) {
        TreeMap<String, Node> fromA = new TreeMap<>();
        TreeMap<String, Node> fromB = new TreeMap<>();
        for (String k : new ArrayList<>(model.keySet())) {
            if (k.equals(a) || k.startsWith(a + "/")) {
                fromA.put(b + k.substring(a.length()), model.remove(k));
            } else if (k.equals(b) || k.startsWith(b + "/")) {
                fromB.put(a + k.substring(b.length()), model.remove(k));
            }
        }
        model.putAll(fromA);
        model.putAll(fromB);
    }

    /** Walks the filesystem and compares every entry, attribute, target and xattr with the model. */
    private void compare(Filesystem fs) throws Exception {
        TreeMap<String, InodeId> seen = new TreeMap<>();
        walk(fs, fs.root(), "", seen);
        assertEquals(new TreeSet<>(model.keySet()), new TreeSet<>(seen.keySet()), "the set of paths");
        Map<Node, InodeId> ids = new HashMap<>();
        for (Map.Entry<String, Node> e : model.entrySet()) {
            String p = e.getKey();
            Node n = e.getValue();
            InodeId id = seen.get(p);
            InodeId prev = ids.putIfAbsent(n, id);
            assertEquals(prev == null ? id : prev, id, p + ": hard links must share an inode");
            Attr a = fs.getattr(id);
            assertEquals(n.mode & Attr.S_IFMT, a.mode() & Attr.S_IFMT, p + " type");
            assertEquals(n.perm, a.mode() & 07777, p + " permissions");
            assertEquals(n.isDir() ? 1 : n.nlink, a.nlink(), p + " nlink");
            if (n.isDir()) {
                long expectSize = 0;
                for (DirEntry de : fs.list(id)) {
                    expectSize += 2L * de.rawName().length;
                }
                assertEquals(expectSize, a.size(), p + " directory size");
            }
            if (n.target != null) {
                assertArrayEquals(n.target, fs.readlink(id), p + " symlink target");
            } else {
                List<String> names = new ArrayList<>();
                for (byte[] x : fs.listxattr(id)) {
                    names.add(new String(x, StandardCharsets.UTF_8));
                }
                names.sort(null);
                assertEquals(new ArrayList<>(n.xattrs.keySet()), names, p + " xattr names");
                for (Map.Entry<String, byte[]> x : n.xattrs.entrySet()) {
                    assertArrayEquals(x.getValue(), fs.getxattr(id, x.getKey()), p + " xattr " + x.getKey());
                }
            }
        }
    }

    private void walk(Filesystem fs, InodeId dir, String path, Map<String, InodeId> out) throws Exception {
        out.put(path, dir);
        for (DirEntry e : fs.list(dir)) {
            String p = join(path, e.name());
            if (fs.getattr(e.target()).isDirectory()) {
                walk(fs, e.target(), p, out);
            } else {
                out.put(p, e.target());
            }
        }
    }

    /** The kernel mounts the image and lists the same paths, types, permissions, link counts and targets. */
    private void compareWithKernel(Path img) throws Exception {
        if (!KernelImages.unavailableReason().isEmpty()) {
            System.out.println("NamespaceModelTest: kernel comparison skipped: " + KernelImages.unavailableReason());
            return;
        }
        List<String> expect = new ArrayList<>();
        for (Map.Entry<String, Node> e : model.entrySet()) {
            if (e.getKey().isEmpty()) {
                continue;
            }
            Node n = e.getValue();
            char type = n.isDir() ? 'd' : n.target != null ? 'l' : (n.mode & Attr.S_IFMT) == Attr.S_IFIFO ? 'p' : 'f';
            String target = n.target != null ? new String(n.target, StandardCharsets.UTF_8) : "";
            expect.add(e.getKey() + "|" + type + "|" + Integer.toOctalString(n.perm) + "|" + (n.isDir() ? 1 : n.nlink)
                    + "|" + target);
        }
        expect.sort(null);
        try (KernelImages.LoopMount m = KernelImages.mount(img, tmp.resolve("mnt"), "ro")) {
            KernelImages.Result r = m.sh("cd " + m.dir() + " && find . -mindepth 1 -printf '%P|%y|%m|%n|%l\\n' | LC_ALL=C sort");
            List<String> got = new ArrayList<>(Arrays.asList(r.orFail().output().split("\n")));
            got.removeIf(String::isEmpty);
            got.sort(null);
            assertEquals(expect, got, "the kernel's view");
        }
        CheckAssertions.assertClean(img);
        // And back: the kernel changes the tree we wrote; our reader must see exactly its result.
        List<String> kernelView;
        try (KernelImages.LoopMount m = KernelImages.mount(img, tmp.resolve("mnt"), null)) {
            m.sh("cd " + m.dir() + " && mkdir -p kdir/sub && echo hi > kdir/f && ln -s f kdir/s && ln kdir/f kdir/h"
                    + " && for i in $(seq 1 300); do touch kdir/sub/n$i; done && rm -f kdir/sub/n7"
                    + " && (ls | head -n 5 | while read x; do mv \"$x\" \"kmoved-$x\"; done)"
                    + " && find . -mindepth 1 -maxdepth 1 -type f | head -n 3 | xargs -r rm -f").orFail();
            kernelView = listing(m.sh("cd " + m.dir() + " && find . -mindepth 1 -printf '%P|%y|%m|%n|%l\\n' | LC_ALL=C sort")
                    .orFail().output());
        }
        CheckAssertions.assertClean(img);
        List<String> ours = new ArrayList<>();
        try (Filesystem ro = Filesystem.open(img, OpenOptions.readOnlyDefaults())) {
            TreeMap<String, InodeId> seen = new TreeMap<>();
            walk(ro, ro.root(), "", seen);
            seen.remove("");
            for (Map.Entry<String, InodeId> e : seen.entrySet()) {
                Attr a = ro.getattr(e.getValue());
                int t = a.mode() & Attr.S_IFMT;
                char type = t == Attr.S_IFDIR ? 'd' : t == Attr.S_IFLNK ? 'l' : t == Attr.S_IFIFO ? 'p' : 'f';
                String target = a.isSymlink() ? new String(ro.readlink(e.getValue()), StandardCharsets.UTF_8) : "";
                ours.add(e.getKey() + "|" + type + "|" + Integer.toOctalString(a.mode() & 07777) + "|" + a.nlink() + "|" + target);
            }
        }
        ours.sort(null);
        assertEquals(kernelView, ours, "our view of what the kernel wrote");
    }

    private static List<String> listing(String out) {
        List<String> l = new ArrayList<>(Arrays.asList(out.split("\n")));
        l.removeIf(String::isEmpty);
        l.sort(null);
        return l;
    }

    @Test
    void manyHardLinksMoveToExtendedRefsAndBack() throws Exception {
        Assumptions.assumeTrue(CheckAssertions.haveBtrfsProgs(), "skipped: btrfs-progs is not installed");
        Path img = tmp.resolve("links.img");
        KernelImages.mkfs(img, 128L << 20, "-q", "-n", "4096");
        int links = 300;
        try (Filesystem fs = Filesystem.open(img, rw())) {
            InodeId d = fs.mkdir(fs.root(), "d", 0755, 0, 0);
            InodeId f = fs.create(d, "f", 0644, 0, 0);
            for (int i = 0; i < links; i++) {
                fs.link(f, d, b("link-with-a-long-name-to-fill-the-inode-ref-" + i));
            }
            assertEquals(links + 1, fs.getattr(f).nlink());
            fs.sync();
            for (int i = 0; i < links; i += 2) {
                fs.unlink(d, "link-with-a-long-name-to-fill-the-inode-ref-" + i);
            }
            assertEquals(links / 2 + 1, fs.getattr(f).nlink());
        }
        CheckAssertions.assertClean(img);
        try (Filesystem ro = Filesystem.open(img, OpenOptions.readOnlyDefaults())) {
            InodeId d = ro.resolve("/d");
            assertEquals(links / 2 + 1, ro.list(d).size());
            assertEquals(links / 2 + 1, ro.getattr(ro.resolve("/d/f")).nlink());
        }
    }

    @Test
    void anOpenInodeWithoutNamesIsAnOrphanUntilReleaseOrTheNextOpen() throws Exception {
        Assumptions.assumeTrue(CheckAssertions.haveBtrfsProgs(), "skipped: btrfs-progs is not installed");
        Path img = tmp.resolve("orphan.img");
        KernelImages.mkfs(img, 128L << 20, "-q");
        InodeId f;
        Filesystem fs = Filesystem.open(img, rw());
        f = fs.create(fs.root(), "gone", 0644, 0, 0);
        InodeId kept = fs.create(fs.root(), "kept", 0644, 0, 0);
        fs.setxattr(f, b("user.a"), b("v"), 0);
        fs.open(f);
        fs.unlink(fs.root(), "gone");
        assertEquals(0, fs.getattr(f).nlink(), "the open inode stays readable");
        fs.sync();
        // The process dies here: no release, no close. The committed image holds the orphan.
        fs.fsInfo().device().close();
        try (Filesystem ro = Filesystem.open(img, OpenOptions.readOnlyDefaults())) {
            assertEquals(0, ro.getattr(f).nlink(), "committed with its orphan item");
        }
        try (Filesystem again = Filesystem.open(img, rw())) {
            expectErrno(Errno.ENOENT, () -> again.getattr(f));
            assertEquals(1, again.getattr(kept).nlink());
        }
        CheckAssertions.assertClean(img);

        try (Filesystem fs2 = Filesystem.open(img, rw())) {
            InodeId g = fs2.create(fs2.root(), "g", 0644, 0, 0);
            fs2.open(g);
            fs2.unlink(fs2.root(), "g");
            fs2.release(g);
            fs2.runDelayedIputs(); // the cleaner evicts it; wait for that
            expectErrno(Errno.ENOENT, () -> fs2.getattr(g));
        }
        CheckAssertions.assertClean(img);
    }

    @Test
    void refusalsLeaveTheImageUntouched() throws Exception {
        Assumptions.assumeTrue(CheckAssertions.haveBtrfsProgs(), "skipped: btrfs-progs is not installed");
        Path img = tmp.resolve("refuse.img");
        KernelImages.mkfs(img, 128L << 20, "-q");
        try (Filesystem fs = Filesystem.open(img, rw())) {
            InodeId root = fs.root();
            InodeId d = fs.mkdir(root, "d", 0755, 0, 0);
            InodeId f = fs.create(d, "f", 0644, 0, 0);
            expectErrno(Errno.EEXIST, () -> fs.create(d, "f", 0644, 0, 0));
            expectErrno(Errno.ENOTEMPTY, () -> fs.rmdir(root, b("d")));
            expectErrno(Errno.ENOTDIR, () -> fs.rmdir(d, b("f")));
            expectErrno(Errno.EISDIR, () -> fs.unlink(root, "d"));
            expectErrno(Errno.ENOENT, () -> fs.unlink(root, "nothing"));
            expectErrno(Errno.EPERM, () -> fs.link(d, root, b("dirlink")));
            expectErrno(Errno.ENAMETOOLONG, () -> fs.create(root, "n".repeat(256), 0644, 0, 0));
            expectErrno(Errno.EINVAL, () -> fs.rename(root, b("d"), d, b("inside"), 0));
            expectErrno(Errno.ENOTDIR, () -> fs.create(f, "x", 0644, 0, 0));
            expectErrno(Errno.ENODATA, () -> fs.removexattr(f, b("user.none")));
            expectErrno(Errno.EEXIST, () -> {
                fs.setxattr(f, b("user.x"), b("1"), 0);
                fs.setxattr(f, b("user.x"), b("2"), Namespace.XATTR_CREATE);
            });
            expectErrno(Errno.ENODATA, () -> fs.setxattr(f, b("user.y"), b("2"), Namespace.XATTR_REPLACE));
            expectErrno(Errno.ENAMETOOLONG, () -> fs.symlink(root, b("s"), new byte[5000], 0, 0));
            // Bad arguments are refused like any other request, before anything changed: no abort.
            expectErrno(Errno.EINVAL, () -> fs.mknod(root, b("badtype"), 0170000 | 0644, 0, 0, 0));
            assertThrows(IndexOutOfBoundsException.class, () -> fs.write(f, 0, new byte[10], 5, 10));
            expectErrno(Errno.EISDIR, () -> fs.write(d, 0, new byte[1], 0, 1));
            assertTrue(fs.isWritable(), "refusals must not abort the transaction");
            assertArrayEquals(b("1"), fs.getxattr(f, "user.x"));
        }
        CheckAssertions.assertClean(img);
    }
}
