package org.jbtrfs.mkfs;

import java.util.ArrayList;
import java.util.List;
import org.jbtrfs.format.BlockGroupItem;
import org.jbtrfs.format.Le;

/**
 * Where the chunks of a new filesystem go: one SYSTEM, one METADATA and one DATA chunk, placed
 * back to back on the device from 1 MiB (the kernel never allocates below it: boot loaders and the
 * primary superblock live there).
 *
 * <h2>Sizes (those mkfs.btrfs 6.2 picks, observed on 64 MiB .. 60 GiB images)</h2>
 * <ul>
 *   <li>Metadata DUP: SYSTEM 8 MiB; METADATA {@code total/10/2} rounded down to 64 KiB, at least
 *       32 MiB and at most 256 MiB (1 GiB above 50 GiB) — the two copies together take at most 10%
 *       of the device, the progs rule for metadata chunks (128 MiB and 256 MiB: 32 MiB; 1 GiB:
 *       51.19 MiB; 10 GiB: 256 MiB).</li>
 *   <li>Metadata SINGLE: progs keeps its bootstrap chunks, SYSTEM 4 MiB and METADATA 8 MiB.</li>
 *   <li>DATA: 8 MiB, whatever the size.</li>
 * </ul>
 *
 * <h2>Placement (differs from progs on purpose, documented)</h2>
 * Order SYSTEM, METADATA, DATA; each chunk's logical start follows the previous chunk's end,
 * starting at 1 MiB, and stripes follow each other on the device from 1 MiB. With metadata SINGLE
 * this is exactly the progs layout (1 MiB, 5 MiB, 13 MiB, logical = physical). With DUP, progs first
 * makes single bootstrap chunks at 1 MiB and 5 MiB, adds DATA, SYSTEM DUP and METADATA DUP after
 * them and then removes the bootstrap chunks, leaving the first 12 MiB of the device unused; we
 * make the final chunks directly, so nothing is left unused and the minimum size is smaller
 * (89 MiB instead of 109 MiB).
 */
public record MkfsLayout(long totalBytes, List<Chunk> chunks) {
    /** BTRFS_DEVICE_RANGE_RESERVED: the first MiB of the device is never part of a chunk. */
    public static final long RESERVED_BYTES = 1L << 20;
    /** BTRFS_STRIPE_LEN: stripe_len of every chunk, and the unit chunk sizes are rounded to. */
    public static final long STRIPE_LEN = 64L << 10;
    static final long SYSTEM_DUP_BYTES = 8L << 20;
    static final long SYSTEM_SINGLE_BYTES = 4L << 20;
    static final long METADATA_SINGLE_BYTES = 8L << 20;
    static final long METADATA_DUP_MIN_BYTES = 32L << 20;
    static final long METADATA_DUP_MAX_BYTES = 256L << 20;
    static final long METADATA_DUP_MAX_LARGE_BYTES = 1L << 30;
    /** Above this device size progs allows the larger metadata chunk. */
    static final long LARGE_FS_BYTES = 50L << 30;
    static final long DATA_BYTES = 8L << 20;

    /**
     * One chunk: logical range, block group flags, and the physical start of each stripe (one for
     * SINGLE, two for DUP, each {@code length} long).
     */
    public record Chunk(long logical, long length, long flags, List<Long> stripeOffsets) {
        public long type() {
            return flags & BlockGroupItem.TYPE_MASK;
        }
    }

    public MkfsLayout {
        chunks = List.copyOf(chunks);
    }

    /** Plans the chunks of a filesystem of {@code totalBytes}; throws if they do not fit. */
    public static MkfsLayout plan(long totalBytes, MkfsOptions.Profile metadata, MkfsOptions.Profile data) {
        long sys = metadata == MkfsOptions.Profile.DUP ? SYSTEM_DUP_BYTES : SYSTEM_SINGLE_BYTES;
        long meta = metadata == MkfsOptions.Profile.DUP ? metadataDupBytes(totalBytes) : METADATA_SINGLE_BYTES;
        long need = minimumBytes(metadata, data);
        if (Long.compareUnsigned(totalBytes, need) < 0) {
            throw new IllegalArgumentException("size " + Le.u64s(totalBytes) + " is too small: this layout (metadata "
                    + metadata.displayName() + ", data " + data.displayName() + ") needs at least " + need + " bytes ("
                    + (need >> 20) + " MiB)");
        }
        List<Chunk> out = new ArrayList<>(3);
        long logical = RESERVED_BYTES;
        long physical = RESERVED_BYTES;
        long[][] plan = {
            {BlockGroupItem.SYSTEM | metadata.flag(), sys, metadata.stripes()},
            {BlockGroupItem.METADATA | metadata.flag(), meta, metadata.stripes()},
            {BlockGroupItem.DATA | data.flag(), DATA_BYTES, data.stripes()},
        };
        for (long[] c : plan) {
            List<Long> stripes = new ArrayList<>();
            for (int s = 0; s < c[2]; s++) {
                stripes.add(physical);
                physical += c[1];
            }
            out.add(new Chunk(logical, c[1], c[0], stripes));
            logical += c[1];
        }
        assert physical <= totalBytes : "layout ends at " + physical + " past " + totalBytes;
        return new MkfsLayout(totalBytes, out);
    }

    /** The smallest filesystem the layout fits in (metadata DUP: the 32 MiB minimum chunk). */
    public static long minimumBytes(MkfsOptions.Profile metadata, MkfsOptions.Profile data) {
        long sys = metadata == MkfsOptions.Profile.DUP ? SYSTEM_DUP_BYTES : SYSTEM_SINGLE_BYTES;
        long meta = metadata == MkfsOptions.Profile.DUP ? METADATA_DUP_MIN_BYTES : METADATA_SINGLE_BYTES;
        return RESERVED_BYTES + metadata.stripes() * (sys + meta) + data.stripes() * DATA_BYTES;
    }

    /** The metadata DUP chunk length progs picks for a device of {@code totalBytes}. */
    static long metadataDupBytes(long totalBytes) {
        long max = totalBytes > LARGE_FS_BYTES ? METADATA_DUP_MAX_LARGE_BYTES : METADATA_DUP_MAX_BYTES;
        long tenPercentPerCopy = totalBytes / 10 / 2 / STRIPE_LEN * STRIPE_LEN;
        return Math.max(METADATA_DUP_MIN_BYTES, Math.min(max, tenPercentPerCopy));
    }

    /** Bytes of the device inside chunks (the dev item's bytes_used). */
    public long deviceBytesUsed() {
        long n = 0;
        for (Chunk c : chunks) {
            n += c.length() * c.stripeOffsets().size();
        }
        return n;
    }

    /** The chunk of type {@code type} (DATA, METADATA or SYSTEM). */
    public Chunk chunk(long type) {
        for (Chunk c : chunks) {
            if (c.type() == type) {
                return c;
            }
        }
        throw new IllegalArgumentException("no chunk of type " + BlockGroupItem.flagsString(type));
    }
}
