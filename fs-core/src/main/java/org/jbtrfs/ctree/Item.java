package org.jbtrfs.ctree;

import org.jbtrfs.format.DiskKey;

/** A leaf item copied out of its block: key and data bytes. */
public record Item(DiskKey key, byte[] data) {
    public int size() {
        return data.length;
    }
}
