package org.jbtrfs.disk;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.jbtrfs.CorruptImageException;
import org.jbtrfs.device.BlockDevice;
import org.jbtrfs.format.Le;
import org.jbtrfs.format.Superblock;

/**
 * Finds the superblock to mount from: reads every copy that fits on the device, validates each,
 * and picks the valid one with the highest generation. A damaged primary is thus bypassed when a
 * mirror is good (the kernel needs a mount option for that; reading is safe either way).
 */
public final class SuperblockLoader {
    /** A copy that was read and validated, and where. */
    public record Copy(int mirror, long offset, Superblock superblock) {
    }

    private SuperblockLoader() {
    }

    public static Copy load(BlockDevice dev) throws IOException {
        List<Copy> valid = new ArrayList<>(Superblock.MIRROR_OFFSETS.length);
        List<String> problems = new ArrayList<>();
        long size = dev.size();
        for (int i = 0; i < Superblock.MIRROR_OFFSETS.length; i++) {
            long off = Superblock.MIRROR_OFFSETS[i];
            if (off + Superblock.SIZE > size) {
                if (i == 0) {
                    throw new CorruptImageException(dev + ": " + size + " bytes is too small to hold a btrfs superblock"
                            + " (needs at least " + (off + Superblock.SIZE) + "); not a btrfs image or truncated");
                }
                break;
            }
            byte[] b = new byte[Superblock.SIZE];
            dev.read(off, b, 0, b.length);
            Superblock sb = new Superblock(b);
            try {
                sb.validate(off);
                valid.add(new Copy(i, off, sb));
            } catch (CorruptImageException e) {
                problems.add(e.getMessage());
            }
        }
        if (valid.isEmpty()) {
            throw new CorruptImageException(dev + ": no valid superblock: " + String.join("; ", problems));
        }
        Copy best = valid.get(0);
        for (Copy c : valid) {
            if (Long.compareUnsigned(c.superblock().generation(), best.superblock().generation()) > 0) {
                best = c;
            }
        }
        if (valid.size() > 1) {
            // Copies that disagree about the filesystem identity mean a foreign or mixed image.
            for (Copy c : valid) {
                if (!java.util.Arrays.equals(c.superblock().fsid(), best.superblock().fsid())) {
                    throw new CorruptImageException(dev + ": superblock copies at " + Le.u64s(best.offset()) + " and "
                            + Le.u64s(c.offset()) + " belong to different filesystems");
                }
            }
        }
        return best;
    }
}
