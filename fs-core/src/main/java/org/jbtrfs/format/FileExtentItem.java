package org.jbtrfs.format;

import java.util.Arrays;
import org.jbtrfs.CorruptImageException;

/**
 * struct btrfs_file_extent_item, key (ino EXTENT_DATA file_offset).
 *
 * <pre>
 * offset size field
 *      0    8 generation
 *      8    8 ram_bytes        uncompressed size of the whole extent (inline: of the inline data)
 *     16    1 compression      BTRFS_COMPRESS_* (0 none, 1 zlib, 2 lzo, 3 zstd)
 *     17    1 encryption
 *     18    2 other_encoding
 *     20    1 type             0 inline, 1 regular, 2 prealloc
 *   inline: data from 21 to the end of the item (compressed when compression != 0)
 *   regular and prealloc:
 *     21    8 disk_bytenr      logical start of the extent on disk; 0 = a hole
 *     29    8 disk_num_bytes   size of the extent on disk
 *     37    8 offset           where in the (uncompressed) extent this file range starts
 *     45    8 num_bytes        length of the file range
 * </pre>
 */
public record FileExtentItem(long generation, long ramBytes, int compression, int encryption, int otherEncoding,
        int type, byte[] inlineData, long diskBytenr, long diskNumBytes, long offset, long numBytes) {
    public static final int INLINE_DATA_START = 21;
    public static final int REG_SIZE = 53;
    public static final int TYPE_INLINE = 0;
    public static final int TYPE_REG = 1;
    public static final int TYPE_PREALLOC = 2;

    public static FileExtentItem decode(byte[] b, int off, int len) throws CorruptImageException {
        ItemBounds.need(len, INLINE_DATA_START, "EXTENT_DATA");
        int type = Le.u8(b, off + 20);
        long gen = Le.u64(b, off);
        long ram = Le.u64(b, off + 8);
        int comp = Le.u8(b, off + 16);
        int enc = Le.u8(b, off + 17);
        int other = Le.u16(b, off + 18);
        if (type == TYPE_INLINE) {
            byte[] data = Arrays.copyOfRange(b, off + INLINE_DATA_START, off + len);
            return new FileExtentItem(gen, ram, comp, enc, other, type, data, 0, 0, 0, 0);
        }
        if (type != TYPE_REG && type != TYPE_PREALLOC) {
            throw new CorruptImageException("EXTENT_DATA has unknown type " + type);
        }
        ItemBounds.exact(len, REG_SIZE, "EXTENT_DATA (regular)");
        return new FileExtentItem(gen, ram, comp, enc, other, type, null, Le.u64(b, off + 21), Le.u64(b, off + 29),
                Le.u64(b, off + 37), Le.u64(b, off + 45));
    }

    public static FileExtentItem inline(long generation, long ramBytes, int compression, byte[] data) {
        return new FileExtentItem(generation, ramBytes, compression, 0, 0, TYPE_INLINE, data, 0, 0, 0, 0);
    }

    public static FileExtentItem regular(long generation, int type, long ramBytes, int compression, long diskBytenr,
            long diskNumBytes, long offset, long numBytes) {
        assert type == TYPE_REG || type == TYPE_PREALLOC : type;
        return new FileExtentItem(generation, ramBytes, compression, 0, 0, type, null, diskBytenr, diskNumBytes,
                offset, numBytes);
    }

    public boolean isInline() {
        return type == TYPE_INLINE;
    }

    /** A regular extent with disk_bytenr 0: a hole written explicitly (without NO_HOLES). */
    public boolean isHole() {
        return type != TYPE_INLINE && diskBytenr == 0;
    }

    public int encodedSize() {
        return type == TYPE_INLINE ? INLINE_DATA_START + inlineData.length : REG_SIZE;
    }

    public byte[] encode() {
        byte[] b = new byte[encodedSize()];
        Le.putU64(b, 0, generation);
        Le.putU64(b, 8, ramBytes);
        Le.putU8(b, 16, compression);
        Le.putU8(b, 17, encryption);
        Le.putU16(b, 18, otherEncoding);
        Le.putU8(b, 20, type);
        if (type == TYPE_INLINE) {
            System.arraycopy(inlineData, 0, b, INLINE_DATA_START, inlineData.length);
        } else {
            Le.putU64(b, 21, diskBytenr);
            Le.putU64(b, 29, diskNumBytes);
            Le.putU64(b, 37, offset);
            Le.putU64(b, 45, numBytes);
        }
        return b;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof FileExtentItem f && Arrays.equals(f.encode(), encode());
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(encode());
    }
}
