package org.jbtrfs.tools.inspect;

import static org.jbtrfs.tools.inspect.InspectTestSupport.assertSameDump;
import static org.jbtrfs.tools.inspect.InspectTestSupport.exec;
import static org.jbtrfs.tools.inspect.InspectTestSupport.jbtrfs;
import static org.jbtrfs.tools.inspect.InspectTestSupport.sh;
import static org.jbtrfs.tools.inspect.InspectTestSupport.superLines;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Our dump-tree and dump-super against btrfs-progs' on an image the Linux kernel wrote: made by
 * mkfs.btrfs, loop-mounted with compress=zstd, filled with every kind of thing a dump has to show
 * (inline, compressed, regular, prealloc and sparse extents, symlinks, hard links up to extrefs,
 * xattrs, special files, a subvolume with snapshots, reflinks up to keyed and shared backrefs,
 * quotas), and unmounted. Needs root and loop devices; skipped otherwise.
 */
class KernelImageDumpTest {
    private static Path dir;
    private static Path image;

    /** Shell that fills the mounted filesystem at $1; every command must succeed. */
    private static final String POPULATE = String.join("\n",
            "cd \"$1\"",
            "mkdir -p d1/d2",
            "echo hello > d1/small.txt",
            "head -c 300000 /dev/urandom > d1/rand.bin",
            "yes abcdefgh | head -c 500000 > d1/compressible.txt",
            "ln -s d1/small.txt link",
            "ln d1/small.txt hard1",
            "ln d1/small.txt d1/d2/hard2",
            "setfattr -n user.test -v value1 d1/small.txt",
            "setfattr -n user.other -v 0x00ff00ff d1",
            "truncate -s 10M sparse.bin",
            "dd if=/dev/urandom of=sparse.bin bs=4k count=2 seek=100 conv=notrunc 2>/dev/null",
            "fallocate -l 1M falloc.bin",
            "dd if=/dev/urandom of=falloc.bin bs=4k count=1 seek=10 conv=notrunc 2>/dev/null",
            "mkfifo fifo",
            "mknod chr c 1 3",
            "btrfs quota enable .",
            "btrfs subvolume create sub >/dev/null",
            "btrfs qgroup limit 100M sub",
            "head -c 1000000 /dev/urandom > sub/big",
            "for i in $(seq 1 40); do cp --reflink=always sub/big sub/ref$i; done",
            "mkdir sub/links; touch sub/links/target",
            "long=$(printf 'n%.0s' $(seq 1 200))",
            "for i in $(seq 1 90); do ln sub/links/target sub/links/${long}_$i; done",
            "for i in $(seq 1 300); do echo $i > sub/f$i; done",
            "btrfs subvolume snapshot sub snap >/dev/null",
            "btrfs subvolume snapshot -r sub rosnap >/dev/null",
            "for i in $(seq 1 50); do echo changed >> snap/f$i; done",
            // The owner COWing leaves it shares with snapshots turns them FULL_BACKREF, and the
            // data they point to gets shared data backrefs.
            "for i in 1 20 40; do echo changed >> sub/ref$i; done",
            "echo changed >> sub/big",
            "sync");

    @BeforeAll
    static void makeImage() throws IOException {
        Assumptions.assumeTrue(InspectTestSupport.canLoopMount() && InspectTestSupport.haveProgs(),
                "skipped: needs root and loop devices");
        dir = Files.createTempDirectory("jbtrfs-inspect-kernel");
        image = dir.resolve("k.img");
        Path mnt = Files.createDirectories(dir.resolve("mnt"));
        sh("truncate -s 512M '" + image + "' && mkfs.btrfs -f -q '" + image + "'");
        sh("mount -o loop,compress=zstd '" + image + "' '" + mnt + "'");
        try {
            exec(List.of("sh", "-ec", POPULATE, "populate", mnt.toString()), true);
        } finally {
            if (exec(List.of("umount", mnt.toString()), false).exit() != 0) {
                exec(List.of("umount", "-l", mnt.toString()), false);
            }
        }
    }

    @AfterAll
    static void cleanUp() throws IOException {
        if (dir != null) {
            sh("rm -rf '" + dir + "'");
        }
    }

    private static String progs(String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("btrfs", "inspect-internal"));
        cmd.addAll(List.of(args));
        return exec(cmd, true).out();
    }

    private static String ours(String... args) {
        List<String> cmd = new ArrayList<>(List.of("inspect"));
        cmd.addAll(List.of(args));
        InspectTestSupport.Run r = jbtrfs(cmd.toArray(String[]::new));
        assertEquals(0, r.exit(), "jbtrfs " + cmd + " failed: " + r.err());
        assertEquals("", r.err());
        return r.out();
    }

    @Test
    void dumpTreeMatchesProgs() throws IOException {
        String p = progs("dump-tree", image.toString());
        String o = ours("dump-tree", image.toString());
        int items = assertSameDump(p, o);
        Map<String, InspectTestSupport.Tree> trees = InspectTestSupport.parseDump(o);
        assertTrue(trees.keySet().containsAll(List.of("root tree", "chunk tree", "quota tree key (QUOTA_TREE ROOT_ITEM 0)",
                "file tree key (256 ROOT_ITEM 0)")), trees.keySet().toString());
        for (String type : List.of("INODE_EXTREF", "EXTENT_DATA_REF", "QGROUP_LIMIT", "UUID_KEY_SUBVOL",
                "PERSISTENT_ITEM", "XATTR_ITEM", "EXTENT_CSUM", "FREE_SPACE_EXTENT")) {
            assertTrue(o.contains(" " + type + " "), "the image should have a " + type + " item");
        }
        for (String field : List.of("shared data backref", "FULL_BACKREF", "compression 3 (zstd)", "type 2 (prealloc)", "extent data backref root", "type SYMLINK",
                "type FIFO", "type CHRDEV", "flags 0x1(RDONLY)")) {
            assertTrue(o.contains(field), "the dump should show " + field);
        }
        assertTrue(items > 1000, "compared " + items + " items");
        // Beyond what the brief requires: today the whole listing is identical but for the version line.
        assertEquals(p.substring(p.indexOf('\n')), o.substring(o.indexOf('\n')));
    }

    @Test
    void depthFirstMatchesProgs() throws IOException {
        assertSameDump(progs("dump-tree", "--dfs", image.toString()), ours("dump-tree", "--dfs", image.toString()));
    }

    @ParameterizedTest
    @ValueSource(strings = {"root", "chunk", "extent", "dev", "fs", "csum", "quota", "uuid", "FREE_SPACE_TREE", "256",
        "258"})
    void oneTreeMatchesProgs(String tree) throws IOException {
        String p = progs("dump-tree", "-t", tree, image.toString());
        String o = ours("dump-tree", "-t", tree, image.toString());
        assertSameDump(p, o);
        assertEquals(p.substring(p.indexOf('\n')), o.substring(o.indexOf('\n')));
    }

    @Test
    void oneBlockMatchesProgs() throws IOException {
        String root = progs("dump-super", image.toString()).lines().filter(l -> l.startsWith("root\t"))
                .findFirst().orElseThrow().replaceAll("\\D", "");
        String p = progs("dump-tree", "-b", root, image.toString());
        String o = ours("dump-tree", "-b", root, image.toString());
        assertEquals(p.substring(p.indexOf('\n')), o.substring(o.indexOf('\n')));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "-f", "-a", "-a -f", "-s 1"})
    void dumpSuperMatchesProgs(String options) throws IOException {
        List<String> args = new ArrayList<>(List.of("dump-super"));
        if (!options.isEmpty()) {
            args.addAll(List.of(options.split(" ")));
        }
        args.add(image.toString());
        assertEquals(superLines(progs(args.toArray(String[]::new))), superLines(ours(args.toArray(String[]::new))));
    }
}
