package org.jbtrfs.tools.inspect;

import static org.jbtrfs.tools.inspect.InspectTestSupport.assertSameDump;
import static org.jbtrfs.tools.inspect.InspectTestSupport.exec;
import static org.jbtrfs.tools.inspect.InspectTestSupport.jbtrfs;
import static org.jbtrfs.tools.inspect.InspectTestSupport.superLines;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jbtrfs.OpenOptions;
import org.jbtrfs.device.FileBlockDevice;
import org.jbtrfs.disk.FsInfo;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Our dumps against btrfs-progs' on an image that mkfs.btrfs --rootdir filled from a directory:
 * no root and no kernel needed, so this runs wherever btrfs-progs is installed. Also where a
 * damaged tree is handled: everything readable printed, one error line, exit 1.
 */
class RootdirImageDumpTest {
    @TempDir
    static Path dir;
    private static Path image;

    @BeforeAll
    static void makeImage() throws IOException {
        Assumptions.assumeTrue(InspectTestSupport.haveProgs(), "skipped: needs btrfs-progs");
        Path src = dir.resolve("src");
        Files.createDirectories(src.resolve("sub/deep"));
        Files.writeString(src.resolve("small"), "hi\n");
        byte[] big = new byte[200_000];
        new Random(42).nextBytes(big);
        Files.write(src.resolve("big"), big);
        Files.createSymbolicLink(src.resolve("link"), Path.of("small"));
        Files.createLink(src.resolve("sub/hard"), src.resolve("small"));
        for (int i = 0; i < 400; i++) { // enough items for a two-level fs tree
            Files.writeString(src.resolve("sub/deep/f" + i), i + "\n");
        }
        try (FileChannel ch = FileChannel.open(src.resolve("sparse"), StandardOpenOption.CREATE_NEW,
                StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap("end".getBytes(StandardCharsets.US_ASCII)), 1 << 20);
        }
        image = dir.resolve("r.img");
        exec(List.of("truncate", "-s", "256M", image.toString()), true);
        exec(List.of("mkfs.btrfs", "-f", "-q", "-r", src.toString(), image.toString()), true);
    }

    private static String progs(String... args) throws IOException {
        List<String> cmd = new java.util.ArrayList<>(List.of("btrfs", "inspect-internal"));
        cmd.addAll(List.of(args));
        return exec(cmd, true).out();
    }

    @Test
    void dumpTreeMatchesProgs() throws IOException {
        InspectTestSupport.Run r = jbtrfs("inspect", "dump-tree", image.toString());
        assertEquals(0, r.exit(), r.err());
        String p = progs("dump-tree", image.toString());
        assertTrue(assertSameDump(p, r.out()) > 1000);
        assertEquals(p.substring(p.indexOf('\n')), r.out().substring(r.out().indexOf('\n')));
        assertTrue(r.out().contains("\nnode "), "the fs tree should have a node level");
    }

    @Test
    void dumpSuperMatchesProgs() throws IOException {
        InspectTestSupport.Run r = jbtrfs("inspect", "dump-super", "--full", image.toString());
        assertEquals(0, r.exit(), r.err());
        assertEquals(superLines(progs("dump-super", "-f", image.toString())), superLines(r.out()));
    }

    /** Each checksum type: dump-super names it as progs does; csum items and header csums print alike. */
    @ParameterizedTest
    @ValueSource(strings = {"crc32c", "xxhash", "sha256", "blake2"})
    void everyChecksumTypeDumpsLikeProgs(String csum) throws IOException {
        Path img = dir.resolve(csum + ".img");
        exec(List.of("truncate", "-s", "256M", img.toString()), true);
        exec(List.of("mkfs.btrfs", "-f", "-q", "--csum", csum, "-r", dir.resolve("src").toString(), img.toString()), true);
        InspectTestSupport.Run s = jbtrfs("inspect", "dump-super", "-f", img.toString());
        assertEquals(0, s.exit(), s.err());
        assertEquals(superLines(progs("dump-super", "-f", img.toString())), superLines(s.out()));
        InspectTestSupport.Run t = jbtrfs("inspect", "dump-tree", "--csum-items", "--csum-headers", img.toString());
        assertEquals(0, t.exit(), t.err());
        String p = progs("dump-tree", "--csum-items", "--csum-headers", img.toString());
        assertEquals(p.substring(p.indexOf('\n')), t.out().substring(t.out().indexOf('\n')));
        assertTrue(t.out().contains("] 0x") && t.out().contains(" csum 0x"), "checksums are printed");
    }

    @Test
    void treeNamesAreAcceptedInEveryProgsSpelling() {
        String fs = jbtrfs("inspect", "dump-tree", "-t", "5", image.toString()).out();
        assertTrue(fs.contains("fs tree key (FS_TREE ROOT_ITEM 0)"));
        for (String name : List.of("fs", "FS", "FS_TREE", "btrfs_fs_tree_objectid", "fs_tree")) {
            InspectTestSupport.Run r = jbtrfs("inspect", "dump-tree", "-t", name, image.toString());
            assertEquals(0, r.exit(), name + ": " + r.err());
            assertEquals(fs, r.out(), name);
        }
    }

    /**
     * Overwrites both copies of one fs tree leaf: the dump must still show every other block, then
     * fail with one line naming the block.
     */
    @Test
    void damagedLeafIsSkippedAndReported() throws IOException {
        Path damaged = dir.resolve("damaged.img");
        Files.copy(image, damaged, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        String before = jbtrfs("inspect", "dump-tree", "-t", "fs", damaged.toString()).out();
        Matcher m = Pattern.compile("\\tkey \\([^)]*\\) block (\\d+) gen").matcher(before);
        assertTrue(m.find() && m.find(), "the fs tree should have at least two leaves");
        long leaf = Long.parseLong(m.group(1));
        try (FsInfo fs = FsInfo.open(FileBlockDevice.open(damaged, true), OpenOptions.readOnlyDefaults());
                FileChannel ch = FileChannel.open(damaged, StandardOpenOption.WRITE)) {
            for (long physical : fs.chunkMap().map(leaf, fs.nodesize())) {
                ch.write(ByteBuffer.wrap(new byte[] {1, 2, 3, 4}), physical + 200);
            }
        }
        InspectTestSupport.Run r = jbtrfs("inspect", "dump-tree", damaged.toString());
        assertEquals(1, r.exit());
        assertEquals(1, r.err().lines().count(), r.err());
        assertTrue(r.err().startsWith("jbtrfs: ") && r.err().contains("block " + leaf) && r.err().contains("checksum"),
                r.err());
        assertFalse(r.out().contains("leaf " + leaf + " "), "the damaged leaf is not printed");
        InspectTestSupport.Tree fsTree = InspectTestSupport.parseDump(r.out()).get("fs tree key (FS_TREE ROOT_ITEM 0)");
        InspectTestSupport.Tree whole = InspectTestSupport.parseDump(before).get("fs tree key (FS_TREE ROOT_ITEM 0)");
        assertTrue(fsTree.items().size() > 0 && fsTree.items().size() < whole.items().size(),
                "the other leaves of the fs tree are printed");
        assertTrue(r.out().contains("checksum tree key (CSUM_TREE ROOT_ITEM 0)") && r.out().contains("\ntotal bytes "),
                "the trees after the damaged one are printed");
        assertEquals(1, jbtrfs("inspect", "dump-tree", "-b", Long.toString(leaf), damaged.toString()).exit());
    }

    @Test
    void unknownTreeIdOfAValidImageFails() {
        InspectTestSupport.Run r = jbtrfs("inspect", "dump-tree", "-t", "9999", image.toString());
        assertEquals(1, r.exit());
        assertEquals("jbtrfs: " + image + ": no tree 9999 (the root tree has no ROOT_ITEM for it)", r.err().strip());
        assertEquals("", r.out());
    }
}
