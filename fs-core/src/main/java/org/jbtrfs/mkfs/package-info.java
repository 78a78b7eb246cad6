/**
 * Making a new filesystem (btrfs-progs' mkfs/main.c and make_btrfs() in mkfs/common.c).
 *
 * <p>{@link org.jbtrfs.mkfs.MkfsOptions} holds what the caller chooses (mkfs.btrfs 6.2 defaults),
 * {@link org.jbtrfs.mkfs.MkfsLayout} places the SYSTEM, METADATA and DATA chunks, and
 * {@link org.jbtrfs.mkfs.Mkfs#format} writes the filesystem as the first transaction of the
 * ordinary write core ({@code transaction.FsTrees#create}), so extent items, block group items,
 * the free space tree, root items and superblocks come from the code a running filesystem uses.
 * What to add to a new filesystem after formatting (a {@code --rootdir}) goes through the normal
 * open-for-writing path on the result.
 *
 * <h2>Invariants</h2>
 * <ol>
 *   <li>Options are checked before anything is written: node size a power of two from the
 *       sector size to 64 KiB, label at most 255 bytes, size at least
 *       {@link org.jbtrfs.mkfs.MkfsLayout#minimumBytes} ({@code MkfsOptions} constructor,
 *       {@code MkfsLayout.plan}).</li>
 *   <li>Chunks do not overlap on the device or in logical space and end inside the filesystem
 *       (asserted in {@code MkfsLayout.plan}; {@code ChunkMap.add} refuses overlaps).</li>
 *   <li>Everything is written in one transaction, generation 1, and the superblock is written last,
 *       so a crash leaves no valid superblock of the new filesystem (checked after the commit).</li>
 *   <li>A file is never shrunk: a larger image keeps its length and the filesystem ends before it.</li>
 * </ol>
 *
 * <p>May use {@code format}, {@code device}, {@code disk}, {@code extent}, {@code transaction};
 * nothing below calls it.
 */
package org.jbtrfs.mkfs;
