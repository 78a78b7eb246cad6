/**
 * The background workers a writable filesystem owns and the order they start and stop in
 * (btrfs's transaction kthread and cleaner kthread, btrfs_remount, close_ctree).
 *
 * <h2>What it owns</h2>
 * <ul>
 *   <li>{@link org.jbtrfs.lifecycle.TransactionThread} — commits the running transaction every
 *       {@code commit=N} seconds, and at once when kicked.</li>
 *   <li>{@link org.jbtrfs.lifecycle.Cleaner} — runs delayed iputs (evictions of inodes whose last
 *       name and last open handle are gone) in the background, under its mutex, then drops dead
 *       roots (deleted subvolumes, {@code subvol.DeadRoots}) in bounded steps that stop when a
 *       remount, an unmount or anyone else waits for the mutex ({@code Cleaner.shouldYield}), then
 *       deletes unused block groups; starts no transaction once the filesystem is read-only.</li>
 * </ul>
 * The {@code Filesystem} starts and stops them: at open (writable) the transaction thread and the
 * cleaner start; at remount read-only and at close, in this order: stop the transaction thread,
 * wait for the cleaner to go idle (take its mutex), run the pending delayed iputs, commit, then
 * (close) stop the cleaner and the space reclaimer and check that nothing is left (seed 003).
 *
 * <h2>Dependencies</h2>
 * Workers call back through the small interfaces defined here; this package calls nothing above
 * it, and only {@code race} and the JDK below.
 */
package org.jbtrfs.lifecycle;
