/**
 * Subvolumes and snapshots as the directory tree shows them (the kernel's
 * fixup_tree_root_location() and the default-subvolume lookup in super.c).
 *
 * <p>{@link org.jbtrfs.subvol.Subvolumes} resolves a directory entry pointing at a ROOT_ITEM into
 * the subvolume's top directory when the root tree links it there (ROOT_REF), and into the empty
 * placeholder directory (inode 2) otherwise, as the kernel does for subvolumes nested in the source
 * of a snapshot.
 *
 * <p>May use {@code format}, {@code ctree}, {@code disk}.
 */
package org.jbtrfs.subvol;
