package org.jbtrfs.compress;

import io.airlift.compress.lzo.LzoCompressor;
import io.airlift.compress.lzo.LzoDecompressor;
import java.util.Arrays;
import org.jbtrfs.CorruptImageException;

/**
 * fs/btrfs/lzo.c: btrfs' own framing around raw LZO1X blocks (lzo_compress_bio,
 * lzo_decompress_bio, lzo_decompress). The LZO1X blocks themselves are coded by aircompressor;
 * this class owns the framing.
 *
 * <h2>Format</h2>
 * Offsets are from the start of the compressed data (the extent's first byte on disk, or the
 * first byte of inline data); "sector" means the filesystem sector size, normally 4096.
 * <pre>
 * Extent     := TotalLen Segment+ [Pad]
 * TotalLen   := u32le     length of the whole stream, this field and final padding included
 * Segment    := SegLen Payload [Pad]
 * SegLen     := u32le     length of Payload; 1..lzo1x_worst_compress(sector) (4419 for 4 KiB)
 * Payload    := SegLen bytes: one raw LZO1X block (lzo1x_1_compress output, ends with the
 *               EOF marker 0x11 0x00 0x00) that decodes to at most one sector of data
 * Pad        := 1..3 zero bytes, present exactly when fewer than 4 bytes (LZO_LEN) are left
 *               in the current sector after a Payload, so that a SegLen never straddles a
 *               sector boundary; the next SegLen then starts at the next sector boundary
 * </pre>
 * The writer cuts the file data into sector-aligned pieces of one sector each (the last may be
 * shorter), so every segment but the last decodes to exactly one sector; the reader does not
 * depend on that and simply concatenates what the segments decode to. An inline extent holds a
 * single segment and no padding.
 *
 * <h2>Checks on read</h2>
 * <ol>
 *   <li>TotalLen: 4 &lt;= TotalLen &lt;= srcLen and round_up(TotalLen, sector) &gt;= srcLen, the
 *       kernel's "lzo header invalid" check (all sectors used, none overrun). The kernel also
 *       caps TotalLen at BTRFS_MAX_COMPRESSED; we do not, because our own callers may compress
 *       more than 128 KiB into one stream.</li>
 *   <li>Each SegLen lies wholly inside TotalLen, is not 0 and is at most
 *       {@link #worstCompress(int)} of a sector (the kernel's "lzo segment too big").</li>
 *   <li>Each Payload decodes (aircompressor rejects what lzo1x_decompress_safe rejects, including
 *       input left over after the EOF marker) to at most one sector, and the running total to at
 *       most ramBytes.</li>
 *   <li>Padding bytes are skipped unread, as the kernel does; their value is not checked.</li>
 * </ol>
 */
final class LzoCodec {

    /** LZO_LEN: size of TotalLen and of each SegLen. */
    static final int LZO_LEN = 4;

    private LzoCodec() {
    }

    /**
     * lzo1x_worst_compress(x) (include/linux/lzo.h): the largest LZO1X block x bytes can
     * compress to, x + x/16 + 64 + 3; the kernel's bound on one segment's payload.
     */
    static int worstCompress(int bytes) {
        return bytes + bytes / 16 + 64 + 3;
    }

    /** lzo_decompress_bio() and lzo_decompress() in one: see the class comment for the checks. */
    static byte[] decompress(byte[] src, int off, int len, int ramBytes, int sectorSize)
            throws CorruptImageException {
        if (len < LZO_LEN) {
            throw corrupt("compressed length " + len + " shorter than the " + LZO_LEN + "-byte header",
                    len, ramBytes);
        }
        long totalLen = Decompressor.getLe32(src, off);
        if (totalLen < LZO_LEN || totalLen > len || roundUp(totalLen, sectorSize) < len) {
            throw corrupt("header total length " + totalLen + ", expected " + LZO_LEN + ".." + len
                    + " and no unused sector (round_up(total, " + sectorSize + ") >= " + len + ")", len, ramBytes);
        }
        int end = (int) totalLen;
        byte[] out = new byte[ramBytes];
        byte[] sector = new byte[sectorSize];
        LzoDecompressor lzo = new LzoDecompressor();
        int cur = LZO_LEN;
        int outPos = 0;
        for (int seg = 0; cur < end; seg++) {
            assert cur % sectorSize <= sectorSize - LZO_LEN : "segment header straddles a sector at " + cur;
            if (end - cur < LZO_LEN) {
                throw corrupt("segment " + seg + " header at offset " + cur + " runs past total length " + end,
                        len, ramBytes);
            }
            long segLen = Decompressor.getLe32(src, off + cur);
            cur += LZO_LEN;
            if (segLen == 0 || segLen > worstCompress(sectorSize) || segLen > end - cur) {
                throw corrupt("segment " + seg + " at offset " + (cur - LZO_LEN) + " has length " + segLen
                        + ", expected 1.." + Math.min(worstCompress(sectorSize), end - cur)
                        + " (worst case of one sector, and inside total length " + end + ")", len, ramBytes);
            }
            int produced = decodeSegment(lzo, src, off + cur, (int) segLen, sector, seg, cur, len, ramBytes);
            if (produced > ramBytes - outPos) {
                throw corrupt("segment " + seg + " at offset " + (cur - LZO_LEN) + " decodes past ram_bytes: "
                        + (outPos + produced) + " bytes so far, expected at most " + ramBytes, len, ramBytes);
            }
            System.arraycopy(sector, 0, out, outPos, produced);
            outPos += produced;
            cur += (int) segLen;
            int sectorBytesLeft = sectorSize - cur % sectorSize;
            if (sectorBytesLeft < LZO_LEN) {
                cur += sectorBytesLeft; // padding: the next header starts at the next sector
            }
        }
        return out;
    }

    /** Decodes one segment's payload into {@code sector} (one sector long); returns its length. */
    private static int decodeSegment(LzoDecompressor lzo, byte[] src, int payloadOff, int payloadLen,
            byte[] sector, int seg, int cur, int len, int ramBytes) throws CorruptImageException {
        try {
            int produced = lzo.decompress(src, payloadOff, payloadLen, sector, 0, sector.length);
            assert produced >= 0 && produced <= sector.length : produced;
            return produced;
        } catch (RuntimeException e) {
            // MalformedInputException, or anything else the library throws on bad bytes.
            throw new CorruptImageException("lzo extent (compressed length " + len + ", ram_bytes " + ramBytes
                    + "): segment " + seg + " payload at offset " + cur + ", length " + payloadLen
                    + ", is not an LZO1X block decoding to at most " + sector.length + " bytes: " + e.getMessage(), e);
        }
    }

    /**
     * lzo_compress_bio(): frames {@code len} bytes as the kernel does. Returns null if the stream
     * would be longer than {@code maxOutBytes}.
     */
    static byte[] compress(byte[] src, int off, int len, int sectorSize, int maxOutBytes) {
        int segments = (len + sectorSize - 1) / sectorSize;
        long bound = LZO_LEN + (long) segments * (LZO_LEN + worstCompress(sectorSize) + LZO_LEN - 1);
        int cap = (int) Math.min(bound, maxOutBytes);
        if (cap < LZO_LEN) {
            return null;
        }
        byte[] out = new byte[cap];
        LzoCompressor lzo = new LzoCompressor();
        byte[] block = new byte[Math.max(lzo.maxCompressedLength(sectorSize), worstCompress(sectorSize))];
        int cur = LZO_LEN;
        for (int in = 0; in < len; in += sectorSize) {
            int inLen = Math.min(sectorSize, len - in);
            int blockLen = lzo.compress(src, off + in, inLen, block, 0, block.length);
            assert blockLen > 0 && blockLen <= worstCompress(sectorSize) : blockLen;
            assert cur % sectorSize <= sectorSize - LZO_LEN : "segment header would straddle at " + cur;
            if ((long) cur + LZO_LEN + blockLen > cap) {
                return null;
            }
            Decompressor.putLe32(out, cur, blockLen);
            System.arraycopy(block, 0, out, cur + LZO_LEN, blockLen);
            cur += LZO_LEN + blockLen;
            int sectorBytesLeft = sectorSize - cur % sectorSize;
            if (sectorBytesLeft < LZO_LEN) {
                if (cur + sectorBytesLeft > cap) {
                    return null;
                }
                cur += sectorBytesLeft; // zero padding: out is zero-filled already
            }
        }
        Decompressor.putLe32(out, 0, cur);
        return cur == out.length ? out : Arrays.copyOf(out, cur);
    }

    private static long roundUp(long value, int sectorSize) {
        return (value + sectorSize - 1) / sectorSize * sectorSize;
    }

    private static CorruptImageException corrupt(String what, int len, int ramBytes) {
        return new CorruptImageException("lzo extent (compressed length " + len + ", ram_bytes " + ramBytes
                + "): " + what);
    }
}
