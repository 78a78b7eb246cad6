package org.jbtrfs.check;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.jbtrfs.OpenOptions;
import org.jbtrfs.ctree.ExtentBuffer;
import org.jbtrfs.ctree.TreeBlockReader;
import org.jbtrfs.ctree.TreeRoot;
import org.jbtrfs.device.MemoryBlockDevice;
import org.jbtrfs.disk.FsInfo;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.Header;
import org.jbtrfs.format.ItemType;
import org.jbtrfs.format.ObjectIds;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The checker's promise under random damage: whatever a tree block holds (bytes changed with the
 * checksum recomputed, so the damage gets past the reader to the checks), {@link Checker#run()}
 * returns a report and throws nothing. Seeded; {@code -Djbtrfs.check.fuzz.seed=S} replays a run.
 */
class DamageFuzzTest {
    private static final int CASES = Integer.getInteger("jbtrfs.check.fuzz.cases", 400);
    /** No new case starts after this; keeps the class well under its share of a minute. */
    private static final long BUDGET_MS = Long.getLong("jbtrfs.check.fuzz.budgetMs", 5_000);

    @TempDir
    static Path tmp;
    private static byte[] pristine;
    /** Physical copies of every tree block of the image. */
    private static List<long[]> blocks;
    private static int nodesize;
    private static org.jbtrfs.format.CsumType csum;

    @BeforeAll
    static void image() throws Exception {
        TestImages.assumeMkfs();
        Path img = TestImages.rootdirImage(tmp.resolve("fuzz.img"), TestImages.hostTree(tmp.resolve("src")),
                TestImages.ROOTDIR_IMAGE_BYTES, "-n", "4096");
        pristine = Files.readAllBytes(img);
        blocks = new ArrayList<>();
        try (FsInfo fs = FsInfo.open(new MemoryBlockDevice(pristine, true), OpenOptions.readOnlyDefaults())) {
            nodesize = fs.nodesize();
            csum = fs.csumType();
            List<TreeRoot> roots = new ArrayList<>(List.of(fs.rootTree(), fs.chunkTree()));
            fs.btree().scan(fs.rootTree(), DiskKey.MIN, DiskKey.MAX, (k, b, o, l) -> {
                if (k.type() == ItemType.ROOT_ITEM && k.objectid() != ObjectIds.TREE_RELOC) {
                    roots.add(fs.requireTreeRoot(k.objectid()));
                }
                return true;
            });
            for (TreeRoot r : roots) {
                ExtentBuffer eb = fs.btree().readRoot(r);
                try {
                    collect(fs, eb);
                } finally {
                    eb.release();
                }
            }
        }
    }

    private static void collect(FsInfo fs, ExtentBuffer eb) throws IOException {
        blocks.add(fs.chunkMap().map(eb.bytenr(), eb.length()));
        for (int s = 0; !eb.isLeaf() && s < eb.nritems(); s++) {
            ExtentBuffer c = fs.btree().reader().read(eb.blockptr(s), TreeBlockReader.Expect.level(eb.level() - 1));
            try {
                collect(fs, c);
            } finally {
                c.release();
            }
        }
    }

    @Test
    void damageNeverEscapesAsAnException() throws Exception {
        long seed = Long.getLong("jbtrfs.check.fuzz.seed", System.nanoTime());
        System.out.println("DamageFuzzTest: seed " + seed + " (replay with -Djbtrfs.check.fuzz.seed=" + seed + "), "
                + blocks.size() + " tree blocks");
        long t0 = System.nanoTime();
        int run = 0;
        int opened = 0;
        long problems = 0;
        // One working copy, damaged and restored per case: copying 256 MiB per case would dominate.
        byte[] img = pristine.clone();
        for (int c = 0; c < CASES && (System.nanoTime() - t0) / 1_000_000 < BUDGET_MS; c++) {
            Random rnd = new Random(seed * 31 + c);
            long[] touched = blocks.get(rnd.nextInt(blocks.size()));
            String what = damage(img, touched, rnd);
            run++;
            FsInfo fs;
            try {
                fs = FsInfo.open(new MemoryBlockDevice(img, true), OpenOptions.readOnlyDefaults());
            } catch (IOException e) {
                restore(img, touched);
                continue; // the chunk tree or root tree does not open: not the checker's business
            }
            opened++;
            try (fs) {
                CheckReport r = new Checker(fs, new CheckOptions(rnd.nextBoolean(), 50)).run();
                problems += r.problemsFound();
            } catch (Throwable e) {
                fail("case " + c + " (seed " + seed + "): " + what + ": the checker threw " + e + "\n"
                        + String.join("\n", Arrays.stream(e.getStackTrace()).limit(12).map(String::valueOf).toList()));
            }
            restore(img, touched);
        }
        assertTrue(Arrays.equals(img, pristine), "a case was not undone");
        System.out.printf("DamageFuzzTest: %d cases (%d opened) in %d ms, %d problems found%n", run, opened,
                (System.nanoTime() - t0) / 1_000_000, problems);
        assertTrue(opened > 0, "no damaged image even opened");
    }

    /** Changes 1 to 8 bytes of one tree block's item area (or header fields) on every copy. */
    private static void restore(byte[] img, long[] phys) {
        for (long p : phys) {
            System.arraycopy(pristine, (int) p, img, (int) p, nodesize);
        }
    }

    private static String damage(byte[] img, long[] phys, Random rnd) {
        byte[] b = Arrays.copyOfRange(img, (int) phys[0], (int) phys[0] + nodesize);
        int n = 1 + rnd.nextInt(8);
        StringBuilder what = new StringBuilder("block at physical " + phys[0] + ", bytes");
        for (int i = 0; i < n; i++) {
            int at = rnd.nextInt(4) == 0 ? Header.OFF_GENERATION + rnd.nextInt(Header.SIZE - Header.OFF_GENERATION)
                    : Header.SIZE + rnd.nextInt(nodesize - Header.SIZE);
            b[at] = rnd.nextInt(3) == 0 ? (byte) (b[at] ^ (1 << rnd.nextInt(8))) : (byte) rnd.nextInt(256);
            what.append(' ').append(at);
        }
        Header.updateCsum(b, csum);
        for (long p : phys) {
            System.arraycopy(b, 0, img, (int) p, nodesize);
        }
        return what.toString();
    }
}
