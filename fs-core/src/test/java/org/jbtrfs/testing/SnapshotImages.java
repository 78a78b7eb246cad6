package org.jbtrfs.testing;

import java.nio.file.Path;

/**
 * Kernel-made images with a subvolume and a snapshot that share tree blocks in every way btrfs
 * shares them, for tests of snapshot-aware COW and of snapshot deletion.
 *
 * <p>{@code sv}: {@code files} small files in {@code sv/d} (inline extents), eight 2 MiB files
 * {@code sv/big1..8}, a hard link {@code sv/hard1}. With a snapshot: {@code snap} of sv, then snap
 * changes inodes of the first half of the tree ({@code d/f10}, and {@code d/f100} gets 1 MiB of
 * its own), sv changes inodes of the second half ({@code big2}, {@code d/f20000}) — so with more
 * than ~20,000 files (over 493 leaves: level-2 trees) snap holds level-1 nodes the kernel made
 * FULL_BACKREF (owned by sv, referenced by snap only) above leaves shared with sv.
 */
public final class SnapshotImages {
    /** Files for level-2 trees with FULL_BACKREF nodes in the snapshot. */
    public static final int LEVEL2_FILES = 24000;

    private SnapshotImages() {
    }

    /** Builds a 512 MiB image (skips the calling test where kernel images cannot be made). */
    public static Path build(Path img, int files, boolean withSnapshot) throws Exception {
        return build(img, files, withSnapshot, 512L << 20);
    }

    /** Builds the image, {@code sizeBytes} large. */
    public static Path build(Path img, int files, boolean withSnapshot, long sizeBytes) throws Exception {
        KernelImages.assumeAvailable();
        String script = "btrfs -q subvolume create sv && mkdir sv/d\n"
                + "i=0; while [ $i -lt " + files + " ]; do echo \"file $i\" > sv/d/f$i; i=$((i+1)); done\n"
                + "for j in 1 2 3 4 5 6 7 8; do head -c 2M /dev/urandom > sv/big$j; done\n"
                + "ln sv/d/f1 sv/hard1\n"
                + "sync\n";
        if (withSnapshot) {
            script += "btrfs -q subvolume snapshot sv snap\n"
                    + "echo changed > snap/d/f10\n"
                    + "head -c 1M /dev/urandom > snap/d/f100\n"
                    + "dd if=/dev/urandom of=sv/big2 bs=4K count=10 conv=notrunc 2>/dev/null\n"
                    + "echo more > sv/d/f20000\n"
                    + "sync\n";
        }
        String s = script;
        KernelImages.build(img, sizeBytes, null, m -> m.sh(s));
        return img;
    }

    /**
     * The kernel's md5sums of every regular file under sv and snap, one line each, mounted
     * read-only: a read with atime would COW (and un-share) the trees under test.
     */
    public static String content(Path img, Path mnt) throws Exception {
        try (KernelImages.LoopMount m = KernelImages.mount(img, mnt, "ro")) {
            return m.sh("find sv snap -type f 2>/dev/null | sort | xargs -r md5sum").output();
        }
    }
}
