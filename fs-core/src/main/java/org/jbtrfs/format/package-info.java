/**
 * The btrfs on-disk format: one class per disk structure, each documenting its layout (offset,
 * size, field) where it is encoded, with decode and encode.
 *
 * <p>Mirrors {@code include/uapi/linux/btrfs_tree.h} and {@code fs/btrfs/accessors.h} of the kernel
 * (and btrfs-progs' {@code kernel-shared/uapi/btrfs_tree.h}). Main classes:
 * {@link org.jbtrfs.format.Superblock} (a byte-backed view, one accessor per field),
 * {@link org.jbtrfs.format.Header} (tree block header, leaf items, node key pointers),
 * {@link org.jbtrfs.format.DiskKey}, and the item records ({@link org.jbtrfs.format.InodeItem},
 * {@link org.jbtrfs.format.DirItem}, {@link org.jbtrfs.format.FileExtentItem},
 * {@link org.jbtrfs.format.ExtentItem}, {@link org.jbtrfs.format.ChunkItem},
 * {@link org.jbtrfs.format.RootItem}, ...). Hashes: {@link org.jbtrfs.format.Crc32c} (name and
 * extref hashes), {@link org.jbtrfs.format.ExtentDataRef#hash}. Checksums:
 * {@link org.jbtrfs.format.CsumType}.
 *
 * <h2>Invariants</h2>
 * <ol>
 *   <li>All fields are little endian; u64 values are Java longs read unsigned
 *       ({@link org.jbtrfs.format.Le}; compare with {@link java.lang.Long#compareUnsigned}).</li>
 *   <li>Keys order as btrfs_comp_cpu_keys(): objectid, type, offset, unsigned
 *       ({@link org.jbtrfs.format.DiskKey#compareTo}).</li>
 *   <li>A decoder never reads outside the item it was given: every variable part is checked
 *       against the item size first and a short item is a
 *       {@link org.jbtrfs.CorruptImageException} (package-private {@code ItemBounds}).</li>
 *   <li>decode(encode(x)) equals x and encode(decode(b)) equals b for every codec (round-trip tests
 *       in the test tree).</li>
 *   <li>The superblock layout adds up to 4096 bytes (checked in its static initializer).</li>
 * </ol>
 *
 * <p>This package depends on nothing else in jbtrfs but the exception types of {@code org.jbtrfs}.
 */
package org.jbtrfs.format;
