package org.jbtrfs.compress;

import java.util.Objects;

/**
 * The write side of fs/btrfs/compression.c: btrfs_compress_folios() picks the codec and lays
 * the data out on disk the way the Linux kernel does for that type, so that the kernel (and
 * {@link Decompressor}) read it back.
 *
 * <ul>
 *   <li>zlib: one zlib stream with its header, level {@value ZlibCodec#DEFAULT_LEVEL} by default
 *       (1..{@value ZlibCodec#MAX_LEVEL}), a sync flush after every page of input
 *       (zlib_compress_folios);</li>
 *   <li>lzo: btrfs' segmented framing, one LZO1X-1 block per sector of input, padding so that no
 *       segment header straddles a sector (lzo_compress_bio); the only level is 1;</li>
 *   <li>zstd: one frame, level {@value ZstdCodec#DEFAULT_LEVEL} by default
 *       (1..{@value ZstdCodec#MAX_LEVEL}), window at most 128 KiB, content size stored, no
 *       checksum (zstd_compress_folios).</li>
 * </ul>
 *
 * <p>Whether compression pays is decided here only in bytes: {@link #compress} returns null
 * unless the result is strictly shorter than the input. The kernel's write path asks for more
 * (compress_file_range keeps the result only if it saves at least one sector) and that policy
 * belongs to our write path, which knows the sector and inline limits.
 *
 * <p>The output is not expected to be byte-identical to the kernel's, since the compression
 * libraries differ in versions and in match finding; it is the same format, with the same
 * framing decisions.
 *
 * <p>Stateless and thread-safe: every call builds its own codec state.
 */
public final class Compressor {

    /** The {@code level} argument that selects the kernel's default level for the type. */
    public static final int DEFAULT_LEVEL = -1;

    private Compressor() {
    }

    /**
     * Compresses data the way the Linux kernel lays it out on disk for that type (zlib: a zlib
     * stream with header as the kernel's zlib_compress_folios produces; lzo: btrfs' segmented
     * framing; zstd: one zstd frame). Returns null if the result would not be smaller than the
     * input (the kernel then stores it uncompressed).
     *
     * @param type ZLIB, LZO or ZSTD
     * @param src array holding the data
     * @param off where it starts
     * @param len how many bytes; the kernel compresses at most
     *     {@link Decompressor#MAX_UNCOMPRESSED} per extent, and {@link Decompressor} reads back
     *     at most {@link Decompressor#RAM_BYTES_MAX}
     * @param level {@link #DEFAULT_LEVEL} (-1) for the kernel's default, else the level to use
     *     (zlib 1..9, lzo 1, zstd 1..15)
     * @param sectorSize the filesystem's sector size, a power of two in [512, 65536]
     * @return the compressed bytes, shorter than {@code len}, or null
     * @throws IllegalArgumentException for NONE, a level out of range, a bad sector size, or a
     *     length over {@link Decompressor#RAM_BYTES_MAX}
     */
    public static byte[] compress(CompressionType type, byte[] src, int off, int len, int level, int sectorSize) {
        byte[] out = encode(type, src, off, len, level, sectorSize, len - 1);
        assert out == null || out.length < len : out.length + " >= " + len;
        return out;
    }

    /**
     * Like {@link #compress} but keeps the result whatever its size, unless it exceeds
     * {@code maxOutBytes}. For tests, which need encodings of inputs too small to shrink.
     */
    static byte[] encode(CompressionType type, byte[] src, int off, int len, int level, int sectorSize,
            int maxOutBytes) {
        Objects.requireNonNull(type, "type");
        Objects.checkFromIndexSize(off, len, src.length);
        Decompressor.checkSectorSize(sectorSize);
        if (len > Decompressor.RAM_BYTES_MAX) {
            throw new IllegalArgumentException("length " + len + " over " + Decompressor.RAM_BYTES_MAX
                    + ", more than Decompressor reads back");
        }
        if (maxOutBytes <= 0) {
            return null;
        }
        return switch (type) {
            case ZLIB -> ZlibCodec.compress(src, off, len,
                    checkLevel(type, level, ZlibCodec.DEFAULT_LEVEL, ZlibCodec.MAX_LEVEL), maxOutBytes);
            case LZO -> {
                checkLevel(type, level, 1, 1);
                yield LzoCodec.compress(src, off, len, sectorSize, maxOutBytes);
            }
            case ZSTD -> ZstdCodec.compress(src, off, len,
                    checkLevel(type, level, ZstdCodec.DEFAULT_LEVEL, ZstdCodec.MAX_LEVEL), maxOutBytes);
            case NONE -> throw new IllegalArgumentException("cannot compress with type NONE");
        };
    }

    private static int checkLevel(CompressionType type, int level, int defaultLevel, int maxLevel) {
        if (level == DEFAULT_LEVEL) {
            return defaultLevel;
        }
        if (level < 1 || level > maxLevel) {
            throw new IllegalArgumentException(type + " level " + level + ", expected -1 (default) or 1.." + maxLevel);
        }
        return level;
    }
}
