package org.jbtrfs;

import org.jbtrfs.format.Timespec;

/**
 * The changes of one setattr(2)-family call; null fields stay as they are. {@code mode} holds the
 * permission bits (and set-id and sticky bits) only: the file type never changes. A size change
 * truncates or extends a regular file. ctime follows any change unless given.
 */
public record SetAttr(Integer mode, Integer uid, Integer gid, Long size, Timespec atime, Timespec mtime, Timespec ctime) {
    public static SetAttr chmod(int mode) {
        return new SetAttr(mode, null, null, null, null, null, null);
    }

    public static SetAttr chown(int uid, int gid) {
        return new SetAttr(null, uid, gid, null, null, null, null);
    }

    public static SetAttr truncate(long size) {
        return new SetAttr(null, null, null, size, null, null, null);
    }

    public static SetAttr times(Timespec atime, Timespec mtime) {
        return new SetAttr(null, null, null, null, atime, mtime, null);
    }
}
