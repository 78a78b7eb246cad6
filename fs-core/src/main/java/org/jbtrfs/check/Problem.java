package org.jbtrfs.check;

/**
 * One inconsistency the checker found: which part of the filesystem ({@code area}: "extent",
 * "fs-tree 5", "csum", "free-space", "chunk", "root", "block-group", "superblock", "tree 2", ...)
 * and a one-line message naming the tree, the key or bytenr, and what was found against what was
 * expected.
 */
public record Problem(String area, String message) {
    public Problem {
        if (area == null || area.isEmpty() || message == null || message.isEmpty()) {
            throw new IllegalArgumentException("a problem needs an area and a message");
        }
        assert message.indexOf('\n') < 0 : "problem messages are one line: " + message;
    }

    @Override
    public String toString() {
        return area + ": " + message;
    }
}
