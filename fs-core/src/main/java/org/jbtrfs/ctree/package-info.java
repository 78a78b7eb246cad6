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
 *   <li>The cache never drops a buffer that has users, is dirty, or is under read, readahead or
 *       writeback: eviction tests all of that and drops the cache's reference (TREE_REF) in one CAS
 *       ({@code ExtentBuffer.tryReleaseTreeRef}; seed 004). IO starts and ends only on a buffer
 *       holding TREE_REF (asserted in {@code ExtentBuffer.startIo/endRead/startWriteback}); a
 *       {@link org.jbtrfs.ctree.Path} releases every buffer it holds when closed; a release below
 *       zero fails an assert.</li>
 *   <li>At most one read is in flight per block: readers and readahead of a block being read wait
 *       for that read ({@link org.jbtrfs.ctree.ExtentBufferCache#get}); a buffer is born under IO
 *       before it is published, and nobody sees its bytes before it is uptodate.</li>
 *   <li>The cache stays under its byte limit except while every buffer is in use.</li>
 * </ol>
 *
 * <h2>Threads and locks</h2>
 * Cache lookups take no lock; sweeps are serialised by the cache's eviction lock, a leaf lock that
 * is only tried. Readahead reads run on the filesystem's own workers
 * ({@link org.jbtrfs.ctree.Readahead}, made by its {@link org.jbtrfs.ctree.TreeBlockReader}, or an
 * executor given to the reader), which {@code disk.FsInfo.close} stops before the device closes:
 * queued and in-flight reads end first, later readahead starts nothing
 * ({@code ReadaheadLifecycleTest}).
 * Read-only buffers are immutable once published, so readers share them freely.
 *
 * <p>May use {@code format} and {@code device}; may not call {@code disk}, {@code inode} or above.
 */
package org.jbtrfs.ctree;
