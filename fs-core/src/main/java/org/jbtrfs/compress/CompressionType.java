package org.jbtrfs.compress;

import org.jbtrfs.CorruptImageException;

/**
 * enum btrfs_compression_type (fs/btrfs/compression.h): the value of the {@code compression} byte
 * of a file extent item (struct btrfs_file_extent_item, offset 16, u8), which says how the
 * extent's bytes on disk encode its {@code ram_bytes} of file data.
 *
 * <table>
 *   <caption>Codes</caption>
 *   <tr><th>code</th><th>constant</th><th>kernel name</th><th>on-disk stream</th></tr>
 *   <tr><td>0</td><td>{@link #NONE}</td><td>BTRFS_COMPRESS_NONE</td><td>the data itself</td></tr>
 *   <tr><td>1</td><td>{@link #ZLIB}</td><td>BTRFS_COMPRESS_ZLIB</td><td>one zlib stream (RFC 1950),
 *       see {@link ZlibCodec}</td></tr>
 *   <tr><td>2</td><td>{@link #LZO}</td><td>BTRFS_COMPRESS_LZO</td><td>btrfs' segmented LZO1X
 *       framing, see {@link LzoCodec}</td></tr>
 *   <tr><td>3</td><td>{@link #ZSTD}</td><td>BTRFS_COMPRESS_ZSTD</td><td>one zstd frame (RFC 8878),
 *       see {@link ZstdCodec}</td></tr>
 * </table>
 *
 * <p>BTRFS_NR_COMPRESS_TYPES is 4: any other code is corruption. A type of our own (lz4, say)
 * would get a code here only together with its own incompat feature bit, so that the kernel
 * refuses an image that uses it (design brief, "On-disk format").
 */
public enum CompressionType {
    /** BTRFS_COMPRESS_NONE: the extent is stored as is. */
    NONE(0),
    /** BTRFS_COMPRESS_ZLIB: fs/btrfs/zlib.c. */
    ZLIB(1),
    /** BTRFS_COMPRESS_LZO: fs/btrfs/lzo.c. */
    LZO(2),
    /** BTRFS_COMPRESS_ZSTD: fs/btrfs/zstd.c. */
    ZSTD(3);

    /** BTRFS_NR_COMPRESS_TYPES: codes are 0 up to, not including, this. */
    static final int NR_COMPRESS_TYPES = 4;

    private static final CompressionType[] BY_CODE = values();

    static {
        assert BY_CODE.length == NR_COMPRESS_TYPES : BY_CODE.length;
        for (int i = 0; i < BY_CODE.length; i++) {
            assert BY_CODE[i].code == i : BY_CODE[i] + " has code " + BY_CODE[i].code + ", expected " + i;
        }
    }

    private final int code;

    CompressionType(int code) {
        this.code = code;
    }

    /**
     * The value of the file extent item's {@code compression} byte for this type.
     *
     * @return the code, 0..3
     */
    public int code() {
        return code;
    }

    /**
     * The type for a {@code compression} byte read from disk.
     *
     * @param code the byte, read unsigned (0..255)
     * @return the type with that code
     * @throws CorruptImageException if the code is not one the kernel defines
     */
    public static CompressionType fromCode(int code) throws CorruptImageException {
        if (code < 0 || code >= NR_COMPRESS_TYPES) {
            throw new CorruptImageException("unknown file extent compression type " + code
                    + ", expected 0 (none), 1 (zlib), 2 (lzo) or 3 (zstd)");
        }
        return BY_CODE[code];
    }
}
