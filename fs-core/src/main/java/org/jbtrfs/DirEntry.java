package org.jbtrfs;

import java.nio.charset.StandardCharsets;

/**
 * One directory entry from readdir: the raw name, the inode it leads to, its type as a BTRFS_FT_*
 * value, and the offset to pass to the next readdir call to continue after this entry.
 */
public record DirEntry(byte[] rawName, InodeId target, int fileType, long nextOffset) {
    public String name() {
        return new String(rawName, StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        return name() + " -> " + target + " (type " + fileType + ", next " + nextOffset + ")";
    }
}
