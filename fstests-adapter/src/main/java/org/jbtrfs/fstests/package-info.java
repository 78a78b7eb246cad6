/**
 * The generic/269 port (issue "Space reservation tickets ..."): an fsstress-like workload with a
 * filler writing until ENOSPC, killing the workers (threads embedded, processes through a real FUSE
 * mount), unmounting and checking that nothing leaked and that our checker and {@code btrfs check}
 * agree the image is consistent; plus what it takes to run the real fstests with FSTYP=fuse.
 *
 * <p>It drives the engine only through the public fs-core API or a mounted filesystem.
 */
package org.jbtrfs.fstests;
