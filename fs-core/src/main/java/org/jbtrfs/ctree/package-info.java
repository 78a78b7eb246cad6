/**
 * B-trees over extent buffers (the kernel's ctree.c, extent_io.c for buffers, disk-io.c for reading
 * tree blocks, tree-checker.c).
 *
 * <p>{@link org.jbtrfs.ctree.ExtentBuffer} is a tree block in memory with an explicit reference
 * protocol; {@link org.jbtrfs.ctree.ExtentBufferCache} keeps them under a byte limit;
 * {@link org.jbtrfs.ctree.TreeBlockReader} reads and verifies blocks, falling back to the DUP
 * copy; {@link org.jbtrfs.ctree.BTree} searches and walks trees with a
 * {@link org.jbtrfs.ctree.Path}.
 *
 * <h2>Invariants</h2>
 * <ol>
 *   <li>No block is handed out unverified: checksum, bytenr, fsid, structure (package-private
 *       {@code TreeChecker}) and what the parent pointer promised — level, generation, first key
 *       ({@link org.jbtrfs.ctree.TreeBlockReader}).</li>
 *   <li>A child's level is its parent's minus one, so no walk can loop
 *       ({@code TreeBlockReader.verifyExpected}).</li>
 *   <li>The cache never drops a buffer with users ({@link org.jbtrfs.ctree.ExtentBuffer#users()});
 *       a {@link org.jbtrfs.ctree.Path} releases every buffer it holds when closed; a release
 *       below zero fails an assert.</li>
 *   <li>The cache stays under its byte limit except while every buffer is in use.</li>
 * </ol>
 *
 * <h2>Threads and locks</h2>
 * Cache lookups take no lock; sweeps are serialised by the cache's eviction lock, a leaf lock.
 * Read-only buffers are immutable once published, so readers share them freely.
 *
 * <p>May use {@code format} and {@code device}; may not call {@code disk}, {@code inode} or above.
 */
package org.jbtrfs.ctree;
