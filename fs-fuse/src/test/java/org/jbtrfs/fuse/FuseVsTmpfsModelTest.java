package org.jbtrfs.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.UserDefinedFileAttributeView;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.zip.CRC32C;
import org.jbtrfs.check.CheckAssertions;
import org.jbtrfs.testing.KernelImages;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The same random operations on a jbtrfs mount and on a tmpfs directory (/dev/shm), through the
 * kernel's VFS on both sides: after every operation the outcomes (success or the error's kind)
 * must agree, after every round the two trees (types, modes, sizes, contents, link counts, targets,
 * user xattrs) must be equal, and between rounds the image is unmounted, checked and mounted again.
 * Prints the seed.
 */
class FuseVsTmpfsModelTest {
    @TempDir
    Path tmp;

    private Random rnd;

    @Test
    void randomOperationsMatchTmpfsAcrossRemounts() throws Exception {
        FuseTesting.assumeFuse();
        Path shm = Path.of("/dev/shm");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isDirectory(shm), "skipped: no /dev/shm tmpfs");
        long seed = Long.getLong("jbtrfs.seed", System.nanoTime());
        System.out.println("FuseVsTmpfsModelTest: seed=" + seed + " (replay with -Djbtrfs.seed=" + seed + ")");
        rnd = new Random(seed);
        Path img = FuseTesting.mkfs(tmp.resolve("model.img"), 256L << 20);
        Path model = Files.createTempDirectory(shm, "jbtrfs-model-");
        Path mnt = tmp.resolve("mnt");
        int rounds = Integer.getInteger("jbtrfs.fuse.rounds", 3);
        int ops = 0;
        try {
            for (int round = 0; round < rounds; round++) {
                try (FuseMount m = FuseTesting.mount(img, mnt)) {
                    Path fuseRoot = mnt.resolve("t");
                    Files.createDirectories(fuseRoot);
                    for (int i = 0; i < 250; i++, ops++) {
                        String a = step(fuseRoot, model, seed * 1000 + ops);
                        assertEquals(a.split("\\|")[1], a.split("\\|")[2], "seed " + seed + " op " + ops + " " + a.split("\\|")[0]
                                + ": outcome on jbtrfs vs tmpfs");
                    }
                    assertEquals(describe(model), describe(fuseRoot), "seed " + seed + " round " + round + ": the trees");
                }
                CheckAssertions.assertClean(img);
            }
        } finally {
            KernelImages.run(java.time.Duration.ofSeconds(60), "rm", "-rf", model.toString());
        }
        System.out.println("FuseVsTmpfsModelTest: " + ops + " operations in " + rounds + " mounts agreed");
    }

    /** One random operation on both roots with the same choices; returns "what|outcome on fuse|outcome on tmpfs". */
    private String step(Path fuse, Path model, long opSeed) {
        List<String> existing = list(model);
        int op = rnd.nextInt(100);
        // Never the root itself: on an empty tree the operations name a path that does not exist.
        String a = existing.isEmpty() ? "missing" : existing.get(rnd.nextInt(existing.size()));
        String b = existing.isEmpty() ? "missing2" : existing.get(rnd.nextInt(existing.size()));
        String dir = existing.isEmpty() || rnd.nextBoolean() ? "" : parentDirOf(existing.get(rnd.nextInt(existing.size())), model);
        String fresh = (dir.isEmpty() ? "" : dir + "/") + "n" + rnd.nextInt(40);
        byte[] data = new byte[rnd.nextInt(4) == 0 ? rnd.nextInt(300_000) : rnd.nextInt(5000)];
        new Random(opSeed).nextBytes(data);
        long pos = rnd.nextInt(3) == 0 ? rnd.nextInt(200_000) : 0;
        long size = rnd.nextInt(250_000);
        int perm = rnd.nextInt(0777) | 0700;
        String what;
        Op f;
        if (op < 20) {
            what = "write " + fresh + " @" + pos + " +" + data.length;
            f = r -> write(r.resolve(fresh), pos, data);
        } else if (op < 30) {
            what = "overwrite " + a + " @" + pos + " +" + data.length;
            f = r -> write(r.resolve(a), pos, data);
        } else if (op < 37) {
            what = "mkdir " + fresh;
            f = r -> Files.createDirectory(r.resolve(fresh));
        } else if (op < 42) {
            what = "symlink " + fresh;
            f = r -> Files.createSymbolicLink(r.resolve(fresh), Path.of("target-" + opSeed % 7));
        } else if (op < 48) {
            what = "link " + a + " " + fresh;
            f = r -> Files.createLink(r.resolve(fresh), r.resolve(a));
        } else if (op < 58) {
            what = "delete " + a;
            f = r -> Files.delete(r.resolve(a));
        } else if (op < 68) {
            what = "rename " + a + " " + fresh;
            f = r -> Files.move(r.resolve(a), r.resolve(fresh), StandardCopyOption.REPLACE_EXISTING);
        } else if (op < 72) {
            what = "rename " + a + " over " + b;
            f = r -> Files.move(r.resolve(a), r.resolve(b), StandardCopyOption.REPLACE_EXISTING);
        } else if (op < 80) {
            what = "truncate " + a + " " + size;
            f = r -> {
                if (Files.isDirectory(r.resolve(a), LinkOption.NOFOLLOW_LINKS)) {
                    throw new FileSystemException(a, null, "Is a directory");
                }
                try (java.io.RandomAccessFile raf = new java.io.RandomAccessFile(r.resolve(a).toFile(), "rw")) {
                    raf.setLength(size); // ftruncate(2): shrinks or grows
                }
            };
        } else if (op < 86) {
            what = "chmod " + a + " " + Integer.toOctalString(perm);
            f = r -> {
                if (!Files.isSymbolicLink(r.resolve(a))) {
                    Files.setPosixFilePermissions(r.resolve(a), perms(perm));
                }
            };
        } else if (op < 94) {
            String key = "k" + rnd.nextInt(4);
            byte[] v = new byte[rnd.nextInt(3000)];
            boolean remove = rnd.nextInt(3) == 0;
            what = (remove ? "removexattr " : "setxattr ") + a + " " + key;
            f = r -> {
                Path p = r.resolve(a);
                if (Files.isSymbolicLink(p)) {
                    return;
                }
                UserDefinedFileAttributeView x = Files.getFileAttributeView(p, UserDefinedFileAttributeView.class);
                if (remove) {
                    x.delete(key);
                } else {
                    x.write(key, ByteBuffer.wrap(v));
                }
            };
        } else {
            what = "rmdir " + a;
            f = r -> {
                if (Files.isDirectory(r.resolve(a), LinkOption.NOFOLLOW_LINKS)) {
                    Files.delete(r.resolve(a));
                }
            };
        }
        return what + "|" + outcome(f, fuse) + "|" + outcome(f, model);
    }

    private interface Op {
        void run(Path root) throws IOException;
    }

    private static String outcome(Op op, Path root) {
        try {
            op.run(root);
            return "ok";
        } catch (FileSystemException e) {
            return e.getClass().getSimpleName() + (e.getReason() != null ? ": " + e.getReason() : "");
        } catch (IOException e) {
            // e.g. RandomAccessFile's FileNotFoundException: the message names the path, which differs by root
            String m = String.valueOf(e.getMessage()).replace(root.toString(), "<root>");
            return e.getClass().getSimpleName() + ": " + m;
        }
    }

    private static void write(Path p, long pos, byte[] data) throws IOException {
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            ByteBuffer bb = ByteBuffer.wrap(data);
            long at = pos;
            while (bb.hasRemaining()) {
                at += ch.write(bb, at);
            }
        }
    }

    private static java.util.Set<PosixFilePermission> perms(int mode) {
        java.util.Set<PosixFilePermission> s = java.util.EnumSet.noneOf(PosixFilePermission.class);
        PosixFilePermission[] all = PosixFilePermission.values(); // OWNER_READ .. OTHERS_EXECUTE: bits 8..0
        for (int i = 0; i < 9; i++) {
            if ((mode & (1 << (8 - i))) != 0) {
                s.add(all[i]);
            }
        }
        return s;
    }

    /** Every path below {@code root} (relative), sorted. */
    private static List<String> list(Path root) {
        List<String> out = new ArrayList<>();
        try (var s = Files.walk(root)) {
            s.filter(p -> !p.equals(root)).forEach(p -> out.add(root.relativize(p).toString()));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        out.sort(null);
        return out;
    }

    private static String parentDirOf(String rel, Path root) {
        Path p = root.resolve(rel);
        if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
            return rel;
        }
        Path parent = Path.of(rel).getParent();
        return parent == null ? "" : parent.toString();
    }

    /** Path → type, permissions, size, link count, content CRC or target, user xattrs. */
    static Map<String, String> describe(Path root) throws IOException {
        Map<String, String> out = new TreeMap<>();
        for (String rel : list(root)) {
            Path p = root.resolve(rel);
            Map<String, Object> a = Files.readAttributes(p, "unix:mode,size,nlink", LinkOption.NOFOLLOW_LINKS);
            int mode = (Integer) a.get("mode");
            StringBuilder sb = new StringBuilder(Integer.toOctalString(mode));
            if (Files.isSymbolicLink(p)) {
                sb.append(" -> ").append(Files.readSymbolicLink(p));
            } else if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                CRC32C c = new CRC32C();
                c.update(Files.readAllBytes(p));
                sb.append(" size ").append(a.get("size")).append(" nlink ").append(a.get("nlink")).append(" crc ")
                        .append(Long.toHexString(c.getValue()));
            }
            if (!Files.isSymbolicLink(p)) {
                UserDefinedFileAttributeView x = Files.getFileAttributeView(p, UserDefinedFileAttributeView.class);
                for (String n : new java.util.TreeSet<>(x.list())) {
                    ByteBuffer v = ByteBuffer.allocate(x.size(n));
                    x.read(n, v);
                    CRC32C c = new CRC32C();
                    c.update(v.array());
                    sb.append(" x:").append(n).append('=').append(Long.toHexString(c.getValue()));
                }
            }
            out.put(rel, sb.toString());
        }
        return out;
    }
}
