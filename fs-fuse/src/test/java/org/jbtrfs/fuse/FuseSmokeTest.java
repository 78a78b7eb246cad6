package org.jbtrfs.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FuseSmokeTest {
    @TempDir
    Path tmp;

    @Test
    void mountWriteReadUnmount() throws Exception {
        FuseTesting.assumeFuse();
        Path img = FuseTesting.mkfs(tmp.resolve("a.img"), 256L << 20);
        Path mnt = tmp.resolve("mnt");
        try (FuseMount m = FuseTesting.mount(img, mnt)) {
            assertTrue(MountInfo.isJbtrfsMount(mnt), MountInfo.at(mnt).toString());
            Files.writeString(mnt.resolve("hello.txt"), "hello");
            assertEquals("hello", Files.readString(mnt.resolve("hello.txt")));
            System.out.println(FuseTesting.shOk(mnt, "ls -lai; df .; mkdir d; echo x > d/y; ls -la d; stat d/y").output());
        }
        assertTrue(!MountInfo.isJbtrfsMount(mnt));
        org.jbtrfs.check.CheckAssertions.assertClean(img);
    }
}
