package org.jbtrfs.ctree;

import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.jbtrfs.format.Header;

/**
 * struct btrfs_root as far as the tree code needs it: the current root block of a tree, which
 * changes as the tree is modified, and the root of the last commit, which does not.
 *
 * <p>{@link #lock} guards {@link #node} and every dirty block reachable from it: writers hold it
 * exclusively for a whole operation (search with COW plus the change), readers of the current
 * state share it. Readers of {@link #commitRoot()} need no lock, since committed blocks are never
 * changed in place. (The kernel locks each block; one lock per tree is the first step and keeps the
 * same rule: never hold a tree lock while waiting for space or IO of another tree.)
 */
public final class CowRoot {
    private final long id;
    /** Guards {@link #node} and the dirty blocks of this tree. Rank: tree locks, below the transaction. */
    public final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    /** The current root block, referenced by this object. Guarded by {@link #lock}. */
    private ExtentBuffer node;
    private volatile TreeRoot commitRoot;

    public CowRoot(long id, ExtentBuffer node, TreeRoot commitRoot) {
        this.id = id;
        this.node = node;
        this.commitRoot = commitRoot;
    }

    public long id() {
        return id;
    }

    /** The current root block; caller holds {@link #lock}. */
    public ExtentBuffer node() {
        assert lock.isWriteLockedByCurrentThread() || lock.getReadHoldCount() > 0 : "root " + id + " not locked";
        return node;
    }

    /** Replaces the root block (after COW, a new root level, or a collapse); takes over a reference. */
    void setNode(ExtentBuffer eb) {
        assert lock.isWriteLockedByCurrentThread() : "root " + id + " not write locked";
        ExtentBuffer old = node;
        node = eb;
        if (old != null) {
            old.release();
        }
    }

    /** The current state as a TreeRoot for read-only searches; caller holds {@link #lock}. */
    public TreeRoot current() {
        ExtentBuffer n = node();
        return new TreeRoot(id, n.bytenr(), n.level(), Header.generation(n.data()));
    }

    public TreeRoot commitRoot() {
        return commitRoot;
    }

    /** Called by the commit once the current root is on disk. */
    public void setCommitRoot(TreeRoot r) {
        this.commitRoot = r;
    }
}
