/**
 * JMH benchmarks of the hot paths, each beside a floor measured in the same run
 * ({@link org.jbtrfs.bench.jmh.JmhSuite}, {@code bin/jmh}): the reservation fast path vs an
 * AtomicLong compare-and-set ({@link org.jbtrfs.bench.jmh.ReservationBench}), an extent buffer
 * cache hit vs a ConcurrentHashMap get ({@link org.jbtrfs.bench.jmh.CacheHitBench}), a cache miss
 * read from a file vs the bare read ({@link org.jbtrfs.bench.jmh.CacheMissBench}), leaf binary
 * search vs Arrays.binarySearch ({@link org.jbtrfs.bench.jmh.LeafSearchBench}), and delayed ref
 * insertion and merge ({@link org.jbtrfs.bench.jmh.DelayedRefsBench}, no floor).
 */
package org.jbtrfs.bench.jmh;
