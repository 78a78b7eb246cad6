package org.jbtrfs;

/**
 * How to open an image.
 *
 * @param readOnly         open without writing anything (the only mode until the write core lands)
 * @param cacheLimitBytes  byte limit of the extent buffer cache
 * @param verifyDataCsums  verify data checksums on every read (tree blocks are always verified)
 */
public record OpenOptions(boolean readOnly, long cacheLimitBytes, boolean verifyDataCsums) {
    public static final long DEFAULT_CACHE_LIMIT_BYTES = 64L << 20;

    public static OpenOptions readOnlyDefaults() {
        return new OpenOptions(true, DEFAULT_CACHE_LIMIT_BYTES, false);
    }

    public OpenOptions withVerifyDataCsums(boolean v) {
        return new OpenOptions(readOnly, cacheLimitBytes, v);
    }

    public OpenOptions withCacheLimitBytes(long v) {
        return new OpenOptions(readOnly, v, verifyDataCsums);
    }
}
