package org.jbtrfs.extent;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.jbtrfs.Filesystem;
import org.jbtrfs.InodeId;
import org.jbtrfs.OpenOptions;
import org.jbtrfs.check.CheckAssertions;
import org.jbtrfs.testing.KernelImages;
import org.jbtrfs.testing.SnapshotImages;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Snapshot-aware COW (update_ref_for_cow): our engine changes files on both sides of a kernel-made
 * snapshot — in leaves shared and owned by the source, under nodes the kernel made FULL_BACKREF,
 * in blocks left FULL_BACKREF by a deleted source — and the references stay exact: our check and
 * btrfs check find nothing, the kernel reads our changes and the untouched files as they were.
 */
class SharedBlocksCowTest {
    @TempDir
    Path tmp;

    private static final byte[] NEW = "ours\n".getBytes(StandardCharsets.UTF_8);

    private static Filesystem openRw(Path img) throws Exception {
        return Filesystem.open(img, new OpenOptions(false, OpenOptions.DEFAULT_CACHE_LIMIT_BYTES, true));
    }

    private static InodeId path(Filesystem fs, String p) throws Exception {
        return fs.resolve("/" + p);
    }

    /** Writes {@link #NEW} over the small files, 64 KiB of random data into the middle of the big ones. */
    private static void change(Filesystem fs, List<String> small, List<String> big) throws Exception {
        byte[] chunk = new byte[64 << 10];
        new Random(3).nextBytes(chunk);
        for (String p : small) {
            InodeId f = path(fs, p);
            fs.setattr(f, new org.jbtrfs.SetAttr(null, null, null, 0L, null, null, null));
            fs.write(f, 0, NEW, 0, NEW.length);
        }
        for (String p : big) {
            fs.write(path(fs, p), 512 << 10, chunk, 0, chunk.length);
        }
    }

    /** Lines of {@code before} for files not in {@code touched}. */
    private static List<String> untouched(String content, Set<String> touched) {
        return content.lines().filter(l -> !touched.contains(l.substring(l.indexOf("  ") + 2))).toList();
    }

    private static void assertKernelSees(Path img, Path mnt, String before, Set<String> touched, List<String> small)
            throws Exception {
        String after = SnapshotImages.content(img, mnt);
        assertEquals(untouched(before, touched), untouched(after, touched), "untouched files as the kernel wrote them");
        try (KernelImages.LoopMount m = KernelImages.mount(img, mnt, "ro")) {
            for (String p : small) {
                assertEquals("ours", m.sh("cat " + p).output().strip(), p);
            }
        }
    }

    @Test
    void changesOnBothSidesOfASnapshot() throws Exception {
        Path img = SnapshotImages.build(tmp.resolve("both.img"), SnapshotImages.LEVEL2_FILES, true);
        String before = SnapshotImages.content(img, tmp.resolve("m0"));
        // First half: leaves shared by sv's node and snap's own copy; second half: leaves under the
        // FULL_BACKREF node snap holds and sv's copy of it.
        List<String> small = List.of("sv/d/f5", "sv/d/f15000", "snap/d/f6", "snap/d/f16000", "sv/d/f16001", "snap/d/f7");
        List<String> big = List.of("sv/big3", "snap/big4", "snap/big2");
        try (Filesystem fs = openRw(img)) {
            change(fs, small, big);
            fs.unlink(path(fs, "sv/d"), "f8");
            fs.sync();
            change(fs, List.of("snap/d/f9", "sv/d/f9"), List.of()); // a second transaction over the same leaves
        }
        CheckAssertions.assertClean(img);
        Set<String> touched = new java.util.HashSet<>(small);
        touched.addAll(big);
        touched.addAll(List.of("sv/d/f8", "snap/d/f9", "sv/d/f9"));
        assertKernelSees(img, tmp.resolve("m1"), before, touched, small);
    }

    @Test
    void changesInASnapshotWhoseSourceWasDeleted() throws Exception {
        Path img = SnapshotImages.build(tmp.resolve("orphaned.img"), SnapshotImages.LEVEL2_FILES, true);
        String before = SnapshotImages.content(img, tmp.resolve("m0"));
        List<String> small = List.of("snap/d/f10", "snap/d/f16000", "snap/d/f23000", "snap/hard1");
        List<String> big = List.of("snap/big5", "snap/big2");
        try (Filesystem fs = openRw(img)) {
            fs.deleteSubvolume(fs.root(), "sv".getBytes(StandardCharsets.UTF_8));
            fs.sync();
            assertEquals(1, fs.cleanDeadRoots(Long.MAX_VALUE));
            fs.sync();
            // Blocks sv owned and snap alone holds now are FULL_BACKREF with one reference.
            change(fs, small, big);
        }
        CheckAssertions.assertClean(img);
        Set<String> touched = new java.util.HashSet<>(small);
        touched.addAll(big);
        touched.add("snap/d/f1");
        String beforeSnap = before.lines().filter(l -> l.contains(" snap/")).reduce("", (a, b) -> a + b + "\n");
        assertKernelSees(img, tmp.resolve("m1"), beforeSnap, touched, small);
    }
}
