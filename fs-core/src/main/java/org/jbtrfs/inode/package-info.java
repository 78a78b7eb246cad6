/**
 * Inodes, directories and file data, read side (the kernel's inode.c, dir-item.c, xattr.c,
 * file-item.c, and the read paths of extent_io.c and compression.c).
 *
 * <p>{@link org.jbtrfs.inode.InodeReader}: inode items, lookup by name hash, readdir by
 * DIR_INDEX with resumable offsets, parents, xattrs, symlinks.
 * {@link org.jbtrfs.inode.FileDataReader}: file extents (inline, regular, prealloc, holes,
 * compressed), with optional data checksum verification and mirror fallback.
 *
 * <h2>Invariants</h2>
 * <ol>
 *   <li>Nothing past i_size is returned; holes and prealloc extents read as zeros.</li>
 *   <li>Memory per read is bounded by the request and by 128 KiB per compressed extent, whatever
 *       the disk claims (checked before allocating).</li>
 *   <li>Names longer than 255 bytes are ENAMETOOLONG before any lookup.</li>
 * </ol>
 *
 * <p>May use {@code format}, {@code ctree}, {@code disk}, {@code subvol}, {@code compress}.
 */
package org.jbtrfs.inode;
