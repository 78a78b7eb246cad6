package org.jbtrfs.space;

/**
 * One step of reclaim, in escalating order of cost: enum btrfs_flush_state (space-info.h), with
 * the kernel's numbering. {@link SpaceReclaimer#flushSpace} maps each to a {@link Flusher} hook.
 */
public enum FlushState {
    /** Run about twice as many delayed inode items as the bytes wanted would need. */
    FLUSH_DELAYED_ITEMS_NR(1),
    /** Run every delayed inode item. */
    FLUSH_DELAYED_ITEMS(2),
    /** Run about as many delayed refs as the bytes wanted would need. */
    FLUSH_DELAYED_REFS_NR(3),
    /** Run every delayed ref. */
    FLUSH_DELAYED_REFS(4),
    /** Start writeback of some delalloc, without waiting for ordered extents. */
    FLUSH_DELALLOC(5),
    /** Start writeback of some delalloc and wait for its ordered extents. */
    FLUSH_DELALLOC_WAIT(6),
    /** Write back all delalloc and wait (skipped on the first trip through the states). */
    FLUSH_DELALLOC_FULL(7),
    /** Allocate a chunk if the allocator thinks one is due. */
    ALLOC_CHUNK(8),
    /** Allocate a chunk whatever the allocator thinks (skipped on the first trip). */
    ALLOC_CHUNK_FORCE(9),
    /** Run delayed iputs: unlinked inodes' space comes back as delayed refs and pins. */
    RUN_DELAYED_IPUTS(10),
    /** Commit the transaction: pinned extents become free. */
    COMMIT_TRANS(11);

    /** The kernel's value of this state (trace output uses it). */
    public final int code;

    FlushState(int code) {
        this.code = code;
        assert ordinal() + 1 == code : this + " is out of the kernel's order";
    }

    /** The state with kernel value {@code code}. */
    static FlushState ofCode(int code) {
        FlushState s = values()[code - 1];
        assert s.code == code : code;
        return s;
    }
}
