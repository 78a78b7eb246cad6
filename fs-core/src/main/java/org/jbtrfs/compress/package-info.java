/**
 * Compressed extents: turning the bytes of a compressed file extent back into file data, and
 * file data into such bytes, exactly as the Linux kernel lays them out.
 *
 * <h2>What it owns</h2>
 * Only the streams. A compressed extent's bytes (disk_num_bytes on disk for a regular extent, the
 * item's data for an inline one) go in, {@code ram_bytes} of file data come out, and back. Finding
 * the extent, reading and checksumming its sectors, and choosing the window
 * ({@code offset}/{@code num_bytes}) of the decoded data belong to the read path in the inode/file
 * package; deciding whether compression pays at sector granularity, to the write path.
 *
 * <h2>Kernel files it mirrors</h2>
 * <table>
 *   <caption>Map</caption>
 *   <tr><th>kernel</th><th>here</th></tr>
 *   <tr><td>compression.h enum btrfs_compression_type</td><td>{@link org.jbtrfs.compress.CompressionType}</td></tr>
 *   <tr><td>compression.c btrfs_decompress_bio(), btrfs_decompress(); BTRFS_MAX_UNCOMPRESSED</td>
 *       <td>{@link org.jbtrfs.compress.Decompressor}</td></tr>
 *   <tr><td>compression.c btrfs_compress_folios()</td><td>{@link org.jbtrfs.compress.Compressor}</td></tr>
 *   <tr><td>lzo.c (the segment framing; the format grammar is in the class comment)</td>
 *       <td>{@code LzoCodec}</td></tr>
 *   <tr><td>zlib.c</td><td>{@code ZlibCodec}</td></tr>
 *   <tr><td>zstd.c</td><td>{@code ZstdCodec}</td></tr>
 * </table>
 * The codecs underneath are the JDK's zlib, aircompressor's LZO1X (pure Java) and zstd-jni.
 *
 * <h2>Invariants</h2>
 * <ol>
 *   <li><b>Exact length.</b> {@code Decompressor.decompress} returns exactly {@code ramBytes}
 *       bytes: zeros after a stream that ends early, {@link org.jbtrfs.CorruptImageException} for
 *       one that would go on. Checked in each codec (output buffers are {@code ramBytes} long,
 *       overflow is detected, not truncated) and asserted in {@code Decompressor}.</li>
 *   <li><b>Bad bytes raise CorruptImageException only.</b> Every length or offset read from the
 *       stream is checked before use ({@code LzoCodec.decompress}, {@code ZstdCodec.walkFrame},
 *       {@code ZlibCodec.checkHeader}); exceptions of the libraries are wrapped. Tested by
 *       seeded mutation of valid streams ({@code CorruptionTest}).</li>
 *   <li><b>Bounded memory.</b> Allocations are bounded by {@code ramBytes} (itself at most
 *       {@link org.jbtrfs.compress.Decompressor#RAM_BYTES_MAX}, checked on entry), one sector, or
 *       a constant; never by a length field of the stream. The zstd window is capped at 128 KiB
 *       as the kernel caps it.</li>
 *   <li><b>LZO segment headers never straddle a sector.</b> The encoder pads with zeros when
 *       fewer than 4 bytes are left in a sector, the decoder skips to the next sector in the same
 *       case; both assert the property at every header ({@code LzoCodec}; {@code LzoFramingTest}).</li>
 *   <li><b>Round trip.</b> {@code Decompressor.decompress(Compressor.compress(x))} is {@code x}
 *       for every type ({@code RoundTripTest}).</li>
 * </ol>
 *
 * <h2>Where we differ from the kernel, on purpose</h2>
 * <ul>
 *   <li>Output longer than {@code ram_bytes}, and (zstd) a frame truncated before its end, are
 *       corruption here; the kernel stops silently or zero-fills.</li>
 *   <li>The LZO total length is not capped at BTRFS_MAX_COMPRESSED, because our own callers may
 *       compress more than 128 KiB into one stream; it is capped by the input length.</li>
 *   <li>Both the kernel and we ignore zlib's Adler-32 and the value of LZO padding bytes.</li>
 * </ul>
 *
 * <h2>Locks, threads, layering</h2>
 * No locks, no threads, no state: every call builds its own codec contexts, so any thread may
 * call at any time. It is a leaf: it depends on {@code org.jbtrfs.CorruptImageException} and the
 * three libraries only, and calls no other jbtrfs package. Its callers are the file read and
 * write paths, send (which may send compressed data as is), and check.
 */
package org.jbtrfs.compress;
