package org.jbtrfs;

import org.jbtrfs.format.Le;

/**
 * Names an inode across subvolumes: the subvolume tree it lives in and its inode number there.
 * Inode numbers repeat across subvolumes (every subvolume's top directory is 256), which is why
 * the kernel gives each subvolume its own st_dev and why jbtrfs carries the root with the number.
 */
public record InodeId(long root, long ino) {
    @Override
    public String toString() {
        return Le.u64s(root) + ":" + Le.u64s(ino);
    }
}
