package org.jbtrfs.ctree;

import java.io.IOException;
import java.util.concurrent.locks.Lock;

/**
 * Where readers find the root of each tree, and what they hold while they search it.
 *
 * <p>A read-only open answers with the committed roots of the superblock, which never change, and
 * a lock that does nothing. A writable filesystem answers with each tree's current root — the one
 * the running transaction edits — and that tree's read lock ({@link CowRoot#lock}), because blocks
 * COWed in the running transaction are changed in place and must not be read half-edited.
 */
public interface TreeRoots {
    /** The root to search tree {@code id} at now, or null when the filesystem has no such tree. */
    TreeRoot treeRoot(long id) throws IOException;

    /**
     * The lock a reader of tree {@code id} holds from {@link #treeRoot} until it has what it reads.
     * Only asked for trees that exist.
     */
    Lock readLock(long id) throws IOException;
}
