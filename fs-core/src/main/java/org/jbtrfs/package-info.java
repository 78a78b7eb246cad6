/**
 * The public API of the jbtrfs engine.
 *
 * <p>{@link org.jbtrfs.Filesystem} opens an image ({@link org.jbtrfs.OpenOptions}) and answers
 * inode-based operations: {@code lookup}, {@code getattr} ({@link org.jbtrfs.Attr}),
 * {@code readdir} ({@link org.jbtrfs.DirEntry}, with resumable offsets), {@code read},
 * {@code readlink}, {@code listxattr}/{@code getxattr} and {@code statfs}
 * ({@link org.jbtrfs.StatFs}). Inodes are named by {@link org.jbtrfs.InodeId} (subvolume, inode
 * number), since inode numbers repeat across subvolumes. The FUSE adapter, the command line and
 * embedded users all come through here; nothing outside fs-core reaches below it except tools
 * that print trees ({@link org.jbtrfs.Filesystem#fsInfo()}).
 *
 * <h2>Errors</h2>
 * <ul>
 *   <li>{@link org.jbtrfs.FsException}: a request the filesystem refuses, with its
 *       {@link org.jbtrfs.Errno} (ENOENT, ENOTDIR, ENAMETOOLONG, ENODATA, EROFS, ...).</li>
 *   <li>{@link org.jbtrfs.CorruptImageException}: the image is damaged; the message names block,
 *       mirror, slot and what was found against what was expected. Maps to EIO.</li>
 *   <li>{@link org.jbtrfs.UnsupportedImageException}: a valid image using what jbtrfs refuses
 *       (several devices, RAID profiles, unknown incompat features).</li>
 * </ul>
 * No unchecked exception escapes for bad disk contents: that is tested by the fuzz test, which
 * flips bytes in real images.
 *
 * <h2>Layering</h2>
 * API → {@code inode}, {@code subvol} → {@code disk} (FsInfo) → {@code ctree} → {@code device};
 * {@code format} and {@code compress} are leaves used by all. Lower layers never call up.
 */
package org.jbtrfs;
