/**
 * The FUSE frontend (issue "The FUSE mount"): a thin jnr-fuse adapter over the fs-core API.
 *
 * <p>What it will own: translating FUSE paths to {@link org.jbtrfs.InodeId}s (keyed by inode so a
 * low-level /dev/fuse frontend can replace it), mapping {@link org.jbtrfs.FsException} errnos and
 * corruption (EIO) into FUSE replies, turning FUSE_INTERRUPT into Thread.interrupt of the serving
 * thread, the {@code jbtrfs mount} main and the {@code mount.fuse.jbtrfs} helper contract.
 *
 * <p>What it may not do: any filesystem logic. Everything it answers comes from fs-core.
 */
package org.jbtrfs.fuse;
