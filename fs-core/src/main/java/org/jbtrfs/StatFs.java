package org.jbtrfs;

/** statfs(2) as btrfs_statfs() reports it; block counts in units of {@code bsize}. */
public record StatFs(long bsize, long blocks, long bfree, long bavail, long files, long ffree, int namelen, byte[] fsid) {
    /** BTRFS_SUPER_MAGIC, the f_type the kernel reports. */
    public static final long BTRFS_SUPER_MAGIC = 0x9123683EL;
}
