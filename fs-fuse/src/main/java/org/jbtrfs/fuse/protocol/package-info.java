/**
 * The kernel's FUSE protocol spoken directly on /dev/fuse: mounting ({@link
 * org.jbtrfs.fuse.protocol.DevFuse}), the wire format ({@link org.jbtrfs.fuse.protocol.FuseAbi}),
 * and a multithreaded session with INIT and INTERRUPT ({@link
 * org.jbtrfs.fuse.protocol.FuseSession}). It knows nothing of btrfs: a
 * {@link org.jbtrfs.fuse.protocol.FuseSession.Handler} answers the requests.
 */
package org.jbtrfs.fuse.protocol;
