package org.jbtrfs.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import jnr.ffi.LibraryLoader;
import jnr.ffi.annotations.SaveError;
import org.jbtrfs.check.CheckAssertions;
import org.jbtrfs.testing.KernelImages;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the /dev/fuse frontend makes possible beyond the old path API: renameat2 flags, lseek
 * SEEK_DATA/SEEK_HOLE, fstat of an unlinked open file, attribute caching that stays right across
 * hard links, and the kernel's permission checks for users other than root (default_permissions,
 * sticky directories). Each mount is unmounted and checked after.
 */
class FuseProtocolTest {
    /** The libc calls Java has no API for. */
    public interface Libc {
        @SaveError
        int open(String path, int flags, int mode);

        @SaveError
        long lseek(int fd, long offset, int whence);

        int close(int fd);

        @SaveError
        int renameat2(int olddirfd, String oldpath, int newdirfd, String newpath, int flags);
    }

    private static final int AT_FDCWD = -100;
    private static final int RENAME_NOREPLACE = 1;
    private static final int RENAME_EXCHANGE = 2;
    private static final int SEEK_DATA = 3;
    private static final int SEEK_HOLE = 4;
    private static final int ENXIO = 6;
    private static final int EEXIST = 17;
    private static final int ENOENT = 2;

    private static final Libc LIBC = LibraryLoader.create(Libc.class).load("c");

    @TempDir
    Path tmp;

    private static int errno() {
        return jnr.ffi.Runtime.getRuntime(LIBC).getLastError();
    }

    @Test
    void renameat2NoReplaceAndExchange() throws Exception {
        FuseTesting.assumeFuse();
        Path img = FuseTesting.mkfs(tmp.resolve("rename.img"), 256L << 20);
        Path mnt = tmp.resolve("mnt");
        try (FuseMount m = FuseTesting.mount(img, mnt)) {
            Path a = Files.writeString(mnt.resolve("a"), "alpha");
            Path d = Files.createDirectory(mnt.resolve("d"));
            Path b = Files.writeString(d.resolve("b"), "beta");
            assertEquals(-1, LIBC.renameat2(AT_FDCWD, a.toString(), AT_FDCWD, b.toString(), RENAME_NOREPLACE));
            assertEquals(EEXIST, errno(), "RENAME_NOREPLACE onto an existing name");
            assertEquals("beta", Files.readString(b), "the target was not replaced");
            assertEquals(0, LIBC.renameat2(AT_FDCWD, a.toString(), AT_FDCWD, b.toString(), RENAME_EXCHANGE), "exchange");
            assertEquals("beta", Files.readString(a));
            assertEquals("alpha", Files.readString(b));
            assertEquals(-1, LIBC.renameat2(AT_FDCWD, a.toString(), AT_FDCWD, mnt.resolve("none").toString(), RENAME_EXCHANGE));
            assertEquals(ENOENT, errno(), "RENAME_EXCHANGE needs both names");
            // A directory and a file exchanged: each parent's link counts stay right.
            Path sub = Files.createDirectory(mnt.resolve("sub"));
            assertEquals(0, LIBC.renameat2(AT_FDCWD, sub.toString(), AT_FDCWD, b.toString(), RENAME_EXCHANGE));
            assertTrue(Files.isDirectory(b) && Files.isRegularFile(sub));
            assertEquals(0, LIBC.renameat2(AT_FDCWD, a.toString(), AT_FDCWD, mnt.resolve("c").toString(), RENAME_NOREPLACE));
            assertEquals("beta", Files.readString(mnt.resolve("c")));
        }
        CheckAssertions.assertClean(img);
    }

    @Test
    void seekDataAndHole() throws Exception {
        FuseTesting.assumeFuse();
        Path img = FuseTesting.mkfs(tmp.resolve("seek.img"), 256L << 20);
        Path mnt = tmp.resolve("mnt");
        try (FuseMount m = FuseTesting.mount(img, mnt)) {
            Path f = mnt.resolve("sparse");
            // data at [64K, 128K) and [1M, 1M + 4K), size 2M: holes before, between and after.
            FuseTesting.shOk(mnt, "dd if=/dev/urandom of=sparse bs=64K seek=1 count=1 status=none conv=notrunc;"
                    + " dd if=/dev/urandom of=sparse bs=4K seek=256 count=1 status=none conv=notrunc;"
                    + " truncate -s 2M sparse");
            int fd = LIBC.open(f.toString(), 0, 0);
            assertTrue(fd >= 0);
            try {
                assertEquals(64 << 10, LIBC.lseek(fd, 0, SEEK_DATA));
                assertEquals(0, LIBC.lseek(fd, 0, SEEK_HOLE));
                assertEquals(70 << 10, LIBC.lseek(fd, 70 << 10, SEEK_DATA), "inside data: the offset itself");
                assertEquals(128 << 10, LIBC.lseek(fd, 70 << 10, SEEK_HOLE));
                assertEquals(1 << 20, LIBC.lseek(fd, 128 << 10, SEEK_DATA));
                assertEquals((1 << 20) + 4096, LIBC.lseek(fd, 1 << 20, SEEK_HOLE));
                assertEquals(-1, LIBC.lseek(fd, (1 << 20) + 4096, SEEK_DATA), "no data after the last extent");
                assertEquals(ENXIO, errno());
                assertEquals(-1, LIBC.lseek(fd, 2 << 20, SEEK_HOLE), "at EOF");
                assertEquals(ENXIO, errno());
            } finally {
                LIBC.close(fd);
            }
            // cp --sparse=auto finds the holes through SEEK_DATA/SEEK_HOLE: the copy allocates only the data.
            String blocks = FuseTesting.shOk(mnt, "cp sparse copy && cmp sparse copy && stat -c %b copy").output().strip();
            assertTrue(Long.parseLong(blocks) <= 2 * (64 + 4 + 8), "the copy stays sparse: " + blocks + " blocks");
        }
        CheckAssertions.assertClean(img);
    }

    @Test
    void unlinkedOpenFileAndHardLinksThroughTheCache() throws Exception {
        FuseTesting.assumeFuse();
        Path img = FuseTesting.mkfs(tmp.resolve("attrs.img"), 256L << 20);
        Path mnt = tmp.resolve("mnt");
        try (FuseMount m = FuseTesting.mount(img, mnt)) {
            // fstat of an unlinked open file: the kernel asks by node id, which outlives the name.
            String st = FuseTesting.shOk(mnt, "exec 3<>doomed; printf 12345 >&3; rm doomed;"
                    + " stat -L -c '%s %h' /proc/self/fd/3; exec 3>&-").output().strip();
            assertEquals("5 0", st, "size 5 and no links, through the open descriptor");
            // Hard links share one node: what changes through one name shows through the other at once.
            String links = FuseTesting.shOk(mnt, "echo a > one; stat -c %h one; ln one two; stat -c '%h %s' one;"
                    + " echo longer >> two; stat -c '%h %s' one; rm two; stat -c %h one").output();
            assertEquals("1\n2 2\n2 9\n1\n", links);
            assertEquals(2, Files.readAllLines(mnt.resolve("one")).size());
        }
        CheckAssertions.assertClean(img);
    }

    @Test
    void permissionsOfOtherUsersAndTheStickyBit() throws Exception {
        FuseTesting.assumeFuse();
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path img = FuseTesting.mkfs(tmp.resolve("perm.img"), 256L << 20);
        Path mnt = tmp.resolve("mnt");
        try (FuseMount m = FuseTesting.mount(img, mnt, "allow_other")) {
            Files.setPosixFilePermissions(mnt, PosixFilePermissions.fromString("rwxr-xr-x"));
            FuseTesting.shOk(mnt, "mkdir -m 1777 shared; mkdir -m 0700 private; echo secret > private/f;"
                    + " echo mine > rootfile; chmod 0644 rootfile");
            // nobody creates in the sticky directory; another user may not remove or rename its file.
            FuseTesting.asUser(65534, mnt, "echo hers > shared/nobodys && chmod 0666 shared/nobodys").orFail();
            assertEquals("65534", FuseTesting.shOk(mnt, "stat -c %u shared/nobodys").output().strip(),
                    "a new file belongs to the caller");
            assertDenied(FuseTesting.asUser(65533, mnt, "rm -f shared/nobodys"), "Operation not permitted");
            assertDenied(FuseTesting.asUser(65533, mnt, "mv shared/nobodys shared/taken"), "Operation not permitted");
            assertEquals("anyone\n", FuseTesting.asUser(65533, mnt, "echo anyone > shared/nobodys && cat shared/nobodys").orFail().output(),
                    "writing a mode-0666 file is allowed");
            assertDenied(FuseTesting.asUser(65534, mnt, "ls private"), "Permission denied");
            assertDenied(FuseTesting.asUser(65534, mnt, "cat private/f"), "Permission denied");
            assertDenied(FuseTesting.asUser(65534, mnt, "echo x > rootfile"), "Permission denied");
            assertDenied(FuseTesting.asUser(65534, mnt, "touch newfile"), "Permission denied");
            assertDenied(FuseTesting.asUser(65534, mnt, "chmod 777 rootfile"), "Operation not permitted");
            assertDenied(FuseTesting.asUser(65534, mnt, "chown 65534 rootfile"), "Operation not permitted");
            FuseTesting.asUser(65534, mnt, "rm shared/nobodys").orFail(); // the owner may
            assertTrue(Files.notExists(mnt.resolve("shared/nobodys")));
        }
        CheckAssertions.assertClean(img);
    }

    /**
     * Subvolumes through one FUSE mount (one st_dev): inode numbers stay unique across them (the
     * mount's own subvolume keeps the kernel's numbers), so find sees no directory cycle, tar sees
     * no false hard links, and rm -rf removes nested subvolumes (rmdir of an empty one deletes it).
     */
    @Test
    void subvolumesHaveTheirOwnInodeNumbersAndRmRfRemovesThem() throws Exception {
        FuseTesting.assumeFuse();
        Path img = tmp.resolve("subvol.img");
        KernelImages.build(img, 256L << 20, null, k -> k.sh("btrfs -q subvolume create s1 && mkdir s1/d && echo hi > s1/d/f"
                + " && btrfs -q subvolume create s1/s2 && echo in-s2 > s1/s2/f && echo x > top && ls -i top > top.ino"));
        Path mnt = tmp.resolve("mnt");
        try (FuseMount m = FuseTesting.mount(img, mnt)) {
            String dup = FuseTesting.shOk(mnt, "find . -printf '%i\\n' | sort | uniq -d").output();
            assertEquals("", dup, "no inode number twice");
            assertEquals(FuseTesting.shOk(mnt, "cat top.ino").output(), FuseTesting.shOk(mnt, "ls -i top").output(),
                    "the mount's own subvolume keeps the kernel's inode numbers");
            String tar = FuseTesting.shOk(mnt, "tar cf - s1 | tar tvf - | grep -c ' link to ' || true").output().strip();
            assertEquals("0", tar, "tar sees no hard links between s1/d/f and s1/s2/f");
            FuseTesting.shOk(mnt, "rm -rf s1 && test ! -e s1");
        }
        CheckAssertions.assertClean(img);
        try (KernelImages.LoopMount k = KernelImages.mount(img, Files.createDirectories(tmp.resolve("k")), null)) {
            k.sh("test ! -e s1 && test -f top && test -z \"$(btrfs subvolume list .)\"");
        }
    }


    private static void assertDenied(KernelImages.Result r, String reason) {
        assertTrue(!r.ok() && r.output().contains(reason), "expected '" + reason + "', got: " + r.output());
    }
}
