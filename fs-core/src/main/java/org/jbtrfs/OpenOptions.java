package org.jbtrfs;

/**
 * How to open an image.
 *
 * @param readOnly         open without writing anything: no transaction ever starts
 * @param cacheLimitBytes  byte limit of the extent buffer cache
 * @param verifyDataCsums  verify data checksums on every read (tree blocks are always verified)
 * @param commitSeconds    the transaction thread commits at least this often (btrfs's commit=N)
 */
public record OpenOptions(boolean readOnly, long cacheLimitBytes, boolean verifyDataCsums, int commitSeconds) {
    public static final long DEFAULT_CACHE_LIMIT_BYTES = 64L << 20;
    /** btrfs's default commit interval, BTRFS_DEFAULT_COMMIT_INTERVAL. */
    public static final int DEFAULT_COMMIT_SECONDS = 30;

    public OpenOptions {
        if (commitSeconds <= 0) {
            throw new IllegalArgumentException("commit interval must be positive, not " + commitSeconds);
        }
    }

    public OpenOptions(boolean readOnly, long cacheLimitBytes, boolean verifyDataCsums) {
        this(readOnly, cacheLimitBytes, verifyDataCsums, DEFAULT_COMMIT_SECONDS);
    }

    public static OpenOptions readOnlyDefaults() {
        return new OpenOptions(true, DEFAULT_CACHE_LIMIT_BYTES, false);
    }

    public OpenOptions withVerifyDataCsums(boolean v) {
        return new OpenOptions(readOnly, cacheLimitBytes, v, commitSeconds);
    }

    public OpenOptions withCacheLimitBytes(long v) {
        return new OpenOptions(readOnly, v, verifyDataCsums, commitSeconds);
    }

    public OpenOptions withCommitSeconds(int seconds) {
        return new OpenOptions(readOnly, cacheLimitBytes, verifyDataCsums, seconds);
    }
}
