/**
 * The device and the logical-to-physical map (the kernel's volumes.c for one device).
 *
 * <p>{@link org.jbtrfs.device.BlockDevice} is the only way the engine touches storage:
 * {@link org.jbtrfs.device.FileBlockDevice} over an image file or block device,
 * {@link org.jbtrfs.device.MemoryBlockDevice} for tests. {@link org.jbtrfs.device.ChunkMap} maps
 * logical addresses to the physical copies (mirrors) of the SINGLE or DUP chunk holding them.
 *
 * <h2>Invariants</h2>
 * <ol>
 *   <li>A read is whole or an error naming the offset: a truncated image never yields a short read
 *       ({@link org.jbtrfs.device.FileBlockDevice#read}).</li>
 *   <li>Chunk mappings do not overlap, each stripe is on the one device, and the profile is SINGLE
 *       or DUP; anything else is refused when the chunk is added
 *       ({@link org.jbtrfs.device.ChunkMap#add}).</li>
 *   <li>A mapped range lies within one chunk ({@link org.jbtrfs.device.ChunkMap#map}).</li>
 * </ol>
 *
 * <p>May use {@code format}; may not call {@code ctree} or anything above.
 */
package org.jbtrfs.device;
