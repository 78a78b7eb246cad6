package org.jbtrfs.check;

/**
 * What a {@link Checker} run does.
 *
 * @param checkDataCsums read every sector that has a data checksum and verify it (btrfs check
 *                       --check-data-csum); reads all data, so it costs a pass over the image
 * @param maxProblems    problems kept in the report; more are counted but not kept, so a badly
 *                       damaged image cannot exhaust memory (at least 1)
 */
public record CheckOptions(boolean checkDataCsums, int maxProblems) {
    /** Problems kept by {@link #defaults()}. */
    public static final int DEFAULT_MAX_PROBLEMS = 1000;

    public CheckOptions {
        if (maxProblems < 1) {
            throw new IllegalArgumentException("maxProblems must be at least 1, not " + maxProblems);
        }
    }

    /** Metadata checks only, keeping up to {@value #DEFAULT_MAX_PROBLEMS} problems. */
    public static CheckOptions defaults() {
        return new CheckOptions(false, DEFAULT_MAX_PROBLEMS);
    }

    public CheckOptions withCheckDataCsums(boolean v) {
        return new CheckOptions(v, maxProblems);
    }
}
