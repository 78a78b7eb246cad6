package org.jbtrfs.bench.jmh;

import java.io.IOException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.jbtrfs.ctree.ExtentBuffer;
import org.jbtrfs.ctree.ExtentBufferCache;
import org.jbtrfs.format.Header;
import org.jbtrfs.format.Le;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * An extent buffer cache hit ({@code get} + {@code release} of a cached block, as every step of a
 * search does) beside two floors: {@link #chmGet}, a {@link ConcurrentHashMap} get keyed by the
 * same block addresses (the floor: any address-keyed map costs that), and
 * {@link #chmGetMixedKeys}, the same get keyed as the cache keys its own map
 * ({@link ExtentBufferCache#mapKey}), so that the ratio to it is the cost of the reference
 * protocol alone (the two atomic adds of tryRetain and release).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class CacheHitBench {
    static final int NODESIZE = 4096;
    static final int BLOCKS = 1024;
    static final ExtentBufferCache.Loader LOADER = (bytenr, into) -> Le.putU64(into, Header.OFF_BYTENR, bytenr);

    ExtentBufferCache cache;
    final ConcurrentHashMap<Long, Object> map = new ConcurrentHashMap<>();
    final ConcurrentHashMap<Long, Object> mixedMap = new ConcurrentHashMap<>();

    @Setup
    public void setup() throws IOException {
        cache = new ExtentBufferCache(4L * BLOCKS * NODESIZE);
        for (int i = 0; i < BLOCKS; i++) {
            long bytenr = bytenr(i);
            ExtentBuffer eb = cache.get(bytenr, NODESIZE, LOADER);
            map.put(bytenr, eb);
            mixedMap.put(ExtentBufferCache.mapKey(bytenr), eb);
            eb.release();
        }
    }

    static long bytenr(int i) {
        return (1L << 30) + (long) i * NODESIZE;
    }

    /** Each thread walks its own pseudo-random sequence of blocks. */
    @State(Scope.Thread)
    public static class Cursor {
        final long[] keys = new long[4096];
        int next;

        @Setup
        public void setup() {
            java.util.Random r = new java.util.Random(Thread.currentThread().getId());
            for (int i = 0; i < keys.length; i++) {
                keys[i] = bytenr(r.nextInt(BLOCKS));
            }
        }

        long key() {
            return keys[next++ & (keys.length - 1)];
        }
    }

    @Benchmark
    public ExtentBuffer cacheHit(Cursor c) throws IOException {
        ExtentBuffer eb = cache.get(c.key(), NODESIZE, LOADER);
        eb.release();
        return eb;
    }

    @Benchmark
    public Object chmGet(Cursor c) {
        return map.get(c.key());
    }

    @Benchmark
    public Object chmGetMixedKeys(Cursor c) {
        return mixedMap.get(ExtentBufferCache.mapKey(c.key()));
    }
}
