package org.jbtrfs.fuse;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.UserDefinedFileAttributeView;
import java.util.Random;
import org.jbtrfs.check.CheckAssertions;
import org.jbtrfs.testing.KernelImages;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** POSIX behaviour seen through the mount: open-after-unlink, errno values, setgid dirs, xattr sizes, ENOSPC. */
class FuseSemanticsTest {
    @TempDir
    Path tmp;

    @Test
    void unlinkedOpenFileLivesUntilClosed() throws Exception {
        FuseTesting.assumeFuse();
        Path img = FuseTesting.mkfs(tmp.resolve("orphan.img"), 256L << 20);
        Path mnt = tmp.resolve("mnt");
        byte[] data = new byte[300_000];
        new Random(5).nextBytes(data);
        FuseMount m = FuseTesting.mount(img, mnt);
        try (m) {
            Path f = mnt.resolve("doomed");
            Files.write(f, data);
            try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                Files.delete(f);
                assertFalse(Files.exists(f), "the name is gone at once (hard_remove)");
                assertEquals(0, FuseTesting.shOk(mnt, "ls -A | wc -l").output().strip().chars().filter(c -> c != '0').count(),
                        "no .fuse_hidden file either");
                ByteBuffer back = ByteBuffer.allocate(data.length);
                while (back.hasRemaining() && ch.read(back, back.position()) > 0) {
                    // read the whole file through the descriptor
                }
                assertArrayEquals(data, back.array(), "read through the fd after unlink");
                // fstat is not tried: the kernel asks libfuse2 by path, which an unlinked file no longer has
                ch.write(ByteBuffer.wrap(new byte[] {1, 2, 3}), data.length);
                ByteBuffer tail = ByteBuffer.allocate(4);
                assertEquals(3, ch.read(tail, data.length), "write and read back through the fd after unlink");
                assertArrayEquals(new byte[] {1, 2, 3, 0}, tail.array());
            }
            // The kernel sends RELEASE after close(2) returns; the unmount below waits for it.
        }
        assertEquals(0, m.adapter().openHandles(), "every handle released by the time of the unmount");
        CheckAssertions.assertClean(img); // the orphan was removed at release: nothing leaked
    }

    @Test
    void errnoValuesAndOwnership() throws Exception {
        FuseTesting.assumeFuse();
        Path img = FuseTesting.mkfs(tmp.resolve("errno.img"), 256L << 20);
        Path mnt = tmp.resolve("mnt");
        try (FuseMount m = FuseTesting.mount(img, mnt)) {
            Path dir = Files.createDirectory(mnt.resolve("dir"));
            Path file = Files.writeString(dir.resolve("file"), "x");
            assertThrows(FileAlreadyExistsException.class, () -> Files.createDirectory(dir));
            assertThrows(DirectoryNotEmptyException.class, () -> Files.delete(dir));
            Path other = Files.createDirectory(mnt.resolve("other"));
            Files.writeString(other.resolve("inside"), "y");
            Path empty = Files.createDirectory(mnt.resolve("empty"));
            assertThrows(DirectoryNotEmptyException.class, () -> Files.move(empty, other, StandardCopyOption.REPLACE_EXISTING));
            assertReason("Not a directory", assertThrows(FileSystemException.class, () -> Files.createFile(file.resolve("x"))));
            assertReason("File name too long", assertThrows(FileSystemException.class,
                    () -> Files.createFile(mnt.resolve("n".repeat(256)))));
            Files.createFile(mnt.resolve("n".repeat(255)));
            assertTrue(Files.exists(mnt.resolve("n".repeat(255))));
            assertShellError(mnt, "cat dir", "Is a directory");
            assertShellError(mnt, "rmdir dir/file", "Not a directory");
            assertShellError(mnt, "mkdir dir", "File exists");
            assertShellError(mnt, "rmdir dir", "Directory not empty");
            assertShellError(mnt, "ln dir dir2", "hard link not allowed for directory");
            assertShellError(mnt, "cat missing", "No such file or directory");

            // setgid directory: new inodes take its group, new directories keep the bit (inode_init_owner)
            FuseTesting.shOk(mnt, "mkdir sg && chown 0:1234 sg && chmod 2775 sg && touch sg/f && mkdir sg/sub && mkdir plain");
            assertEquals("1234 100644\n1234 42755\n0 40755\n",
                    FuseTesting.shOk(mnt, "stat -c '%g %f' sg/f sg/sub plain").output()
                            .replace("81a4", "100644").replace("45ed", "42755").replace("41ed", "40755"));

            // hard links: nlink exact; xattr size probing with a 10,000-byte value
            FuseTesting.shOk(mnt, "echo data > a && ln a b && ln a c && rm b");
            assertEquals("2", FuseTesting.shOk(mnt, "stat -c %h a").output().strip());
            UserDefinedFileAttributeView xv = Files.getFileAttributeView(mnt.resolve("a"), UserDefinedFileAttributeView.class);
            byte[] big = new byte[10_000];
            new Random(7).nextBytes(big);
            xv.write("blob", ByteBuffer.wrap(big));
            assertEquals(big.length, xv.size("blob"));
            ByteBuffer got = ByteBuffer.allocate(big.length);
            xv.read("blob", got);
            assertArrayEquals(big, got.array());
            assertTrue(xv.list().contains("blob"));
            KernelImages.Result small = FuseTesting.sh(mnt, "getfattr --only-values -n user.missing a");
            assertFalse(small.ok());
            assertTrue(small.output().contains("No such attribute"), small.describe());
        }
        CheckAssertions.assertClean(img);
    }

    @Test
    void enospcThenDeleteAndWriteAgain() throws Exception {
        FuseTesting.assumeFuse();
        KernelImages.assumeAvailable();
        Path img = FuseTesting.mkfs(tmp.resolve("full.img"), 128L << 20);
        Path mnt = tmp.resolve("mnt");
        FuseTesting.shOk(tmp, "head -c 24M /dev/urandom > again.bin");
        try (FuseMount m = FuseTesting.mount(img, mnt)) {
            FuseTesting.shOk(mnt, "mkdir keep && seq 1 20000 > keep/numbers");
            KernelImages.Result dd = FuseTesting.sh(mnt, "dd if=/dev/zero of=fill bs=1M status=none");
            assertFalse(dd.ok(), "dd filled 128 MiB without ENOSPC: " + dd.describe());
            assertTrue(dd.output().contains("No space left on device"), dd.describe());
            long filled = Files.size(mnt.resolve("fill"));
            // mkfs gives 128 MiB about 48 MiB of data room (metadata DUP and system chunks take the rest)
            assertTrue(filled > 32L << 20, "only " + filled + " bytes fit in 128 MiB");
            FuseTesting.shOk(mnt, "rm fill && cp ../again.bin again.bin && cmp ../again.bin again.bin");
            System.out.println("FuseSemanticsTest: " + (filled >> 20) + " MiB written until ENOSPC on a 128 MiB image");
        }
        CheckAssertions.assertClean(img);
        Path kdir = Files.createDirectories(tmp.resolve("kernel"));
        try (KernelImages.LoopMount k = KernelImages.mount(img, kdir, "ro")) {
            k.sh("cmp " + tmp.resolve("again.bin") + " again.bin && seq 1 20000 | cmp - keep/numbers && test ! -e fill");
        }
    }

    @Test
    void fallocateModesThroughTheMount() throws Exception {
        FuseTesting.assumeFuse();
        KernelImages.assumeAvailable();
        Path img = FuseTesting.mkfs(tmp.resolve("falloc.img"), 256L << 20);
        Path mnt = tmp.resolve("mnt");
        try (FuseMount m = FuseTesting.mount(img, mnt)) {
            // Allocate (size grows, blocks allocated, reads zeros), keep-size, zero-range, punch.
            FuseTesting.shOk(mnt, "fallocate -l 4M a && test $(stat -c %s a) = 4194304 && test $(stat -c %b a) -ge 8192"
                    + " && cmp a /dev/zero -n 4194304"
                    + " && head -c 1M /dev/urandom > b && fallocate -n -o 1M -l 3M b && test $(stat -c %s b) = 1048576"
                    + " && head -c 2M /dev/urandom > c && fallocate -z -o 4096 -l 8192 c"
                    + " && cmp -n 8192 -i 4096:0 c /dev/zero && fallocate -p -o 0 -l 4096 c && cmp -n 4096 c /dev/zero");
        }
        CheckAssertions.assertClean(img);
        Path kdir = Files.createDirectories(tmp.resolve("kernel"));
        try (KernelImages.LoopMount k = KernelImages.mount(img, kdir, "ro")) {
            k.sh("test $(stat -c %s a) = 4194304 && cmp a /dev/zero -n 4194304 && test $(stat -c %s b) = 1048576"
                    + " && cmp -n 12288 c /dev/zero").orFail();
        }
    }

    @Test
    void mountRemountReadOnlyReachesTheDaemon() throws Exception {
        FuseTesting.assumeFuse();
        KernelImages.assumeAvailable();
        Path img = FuseTesting.mkfs(tmp.resolve("remount.img"), 256L << 20);
        Path mnt = tmp.resolve("mnt");
        try (FuseMount m = FuseTesting.mount(img, mnt)) {
            FuseTesting.shOk(mnt, "seq 1 50000 > before && mkdir d");
            FuseTesting.shOk(tmp, "mount -i -o remount,ro " + mnt); // -i: no helper installed in the test
            assertTrue(MountInfo.await(java.time.Duration.ofSeconds(30), () -> m.remountsFollowed() >= 1),
                    "the daemon followed the remount to read-only");
            assertTrue(m.adapter().filesystem().isReadOnly());
            // Committed on the remount: the image itself holds the file now, while still mounted.
            try (org.jbtrfs.Filesystem view = org.jbtrfs.Filesystem.open(img, org.jbtrfs.OpenOptions.readOnlyDefaults())) {
                assertEquals(Files.size(mnt.resolve("before")), view.getattr(view.resolve("/before")).size());
            }
            assertShellError(mnt, "touch d/x", "Read-only file system");
            FuseTesting.shOk(tmp, "mount -i -o remount,rw " + mnt);
            assertTrue(MountInfo.await(java.time.Duration.ofSeconds(30), () -> m.remountsFollowed() >= 2),
                    "the daemon followed the remount to read-write");
            FuseTesting.shOk(mnt, "seq 1 1000 > d/after");
        }
        CheckAssertions.assertClean(img);
        Path kdir = Files.createDirectories(tmp.resolve("kernel"));
        try (KernelImages.LoopMount k = KernelImages.mount(img, kdir, "ro")) {
            k.sh("seq 1 50000 | cmp - before && seq 1 1000 | cmp - d/after").orFail();
        }
    }

    private static void assertReason(String expect, FileSystemException e) {
        assertTrue(String.valueOf(e.getReason()).contains(expect), "expected '" + expect + "', got " + e);
    }

    private static void assertShellError(Path dir, String cmd, String expect) {
        KernelImages.Result r = FuseTesting.sh(dir, cmd);
        assertFalse(r.ok(), cmd + " succeeded");
        assertTrue(r.output().contains(expect), "expected '" + expect + "' from " + r.describe());
    }
}
