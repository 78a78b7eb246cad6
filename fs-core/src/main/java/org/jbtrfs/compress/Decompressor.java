package org.jbtrfs.compress;

import java.util.Objects;
import org.jbtrfs.CorruptImageException;

/**
 * The read side of fs/btrfs/compression.c: btrfs_decompress_bio() and btrfs_decompress() pick
 * the codec for an extent's compression type and turn its bytes on disk back into file data.
 *
 * <h2>How a compressed extent is read</h2>
 * A regular compressed file extent item points at {@code disk_num_bytes} bytes on disk (a whole
 * number of sectors); an inline one carries its compressed bytes in the item itself. In both cases
 * the stream decodes into {@code ram_bytes} bytes of file data, of which the extent item's
 * {@code offset} and {@code num_bytes} then select a window. The caller reads the bytes (and
 * verifies their checksums, which cover the compressed bytes) and calls {@link #decompress}; this
 * class knows nothing of trees, inodes or devices.
 *
 * <h2>What comes out</h2>
 * Always exactly {@code ramBytes} bytes:
 * <ol>
 *   <li>If the stream ends properly before producing {@code ramBytes}, the rest is zeros: the
 *       kernel zero-fills the remainder of the read (zero_fill_bio in zlib.c, the early-end paths
 *       of lzo.c and zstd.c), and an extent whose stream ends early reads that way under Linux.</li>
 *   <li>If the stream would produce more than {@code ramBytes}, the extent is corrupt. The kernel
 *       silently stops once its pages are full; we refuse instead, because {@code ram_bytes} is by
 *       definition the decoded length and a longer stream means the item and the data disagree.</li>
 *   <li>Any malformed stream throws {@link CorruptImageException}; no other exception escapes for
 *       bad bytes, and exceptions of the libraries underneath are wrapped.</li>
 * </ol>
 *
 * <h2>Limits</h2>
 * Every allocation is bounded by {@code ramBytes}, which must lie in [0, {@link #RAM_BYTES_MAX}],
 * or by one sector; nothing is sized from a length field read out of the stream. The kernel
 * compresses at most {@link #MAX_UNCOMPRESSED} of data into one extent, but inline extents and
 * our own callers may pass larger {@code ramBytes} (up to 1 MiB), so that is not enforced here.
 *
 * <p>Stateless and thread-safe: every call builds its own codec state.
 */
public final class Decompressor {

    /**
     * BTRFS_MAX_UNCOMPRESSED (compression.h): the most file data the kernel puts into one
     * compressed extent, 128 KiB.
     */
    public static final int MAX_UNCOMPRESSED = 128 * 1024;

    /**
     * BTRFS_MAX_COMPRESSED (compression.h): the most bytes on disk of one compressed extent the
     * kernel writes, 128 KiB.
     */
    public static final int MAX_COMPRESSED = 128 * 1024;

    /**
     * Largest {@code ramBytes} we agree to decode into, 16 MiB. Not a kernel limit: the kernel
     * stops at {@link #MAX_UNCOMPRESSED}; this one only keeps a corrupt {@code ram_bytes} from
     * making us allocate gigabytes, while leaving room for our own callers (up to 1 MiB).
     */
    public static final int RAM_BYTES_MAX = 16 * 1024 * 1024;

    /** Smallest sector size accepted, 512 bytes (tests use small sectors; btrfs uses 4 KiB). */
    static final int SECTOR_SIZE_MIN = 512;

    /** Largest sector size accepted, 64 KiB (BTRFS_MAX_METADATA_BLOCKSIZE bounds sectors too). */
    static final int SECTOR_SIZE_MAX = 64 * 1024;

    static {
        assert MAX_UNCOMPRESSED <= RAM_BYTES_MAX;
        assert Integer.bitCount(SECTOR_SIZE_MIN) == 1 && Integer.bitCount(SECTOR_SIZE_MAX) == 1;
    }

    private Decompressor() {
    }

    /**
     * Decodes one compressed extent (regular extent: the whole disk_num_bytes on disk; inline: the
     * inline bytes) into exactly {@code ramBytes} bytes (the file extent's ram_bytes).
     * {@code sectorSize} is the filesystem's sector size (4096), needed by btrfs' LZO framing.
     * Output shorter than ramBytes is padded with zeros (the kernel does the same when a stream
     * ends early); longer output is an error. The message of the exception says what was found
     * against what was expected; the caller adds where (bytenr, inode, file offset).
     *
     * @param type how the extent is compressed; {@link CompressionType#NONE} is a programming
     *     error (there is nothing to decode)
     * @param src array holding the compressed bytes
     * @param srcOff where they start in {@code src}
     * @param srcLen how many there are (disk_num_bytes, or the inline item's data size)
     * @param ramBytes the file extent's ram_bytes, the decoded length
     * @param sectorSize the filesystem's sector size, a power of two in [512, 65536]
     * @return a new array of exactly {@code ramBytes} bytes
     * @throws CorruptImageException if {@code ramBytes} is out of range or the stream is malformed
     * @throws IndexOutOfBoundsException if {@code srcOff}/{@code srcLen} do not lie inside src
     * @throws IllegalArgumentException if {@code type} is NONE or {@code sectorSize} is invalid
     */
    public static byte[] decompress(CompressionType type, byte[] src, int srcOff, int srcLen,
            int ramBytes, int sectorSize) throws CorruptImageException {
        Objects.requireNonNull(type, "type");
        Objects.checkFromIndexSize(srcOff, srcLen, src.length);
        checkSectorSize(sectorSize);
        if (ramBytes < 0 || ramBytes > RAM_BYTES_MAX) {
            throw new CorruptImageException(type.name().toLowerCase() + " extent: ram_bytes "
                    + ramBytes + " out of range, expected 0.." + RAM_BYTES_MAX);
        }
        byte[] out = switch (type) {
            case ZLIB -> ZlibCodec.decompress(src, srcOff, srcLen, ramBytes);
            case LZO -> LzoCodec.decompress(src, srcOff, srcLen, ramBytes, sectorSize);
            case ZSTD -> ZstdCodec.decompress(src, srcOff, srcLen, ramBytes);
            case NONE -> throw new IllegalArgumentException("extent is not compressed (type NONE)");
        };
        assert out.length == ramBytes : type + " produced " + out.length + " bytes, expected " + ramBytes;
        return out;
    }

    /** Rejects a sector size the caller should never pass: not a power of two in [512, 64K]. */
    static void checkSectorSize(int sectorSize) {
        if (sectorSize < SECTOR_SIZE_MIN || sectorSize > SECTOR_SIZE_MAX || Integer.bitCount(sectorSize) != 1) {
            throw new IllegalArgumentException("sector size " + sectorSize + " is not a power of two in ["
                    + SECTOR_SIZE_MIN + ", " + SECTOR_SIZE_MAX + "]");
        }
    }

    /** Reads a little-endian u32 as a long (0..2^32-1), the way read_compress_length() does. */
    static long getLe32(byte[] b, int off) {
        return (b[off] & 0xffL) | (b[off + 1] & 0xffL) << 8 | (b[off + 2] & 0xffL) << 16
                | (b[off + 3] & 0xffL) << 24;
    }

    /** Writes a little-endian u32, the way write_compress_length() does. */
    static void putLe32(byte[] b, int off, int value) {
        b[off] = (byte) value;
        b[off + 1] = (byte) (value >>> 8);
        b[off + 2] = (byte) (value >>> 16);
        b[off + 3] = (byte) (value >>> 24);
    }
}
