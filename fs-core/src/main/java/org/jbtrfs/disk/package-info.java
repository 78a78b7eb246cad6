/**
 * An opened filesystem (the kernel's btrfs_fs_info and open_ctree() in disk-io.c).
 *
 * <p>{@link org.jbtrfs.disk.SuperblockLoader} picks the newest valid superblock copy;
 * {@link org.jbtrfs.disk.FsInfo} checks features, builds the chunk map (sys_chunk_array, then
 * the chunk tree) and finds tree roots in the root tree.
 *
 * <h2>Invariants</h2>
 * <ol>
 *   <li>An image with an incompat bit jbtrfs does not implement, several devices, or a RAID
 *       profile is refused at open with a message naming it.</li>
 *   <li>The superblock in use passed validation (magic, checksum, bytenr, sizes); when copies
 *       disagree about the fsid, open fails.</li>
 * </ol>
 *
 * <p>May use {@code format}, {@code device}, {@code ctree}; may not call {@code inode} or above.
 */
package org.jbtrfs.disk;
