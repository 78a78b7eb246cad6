package org.jbtrfs.ctree;

import org.jbtrfs.format.Le;

/** Where a tree starts: its id (the owner in block headers), root block address, level and generation. */
public record TreeRoot(long id, long bytenr, int level, long generation) {
    @Override
    public String toString() {
        return "tree " + Le.u64s(id) + " at " + Le.u64s(bytenr) + " level " + level + " gen " + Le.u64s(generation);
    }
}
