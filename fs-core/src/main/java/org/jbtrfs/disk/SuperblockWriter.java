package org.jbtrfs.disk;

import java.io.IOException;
import org.jbtrfs.device.BlockDevice;
import org.jbtrfs.format.RootBackup;
import org.jbtrfs.format.Superblock;

/**
 * The commit point (write_all_supers and backup_super_roots in disk-io.c): flush everything the
 * commit wrote, then write every superblock copy that fits on the device with its own bytenr and
 * checksum, then flush again. Until the first superblock write completes, the image is still at
 * its previous commit; after the final flush it is at the new one. A crash in between leaves
 * copies of either generation, each valid on its own, and the loader takes the newest valid copy.
 */
public final class SuperblockWriter {
    private SuperblockWriter() {
    }

    /** What a commit changes in the superblock. Tree roots: (bytenr, level, generation). */
    public record Roots(long generation, long rootTree, int rootLevel, long chunkRoot, int chunkRootLevel,
            long chunkRootGeneration, long bytesUsed, RootBackup backup) {
    }

    /** Fills the new generation's fields into a copy of {@code current} and returns it. */
    public static Superblock next(Superblock current, Roots r) {
        Superblock sb = current.copy();
        sb.setGeneration(r.generation());
        sb.setRoot(r.rootTree());
        sb.setRootLevel(r.rootLevel());
        sb.setChunkRoot(r.chunkRoot());
        sb.setChunkRootLevel(r.chunkRootLevel());
        sb.setChunkRootGeneration(r.chunkRootGeneration());
        sb.setBytesUsed(r.bytesUsed());
        sb.setLogRoot(0);
        if (r.backup() != null) {
            // The slot mkfs.btrfs and the kernel end up using for a generation: (generation - 1) mod 4.
            sb.setBackupRoot((int) ((r.generation() - 1) % Superblock.NUM_BACKUP_ROOTS), r.backup());
        }
        return sb;
    }

    /**
     * Flush, write all copies, flush. A copy is written where it fits the filesystem's device
     * (dev_item.total_bytes), not merely the file or device it lives on: a filesystem smaller than
     * its image has no copy past its end (write_dev_supers in disk-io.c stops at the same limit).
     */
    public static void writeAll(BlockDevice dev, Superblock sb) throws IOException {
        dev.flush();
        long size = Math.min(dev.size(), sb.devItem().totalBytes());
        for (long off : Superblock.MIRROR_OFFSETS) {
            if (off + Superblock.SIZE > size) {
                break;
            }
            Superblock copy = sb.copy();
            copy.setBytenr(off);
            copy.updateCsum();
            assert validates(copy, off);
            dev.write(off, copy.bytes(), 0, Superblock.SIZE);
        }
        dev.flush();
    }

    private static boolean validates(Superblock sb, long off) {
        try {
            sb.validate(off);
            return true;
        } catch (IOException e) {
            throw new AssertionError("writing an invalid superblock: " + e.getMessage(), e);
        }
    }
}
