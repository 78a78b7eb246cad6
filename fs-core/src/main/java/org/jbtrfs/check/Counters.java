package org.jbtrfs.check;

/** What a run looked at, for the summary line. Single-threaded, like {@link Findings}. */
final class Counters {
    long trees;
    long treeBlocks;
    long treeBytes;
    long items;
    long inodes;
    long names;
    long fileExtents;
    long dataExtents;
    long metadataExtents;
    long blockGroups;
    long chunks;
    long csumBytes;
    long dataBytesVerified;
    long treesSkipped;
}
