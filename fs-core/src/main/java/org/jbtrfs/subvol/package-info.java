/**
 * Subvolumes and snapshots: how the directory tree shows them, and how they are deleted
 * (fixup_tree_root_location() and the default-subvolume lookup in super.c; btrfs_delete_subvolume
 * in inode.c; btrfs_drop_snapshot and its walk in extent-tree.c; btrfs_find_orphan_roots in
 * root-tree.c).
 *
 * <h2>What it owns</h2>
 * <ul>
 *   <li>{@link org.jbtrfs.subvol.Subvolumes} resolves a directory entry pointing at a ROOT_ITEM
 *       into the subvolume's top directory when the root tree links it there (ROOT_REF), and into
 *       the empty placeholder directory (inode 2) otherwise, as the kernel does for subvolumes
 *       nested in the source of a snapshot.</li>
 *   <li>{@link org.jbtrfs.subvol.SubvolumeDeletion} — the first half of a deletion, in the
 *       deleting transaction: links gone, ROOT_ITEM refs 0 and DEAD, an orphan item, UUID entries
 *       gone.</li>
 *   <li>{@link org.jbtrfs.subvol.DropSnapshot} — the second half: the dead tree freed by a walk
 *       that drops references (shared blocks: only ours; FULL_BACKREF conversions where the dead
 *       tree owned a shared block), in bounded steps whose progress is in the ROOT_ITEM.</li>
 *   <li>{@link org.jbtrfs.subvol.DeadRoots} — the queue of dead roots and the step loop the cleaner
 *       runs; dead roots are found again at every read-write mount, never at a read-only one.</li>
 * </ul>
 *
 * <h2>Invariants</h2>
 * <ol>
 *   <li>A drop step leaves drop_progress/drop_level in the ROOT_ITEM in the same transaction as
 *       the references it dropped: every commit has a position before which the tree is freed and
 *       after which it is whole (DeadRootsTest: a half-dropped image checks clean and resumes).</li>
 *   <li>A block shared with another tree is never freed by a drop; one the dead tree owned is
 *       FULL_BACKREF before our reference goes (the checker's owner ref check, btrfs check).</li>
 *   <li>No transaction for dead roots on a read-only filesystem (DeadRoots runs only from the
 *       cleaner, which checks under its mutex that the filesystem is writable).</li>
 * </ol>
 *
 * <p>May use {@code format}, {@code ctree}, {@code disk}, {@code extent} (delayed refs, extent
 * info), {@code transaction} (handles, trees) and {@code race}; never {@code inode} or above.
 */
package org.jbtrfs.subvol;
