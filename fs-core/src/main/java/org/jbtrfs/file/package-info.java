/**
 * The file data write path (the write half of the kernel's inode.c, file.c and file-item.c):
 * pwrite, truncate, punch hole, fallocate (prealloc extents, zero range; package-private
 * {@code Prealloc}) and dropping a deleted inode's extents, inside a transaction.
 *
 * <p>{@link org.jbtrfs.file.FileWriter} is the entry point the public API calls (its class comment
 * tells how a write goes); package-private {@code FileExtents} edits EXTENT_DATA items
 * (btrfs_drop_extents: trim, split, delete, with the EXTENT_DATA_REF changes as delayed refs). Data
 * checksum items are edited by {@link org.jbtrfs.extent.CsumItems}, one layer down, because the
 * delayed-ref runner deletes a freed extent's checksums at commit.
 *
 * <h2>Invariants</h2>
 * <ol>
 *   <li>Copy on write: a data extent once written is never written again; new data goes to a newly
 *       reserved extent, at most 128 MiB (BTRFS_MAX_EXTENT_SIZE), and the old one loses a reference
 *       ({@code FileWriter.writeExtent}).</li>
 *   <li>Every sector of a data extent referenced by a regular file extent has exactly one
 *       checksum in the csum tree (unless NODATASUM), a PREALLOC extent we made none (we never write
 *       one in place), and the csum tree holds nothing else: inserted with the extent
 *       ({@link org.jbtrfs.extent.CsumItems#insert} refuses an overlap), deleted with its last
 *       reference ({@link org.jbtrfs.extent.DataExtentFreedListener}). Checked by btrfs check
 *       --check-data-csum and our checker in every test.</li>
 *   <li>EXTENT_DATA items of an inode never overlap ({@code FileExtents.drop} before every insert,
 *       which asserts the key is free); an inline extent is alone in the first sector and holds the
 *       whole file.</li>
 *   <li>The INODE_ITEM's nbytes equals btrfs check's sum over the extents (asserted non-negative,
 *       and equal to what {@code dropAllExtents} drops).</li>
 *   <li>Growing a file never exposes stale bytes past the old i_size (see {@code FileWriter}).</li>
 * </ol>
 *
 * <h2>Locks</h2>
 * The caller holds the inode's lock (one operation per inode at a time). An operation takes the
 * subvolume root's write lock, then the csum root's lock inside it; the delayed-ref runner takes
 * the extent root's lock, then the csum root's. No one takes a subvolume or the extent root's lock
 * while holding the csum root's.
 *
 * <p>May use {@code format}, {@code ctree}, {@code extent}, {@code transaction}, {@code inode} (the
 * read path), {@code disk}, {@code device}; nothing above it.
 */
package org.jbtrfs.file;
