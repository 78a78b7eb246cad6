package org.jbtrfs.ctree;

import org.jbtrfs.format.Header;

/**
 * struct btrfs_path: the blocks from a root down to a leaf and the slot taken in each. Holds a user
 * reference on every block in it; {@link #close()} releases them.
 */
public final class Path implements AutoCloseable {
    final ExtentBuffer[] nodes = new ExtentBuffer[Header.MAX_LEVEL];
    final int[] slots = new int[Header.MAX_LEVEL];

    public ExtentBuffer leaf() {
        return nodes[0];
    }

    public int slot() {
        return slots[0];
    }

    void setSlot(int slot) {
        slots[0] = slot;
    }

    /** Replaces the block held at {@code level}, releasing the previous one. */
    void set(int level, ExtentBuffer eb, int slot) {
        if (nodes[level] != null) {
            nodes[level].release();
        }
        nodes[level] = eb;
        slots[level] = slot;
    }

    @Override
    public void close() {
        for (int i = 0; i < nodes.length; i++) {
            if (nodes[i] != null) {
                nodes[i].release();
                nodes[i] = null;
            }
        }
    }
}
