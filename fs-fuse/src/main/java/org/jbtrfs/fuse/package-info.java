/**
 * The FUSE frontend (issue "The FUSE mount"): a thin adapter ({@link org.jbtrfs.fuse.JbtrfsFuse})
 * from kernel requests, by node id, to the fs-core API, served by our own implementation of the
 * /dev/fuse protocol ({@link org.jbtrfs.fuse.protocol}); the {@code jbtrfs mount} daemon
 * ({@link org.jbtrfs.fuse.FuseDaemon}) and the {@code mount.fuse.jbtrfs} helper contract.
 *
 * <p>What it owns: node ids and the kernel's lookup counts, open file handles, errno mapping
 * (corruption is EIO), FUSE_INTERRUPT → {@link java.lang.Thread#interrupt()} of the serving
 * thread, mount options, following remounts.
 *
 * <p>What it may not do: any filesystem logic. Everything it answers comes from fs-core.
 */
package org.jbtrfs.fuse;
