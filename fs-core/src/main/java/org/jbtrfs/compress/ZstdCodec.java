package org.jbtrfs.compress;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdCompressCtx;
import com.github.luben.zstd.ZstdException;
import java.util.Arrays;
import org.jbtrfs.CorruptImageException;

/**
 * fs/btrfs/zstd.c: a compressed extent is one zstd frame (RFC 8878), coded by zstd-jni.
 *
 * <h2>Format</h2>
 * <pre>
 * Extent      := Frame [Trailing]
 * Frame       := Magic FHD [WD] [DictID] [FCS] Block* LastBlock [Checksum]
 * Magic       := u32le 0xFD2FB528
 * FHD         := u8: bits 7-6 FCS size flag, bit 5 single segment, bit 4 unused,
 *                bit 3 reserved (0), bit 2 checksum flag, bits 1-0 DictID size flag
 * WD          := u8 window descriptor (absent in single-segment frames): exponent (bits 7-3)
 *                and mantissa (bits 2-0); window = 2^(10+e) + 2^(10+e)/8 * m
 * DictID      := 0, 1, 2 or 4 bytes; must be 0 if present (btrfs never uses a dictionary)
 * FCS         := frame content size, 0/1/2/4/8 bytes (2-byte form stores size - 256);
 *                the kernel's writer pledges the input length, so it is normally present
 * Block       := u24le header (bit 0 last, bits 2-1 type: raw, RLE, compressed, reserved;
 *                bits 23-3 size) then size bytes (raw, compressed) or 1 byte (RLE)
 * Checksum    := u32le XXH64 low bits, present when FHD bit 2 is set (the kernel sets 0)
 * Trailing    := whatever follows up to the end of the extent's last sector, never read
 * </pre>
 *
 * <h2>Checks on read</h2>
 * The frame is walked here, field by field, before any native code sees it:
 * <ol>
 *   <li>the magic, the reserved bit and the dictionary ID;</li>
 *   <li>the window at most {@link #WINDOW_BYTES_MAX}: zstd_decompress_bio() opens its stream
 *       with ZSTD_BTRFS_MAX_INPUT as the largest window, so a frame needing more fails under Linux
 *       (single-segment frames need a window of their content size);</li>
 *   <li>the content size, if stored, at most ramBytes;</li>
 *   <li>every block header inside the input, no block over 128 KiB (ZSTD_BLOCKSIZE_MAX), the
 *       reserved block type absent, and the last block (and checksum) before the input ends:
 *       a truncated frame is corrupt. The kernel would instead zero-fill what it could not
 *       decode.</li>
 * </ol>
 * Then the frame, and only the frame (so trailing padding is ignored, and a second frame too,
 * as the kernel stops at the first frame's end), is decoded in one shot into a buffer of
 * ramBytes: an output that does not fit is "longer than ram_bytes", any other error of the
 * library is reported with its name.
 */
final class ZstdCodec {

    /** ZSTD_BTRFS_DEFAULT_LEVEL. */
    static final int DEFAULT_LEVEL = 3;

    /** ZSTD_BTRFS_MAX_LEVEL. */
    static final int MAX_LEVEL = 15;

    /** ZSTD_BTRFS_MAX_WINDOWLOG: the window log the kernel caps its writer at. */
    static final int MAX_WINDOWLOG = 17;

    /** ZSTD_BTRFS_MAX_INPUT, 1 &lt;&lt; ZSTD_BTRFS_MAX_WINDOWLOG: the largest window it reads. */
    static final int WINDOW_BYTES_MAX = 1 << MAX_WINDOWLOG;

    /** ZSTD_MAGICNUMBER. */
    static final long MAGIC = 0xFD2FB528L;

    /** ZSTD_BLOCKSIZE_MAX: no block decodes to, or is stored in, more than 128 KiB. */
    static final int BLOCK_SIZE_MAX = 128 * 1024;

    private static final int BLOCK_HEADER_LEN = 3;
    private static final int BLOCK_TYPE_RAW = 0;
    private static final int BLOCK_TYPE_RLE = 1;
    private static final int BLOCK_TYPE_RESERVED = 3;
    private static final int CHECKSUM_LEN = 4;

    private ZstdCodec() {
    }

    /** zstd_decompress_bio(): walk the frame, then decode it into exactly ramBytes bytes. */
    static byte[] decompress(byte[] src, int off, int len, int ramBytes) throws CorruptImageException {
        int frameLen = walkFrame(src, off, len, ramBytes);
        byte[] out = new byte[ramBytes];
        long produced;
        try {
            produced = Zstd.decompressByteArray(out, 0, ramBytes, src, off, frameLen);
        } catch (ZstdException e) {
            if (e.getErrorCode() == Zstd.errDstSizeTooSmall()) {
                throw corrupt("frame decodes to more than ram_bytes " + ramBytes, len, ramBytes);
            }
            throw new CorruptImageException("zstd extent (compressed length " + len + ", ram_bytes " + ramBytes
                    + "): frame of " + frameLen + " bytes does not decode: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            throw new CorruptImageException("zstd extent (compressed length " + len + ", ram_bytes " + ramBytes
                    + "): frame of " + frameLen + " bytes does not decode: " + e, e);
        }
        if (Zstd.isError(produced)) { // older zstd-jni returned codes instead of throwing
            throw corrupt("frame does not decode: " + Zstd.getErrorName(produced), len, ramBytes);
        }
        assert produced >= 0 && produced <= ramBytes : produced;
        // zstd may use the unused end of the output as scratch space (its literals buffer), so a
        // frame shorter than ram_bytes leaves bytes there: the kernel zero-fills them, so do we.
        java.util.Arrays.fill(out, (int) produced, ramBytes, (byte) 0);
        return out;
    }

    /**
     * Checks the frame header and walks the block headers; returns the frame's length in bytes.
     * Reads only inside [off, off + len) and allocates nothing.
     */
    static int walkFrame(byte[] src, int off, int len, int ramBytes) throws CorruptImageException {
        if (len < 4 + 1 + BLOCK_HEADER_LEN) {
            throw corrupt("compressed length " + len + ", shorter than the smallest frame", len, ramBytes);
        }
        long magic = Decompressor.getLe32(src, off);
        if (magic != MAGIC) {
            throw corrupt(String.format("frame magic 0x%08x, expected 0x%08x", magic, MAGIC), len, ramBytes);
        }
        int fhd = src[off + 4] & 0xff;
        int fcsFlag = fhd >>> 6;
        boolean singleSegment = (fhd & 0x20) != 0;
        boolean hasChecksum = (fhd & 0x04) != 0;
        int dictIdLen = new int[] {0, 1, 2, 4}[fhd & 0x03];
        int fcsLen = new int[] {singleSegment ? 1 : 0, 2, 4, 8}[fcsFlag];
        if ((fhd & 0x08) != 0) {
            throw corrupt(String.format("frame header descriptor 0x%02x has the reserved bit set", fhd), len, ramBytes);
        }
        int pos = 5;
        int headerLen = pos + (singleSegment ? 0 : 1) + dictIdLen + fcsLen;
        if (headerLen + BLOCK_HEADER_LEN > len) {
            throw corrupt("frame header of " + headerLen + " bytes runs past the end", len, ramBytes);
        }
        long windowBytes = 0;
        if (!singleSegment) {
            int wd = src[off + pos++] & 0xff;
            long base = 1L << (10 + (wd >>> 3));
            windowBytes = base + base / 8 * (wd & 0x07);
        }
        long dictId = getLeUnsigned(src, off + pos, dictIdLen);
        pos += dictIdLen;
        if (dictId != 0) {
            throw corrupt("frame needs dictionary " + dictId + "; btrfs never uses one", len, ramBytes);
        }
        boolean hasContentSize = fcsLen != 0;
        long contentSize = hasContentSize ? getLeUnsigned(src, off + pos, fcsLen) + (fcsLen == 2 ? 256 : 0) : 0;
        pos += fcsLen;
        if (singleSegment) {
            windowBytes = contentSize;
        }
        checkSizes(windowBytes, hasContentSize, contentSize, len, ramBytes);
        assert pos == headerLen : pos + " != " + headerLen;
        return walkBlocks(src, off, len, pos, hasChecksum, ramBytes);
    }

    /** Window and content size are u64 on disk: compared unsigned. */
    private static void checkSizes(long windowBytes, boolean hasContentSize, long contentSize, int len, int ramBytes)
            throws CorruptImageException {
        if (Long.compareUnsigned(windowBytes, WINDOW_BYTES_MAX) > 0) {
            throw corrupt("frame window " + Long.toUnsignedString(windowBytes) + " bytes, expected at most "
                    + WINDOW_BYTES_MAX + " (ZSTD_BTRFS_MAX_INPUT)", len, ramBytes);
        }
        if (hasContentSize && Long.compareUnsigned(contentSize, ramBytes) > 0) {
            throw corrupt("frame content size " + Long.toUnsignedString(contentSize)
                    + " exceeds ram_bytes " + ramBytes, len, ramBytes);
        }
    }

    /** Walks block headers from {@code pos} to the end of the last block and the checksum. */
    private static int walkBlocks(byte[] src, int off, int len, int pos, boolean hasChecksum, int ramBytes)
            throws CorruptImageException {
        while (true) {
            if (len - pos < BLOCK_HEADER_LEN) {
                throw corrupt("frame truncated: block header at offset " + pos + " runs past the end", len, ramBytes);
            }
            int header = (int) getLeUnsigned(src, off + pos, BLOCK_HEADER_LEN);
            boolean last = (header & 1) != 0;
            int type = (header >>> 1) & 0x03;
            int size = header >>> 3;
            if (type == BLOCK_TYPE_RESERVED || size > BLOCK_SIZE_MAX) {
                throw corrupt("block at offset " + pos + " has type " + type + " and size " + size
                        + ", expected type 0..2 and size <= " + BLOCK_SIZE_MAX, len, ramBytes);
            }
            int stored = type == BLOCK_TYPE_RLE ? 1 : size;
            assert type == BLOCK_TYPE_RLE || type == BLOCK_TYPE_RAW || stored == size;
            pos += BLOCK_HEADER_LEN;
            if (stored > len - pos) {
                throw corrupt("frame truncated: block at offset " + (pos - BLOCK_HEADER_LEN) + " needs " + stored
                        + " bytes, " + (len - pos) + " left", len, ramBytes);
            }
            pos += stored;
            if (last) {
                break;
            }
        }
        if (hasChecksum) {
            if (len - pos < CHECKSUM_LEN) {
                throw corrupt("frame truncated: content checksum at offset " + pos + " runs past the end",
                        len, ramBytes);
            }
            pos += CHECKSUM_LEN;
        }
        return pos;
    }

    /**
     * zstd_compress_folios(): one frame at {@code level}, window log capped at
     * {@link #MAX_WINDOWLOG} (zstd shrinks it further for small inputs), content size stored, no
     * checksum. Returns null if the frame would be longer than {@code maxOutBytes}.
     */
    static byte[] compress(byte[] src, int off, int len, int level, int maxOutBytes) {
        assert level >= 1 && level <= MAX_LEVEL : level;
        long bound = Zstd.compressBound(len);
        int cap = (int) Math.min(bound, maxOutBytes);
        if (cap <= 0) {
            return null;
        }
        byte[] out = new byte[cap];
        try (ZstdCompressCtx ctx = new ZstdCompressCtx()) {
            ctx.setLevel(level);
            ctx.setWindowLog(MAX_WINDOWLOG);
            ctx.setChecksum(false);
            ctx.setContentSize(true);
            int n = ctx.compressByteArray(out, 0, cap, src, off, len);
            return n == cap ? out : Arrays.copyOf(out, n);
        } catch (ZstdException e) {
            if (e.getErrorCode() == Zstd.errDstSizeTooSmall() && cap < bound) {
                return null;
            }
            throw new IllegalStateException("zstd compression failed: " + e.getMessage(), e);
        }
    }

    private static long getLeUnsigned(byte[] b, int off, int n) {
        long v = 0;
        for (int i = n - 1; i >= 0; i--) {
            v = v << 8 | (b[off + i] & 0xff);
        }
        return v;
    }

    private static CorruptImageException corrupt(String what, int len, int ramBytes) {
        return new CorruptImageException("zstd extent (compressed length " + len + ", ram_bytes " + ramBytes
                + "): " + what);
    }
}
