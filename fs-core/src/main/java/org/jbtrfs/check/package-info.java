/**
 * jbtrfs's own consistency checker: what {@code btrfs check --readonly} verifies, as a library
 * that every test image (and {@code jbtrfs check}) runs through next to btrfs-progs.
 *
 * <h2>What it owns</h2>
 * {@link org.jbtrfs.check.Checker} runs the passes over an opened
 * {@link org.jbtrfs.disk.FsInfo} and returns a {@link org.jbtrfs.check.CheckReport} of
 * {@link org.jbtrfs.check.Problem}s (area + one line naming tree, key or bytenr, have and expect);
 * {@link org.jbtrfs.check.CheckOptions} says whether data checksums are read and how many
 * problems are kept. The rest is package-private:
 * <ul>
 *   <li>{@code TreeWalker} — walks every tree, checks blocks, records references (RefTable);</li>
 *   <li>{@code ChunkCheck} — chunks, device extents, devices, sys_chunk_array;</li>
 *   <li>{@code RootTreeCheck} — ROOT_ITEMs, ROOT_REF/ROOT_BACKREF, orphan roots, the UUID tree;</li>
 *   <li>{@code FsTreeCheck}, {@code FileExtentCheck} — inodes, names, directories, file extents;</li>
 *   <li>{@code CsumCheck} — the csum tree and, on request, the data it covers;</li>
 *   <li>{@code ExtentCheck}, {@code BackrefMatch} — the extent tree merged with the references,
 *       block groups, bytes_used;</li>
 *   <li>{@code FreeSpaceCheck} — the free space tree per block group;</li>
 *   <li>{@code RefTable}, {@code RangeList}, {@code LongHashSet} — primitive-array structures that
 *       keep memory at tens of bytes per extent, range or block.</li>
 * </ul>
 *
 * <h2>What it mirrors</h2>
 * btrfs-progs {@code check/main.c} (original mode: the reference-collecting tree walk,
 * check_extent_refs, check_block_groups, check_chunks_and_extents, check_root_refs,
 * check_csums), {@code check/mode-lowmem.c} (check_inode_item, check_dir_item,
 * check_file_extent, check_tree_block_ref, check_extent_item: lookups instead of in-memory
 * records, which is how the fs tree checks stay bounded), {@code check/mode-common.c}
 * (count_csum_range, check_prealloc_extent_written), {@code kernel-shared/free-space-tree.c}
 * (how free space is read back). Facts were taken from there; the code is ours.
 *
 * <h2>Invariants checked</h2>
 * <ol>
 *   <li><b>Tree blocks</b> (TreeWalker): every block reachable from the superblock reads cleanly
 *       (checksum, bytenr, fsid, structure, and the level, generation and first key its parent
 *       promised); its keys stay below the parent's next key; owner is the tree (any subvolume
 *       for a subvolume tree: snapshots share blocks); generation not above the parent's or the
 *       superblock's; in a METADATA chunk (SYSTEM for the chunk tree), not across a 64 KiB stripe;
 *       no block twice in one tree, and only subvolume trees share blocks.</li>
 *   <li><b>Extents</b> (ExtentCheck, BackrefMatch): every tree block and every on-disk file
 *       extent has its extent item, with a backref of the right kind (TREE_BLOCK_REF by the
 *       parent's owner or SHARED_BLOCK_REF when the parent is FULL_BACKREF; EXTENT_DATA_REF by
 *       root, inode, offset or SHARED_DATA_REF) whose count equals its referrers; refs equals the
 *       sum of the backrefs and is not 0; no backref without referrers; extents aligned, not
 *       overlapping, in a block group of their kind; a tree block's level and generation match
 *       its extent item; file extents name their extent's start and size.</li>
 *   <li><b>Block groups and devices</b> (ExtentCheck, ChunkCheck): one BLOCK_GROUP_ITEM per
 *       chunk with the chunk's length and flags; used equals the sum of its extents;
 *       superblock bytes_used the sum of all; chunks well formed, not overlapping, SYSTEM chunks
 *       identical in sys_chunk_array; device extents and chunk stripes one to one; device
 *       bytes_used the sum of its device extents; total_bytes consistent and within the image.</li>
 *   <li><b>Free space tree</b> (FreeSpaceCheck), when enabled and valid: per block group a
 *       FREE_SPACE_INFO, extents or bitmaps as its flag says, extent_count right, free space
 *       exactly the block group minus its extents (superblock copy ranges left out).</li>
 *   <li><b>Checksums</b> (CsumCheck, FileExtentCheck): csum items aligned, whole, not
 *       overlapping, inside data extents; every sector of a regular extent of a datasum inode
 *       has a csum, NODATASUM inodes and unwritten PREALLOC extents have none; with data
 *       checking, every csum matches the data on some copy.</li>
 *   <li><b>Subvolume trees</b> (FsTreeCheck): INODE_ITEM for every inode; nlink equals its
 *       names, directories have one; names match DIR_ITEM and DIR_INDEX both ways, with type
 *       and location; hashes match keys; directory i_size is twice the name bytes; file extents
 *       well formed, not overlapping, no gaps without NO_HOLES, no regular extent past i_size;
 *       nbytes adds up; nlink-0 inodes have orphan items.</li>
 *   <li><b>Roots</b> (RootTreeCheck): required trees exist; ROOT_REF and ROOT_BACKREF pair up
 *       and match the directory entries; subvolumes are linked or orphaned; dead roots have
 *       orphan items; UUID tree entries name subvolumes with that uuid.</li>
 * </ol>
 * Not (yet) checked: qgroup numbers (btrfs check --qgroup-report), the v1 space cache's contents,
 * superblock mirrors and backup roots against the primary, log tree contents beyond their
 * blocks, inline-ref ordering inside extent items, device stats and replace items, inode flags
 * beyond the symlink rule. A dead subvolume whose drop has started is not walked (its freed part
 * would read as damage); backrefs naming it are tolerated.
 *
 * <h2>Threads and memory</h2>
 * A run is single-threaded and reads only. Per run it keeps 40 bytes per extent reference, 16
 * per csum or data extent range, 8 per tree block, one inode's state, and per block group its
 * allocated ranges; lookups go through the engine's bounded extent buffer cache.
 *
 * <p>May use {@code format}, {@code device}, {@code ctree} and {@code disk}; no other engine
 * package depends on it, and it never writes.
 */
package org.jbtrfs.check;
