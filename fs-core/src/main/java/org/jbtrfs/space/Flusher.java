package org.jbtrfs.space;

import java.io.IOException;

/**
 * The work the reclaimer can ask of the rest of the engine to make space: flush_space()'s cases in
 * space-info.c, as hooks. The write core (transaction, extent, inode) implements it; this package
 * never calls those packages any other way.
 *
 * <h2>Contract</h2>
 * <ul>
 *   <li>Hooks are called with no space_info or block_rsv lock held, from a
 *       {@link SpaceReclaimer} worker or from a thread making a priority reservation
 *       ({@link FlushPolicy#isPriority()}). They may block, do IO, join and commit transactions.</li>
 *   <li>Space that a hook frees goes back through {@link SpaceInfo}'s compound operations
 *       ({@link SpaceInfo#freeBytesMayUse}, {@link SpaceInfo#unpinBytes},
 *       {@link SpaceInfo#addBlockGroup}, ...), which grant waiting tickets at once.</li>
 *   <li>A hook must not make a reservation whose policy {@link FlushPolicy#mayCommit() may
 *       commit}: it would wait for the reclaimer that is running it. Use NO_FLUSH, FLUSH_LIMIT or
 *       FLUSH_EMERGENCY (the kernel's rule for a task holding a transaction).</li>
 *   <li>A hook that has nothing to do returns at once. A hook that fails throws; the reclaimer
 *       logs the failure and moves on to the next stage, as flush_space() does. A failure that
 *       means the filesystem is broken (transaction aborted) must also make {@link #fsError()}
 *       true, so waiting tickets fail with EIO instead of ENOSPC.</li>
 *   <li>{@link #allocateChunk} either adds a block group to the space_info
 *       ({@link SpaceInfo#addBlockGroup}) or, when no device space is left, marks it
 *       {@link SpaceInfo#setFull full}.</li>
 * </ul>
 */
public interface Flusher {
    /** {@link #runDelayedItems}, {@link #runDelayedRefs}: every item, not a count. */
    long ALL = Long.MAX_VALUE;

    /** FLUSH_DELAYED_ITEMS(_NR): run up to {@code items} delayed inode items ({@link #ALL}). */
    void runDelayedItems(long items) throws IOException;

    /**
     * FLUSH_DELALLOC(_WAIT, _FULL): start writeback of about {@code bytes} of dirty file data
     * ({@link #ALL}: everything), and if {@code waitOrdered}, wait for the ordered extents.
     */
    void flushDelalloc(long bytes, boolean waitOrdered) throws IOException;

    /** FLUSH_DELAYED_REFS(_NR): run up to {@code count} delayed ref heads ({@link #ALL}). */
    void runDelayedRefs(long count) throws IOException;

    /** ALLOC_CHUNK(_FORCE): allocate a chunk of {@code type}; {@code force} even if not due. */
    void allocateChunk(SpaceType type, boolean force) throws IOException;

    /** RUN_DELAYED_IPUTS: run the delayed iputs and wait for them. */
    void runDelayedIputs() throws IOException;

    /** COMMIT_TRANS: join the running transaction, if any, and commit it. */
    void commitTransaction() throws IOException;

    /**
     * BTRFS_FS_ERROR(): the filesystem aborted a transaction; reclaim can free nothing more. Read
     * between stages; a plain flag read.
     */
    default boolean fsError() {
        return false;
    }

    /** A flusher that can free nothing: for a read-only filesystem and for tests. */
    Flusher NONE = new Flusher() {
        @Override
        public void runDelayedItems(long items) {}

        @Override
        public void flushDelalloc(long bytes, boolean waitOrdered) {}

        @Override
        public void runDelayedRefs(long count) {}

        @Override
        public void allocateChunk(SpaceType type, boolean force) {}

        @Override
        public void runDelayedIputs() {}

        @Override
        public void commitTransaction() {}

        @Override
        public String toString() {
            return "Flusher.NONE";
        }
    };
}
