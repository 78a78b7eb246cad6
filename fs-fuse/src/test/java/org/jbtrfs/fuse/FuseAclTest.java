package org.jbtrfs.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.jbtrfs.check.CheckAssertions;
import org.jbtrfs.testing.KernelImages;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * POSIX ACLs through the mount, against the kernel's btrfs: the same setfacl/chmod/create script
 * runs on a jbtrfs mount and on a kernel mount of a fresh image, and both show the same ACLs and
 * modes (default ACL inheritance, the umask only without one, mask and mode in step, an ACL equal
 * to a mode not stored). The kernel enforces what we store: a named user may read what the mode
 * alone forbids. The kernel then mounts our image and sees the same ACLs.
 */
class FuseAclTest {
    /** What both filesystems run, as root, in the mount's top directory. */
    private static final String SCRIPT = String.join("\n",
            "set -e",
            "umask 022",
            "mkdir d && setfacl -m u:65534:rwx d && setfacl -d -m u:65534:r-x,g::r-x,o::--- d",
            "touch d/f && mkdir d/sub && mknod d/fifo p && ln -s f d/link",
            "echo secret > own && chmod 600 own && setfacl -m u:65534:r own",
            "touch plain && setfacl -m u::rw,g::r,o::r plain",   // equivalent to a mode: not stored
            "touch masked && setfacl -m u:65533:rw,g::r masked && chmod 604 masked",
            "umask 077 && touch d/under-default && touch outside",
            "setfacl -k d/sub",
            "for f in d d/f d/sub d/fifo d/under-default own plain masked outside; do",
            "  echo \"== $f $(stat -c %a $f)\"; getfacl -n -p -c $f 2>/dev/null | grep -v '^$'",
            "done",
            "echo \"== link $(stat -c %a d/link)\"");

    @TempDir
    Path tmp;

    @Test
    void aclsBehaveAsOnTheKernelsBtrfs() throws Exception {
        FuseTesting.assumeFuse();
        Assumptions.assumeTrue(KernelImages.which("setfacl") != null, "skipped: no setfacl (install acl)");
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path kernelImg = tmp.resolve("kernel.img");
        KernelImages.mkfs(kernelImg, 256L << 20);
        String expected;
        try (KernelImages.LoopMount k = KernelImages.mount(kernelImg, Files.createDirectories(tmp.resolve("k")), "")) {
            expected = FuseTesting.shOk(k.dir(), SCRIPT).output();
        }
        Path img = FuseTesting.mkfs(tmp.resolve("acl.img"), 256L << 20);
        Path mnt = tmp.resolve("mnt");
        try (FuseMount m = FuseTesting.mount(img, mnt, "allow_other")) {
            Files.setPosixFilePermissions(mnt, PosixFilePermissions.fromString("rwxr-xr-x"));
            String ours = FuseTesting.shOk(mnt, SCRIPT).output();
            assertEquals(expected, ours, "ACLs and modes as the kernel's btrfs has them");
            assertTrue(ours.contains("user:65534:r-x"), ours); // the script did set ACLs
            // The kernel enforces our ACLs: nobody reads a 0600 file through its named entry, 65533 may not.
            assertEquals("secret\n", FuseTesting.asUser(65534, mnt, "cat own").orFail().output());
            KernelImages.Result denied = FuseTesting.asUser(65533, mnt, "cat own");
            assertTrue(!denied.ok() && denied.output().contains("Permission denied"), denied.output());
            // d's named entry (rwx) lets nobody create in it although its mode gives others r-x.
            FuseTesting.asUser(65534, mnt, "echo hi > d/by-nobody").orFail();
        }
        CheckAssertions.assertClean(img);
        try (KernelImages.LoopMount k = KernelImages.mount(img, Files.createDirectories(tmp.resolve("k2")), "")) {
            String seen = FuseTesting.shOk(k.dir(), "getfacl -n -p -c own d | grep -v '^$'").output();
            assertTrue(seen.contains("user:65534:r--") && seen.contains("default:user:65534:r-x"), seen);
        }
    }

}
