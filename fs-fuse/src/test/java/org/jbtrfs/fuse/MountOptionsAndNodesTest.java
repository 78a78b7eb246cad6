package org.jbtrfs.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.jbtrfs.Errno;
import org.jbtrfs.FsException;
import org.jbtrfs.InodeId;
import org.jbtrfs.fuse.protocol.MountFlags;
import org.junit.jupiter.api.Test;

/** Mount option parsing and the node id table, without a mount. */
class MountOptionsAndNodesTest {
    @Test
    void optionsSortIntoFlagsKernelOptionsAndTimeouts() {
        MountOptions o = MountOptions.parse(List.of("ro,nosuid,nodev,noatime,allow_other,defaults,commit=5",
                "attr_timeout=0.5,entry_timeout=2,negative_timeout=0,compress=zstd,x-systemd.automount,cache_size=256m"));
        assertTrue(o.readOnly());
        assertEquals(MountFlags.MS_RDONLY | MountFlags.MS_NOSUID | MountFlags.MS_NODEV | MountFlags.MS_NOATIME, o.mountFlags());
        assertEquals(List.of("default_permissions", "allow_other"), o.kernelOptions());
        assertEquals(5, o.commitSeconds());
        assertEquals(256L << 20, o.cacheBytes());
        assertEquals(new JbtrfsFuse.Timeouts(2, 0.5, 0), o.timeouts());
        assertEquals(List.of("compress=zstd"), o.ignored());
        // Later options win, as mount(8) reads them: rw after ro, suid after nosuid.
        MountOptions back = MountOptions.parse(List.of("ro,nosuid", "rw,suid"));
        assertEquals(0, back.mountFlags());
        assertTrue(!back.readOnly());
        assertEquals(JbtrfsFuse.Timeouts.DEFAULT, back.timeouts());
        assertEquals(org.jbtrfs.OpenOptions.DEFAULT_CACHE_LIMIT_BYTES, back.cacheBytes());
    }

    @Test
    void badOptionsAreUsageErrors() {
        for (String bad : List.of("no_such_option", "commit=0", "commit=x", "attr_timeout=-1", "entry_timeout=abc",
                "cache_size=0", "cache_size=100k", "cache_size=lots")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MountOptions.parse(List.of(bad)), bad);
            assertTrue(e.getMessage().contains(bad), e.getMessage());
        }
    }

    @Test
    void nodeIdsCountLookupsAndAreNeverReused() throws Exception {
        InodeId root = new InodeId(5, 256);
        NodeTable t = new NodeTable(root);
        assertEquals(root, t.inode(1));
        InodeId a = new InodeId(5, 257);
        long na = t.remember(a);
        assertEquals(na, t.remember(a), "one node per inode");
        assertNotEquals(1, na);
        t.forget(na, 1);
        assertEquals(a, t.inode(na), "one lookup left");
        t.forget(na, 1);
        FsException gone = assertThrows(FsException.class, () -> t.inode(na));
        assertEquals(Errno.ESTALE, gone.errno());
        long again = t.remember(a);
        assertNotEquals(na, again, "a forgotten node id is never handed out again");
        t.forget(1, 1_000);
        assertEquals(root, t.inode(1), "the root is never forgotten");
        assertEquals(2, t.size());
        // Same inode number in another subvolume: another node.
        assertNotEquals(again, t.remember(new InodeId(256, 257)));
    }
}
