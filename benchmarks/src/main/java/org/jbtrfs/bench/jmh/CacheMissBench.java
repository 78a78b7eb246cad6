package org.jbtrfs.bench.jmh;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.jbtrfs.ctree.ExtentBuffer;
import org.jbtrfs.ctree.ExtentBufferCache;
import org.jbtrfs.device.FileBlockDevice;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * A cache miss: a lookup of a block that is not cached, read from a file (in the page cache) into
 * a new buffer, then inserted and evicted again by the next misses, because the cache holds 1/64
 * of the file. Beside it, the same read straight from the file into a reused array.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class CacheMissBench {
    static final int NODESIZE = 16384;
    static final int BLOCKS = 4096;

    Path file;
    FileBlockDevice device;
    ExtentBufferCache cache;
    ExtentBufferCache.Loader loader;
    final long[] keys = new long[8192];
    final byte[] scratch = new byte[NODESIZE];
    int next;

    @Setup
    public void setup() throws IOException {
        file = Files.createTempFile("jbtrfs-jmh-miss", ".img");
        byte[] block = new byte[NODESIZE];
        try (var ch = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.WRITE)) {
            for (int i = 0; i < BLOCKS; i++) {
                block[0] = (byte) i;
                ch.write(java.nio.ByteBuffer.wrap(block), (long) i * NODESIZE);
            }
        }
        device = FileBlockDevice.open(file, true);
        cache = new ExtentBufferCache(ExtentBufferCache.MIN_LIMIT_BYTES);
        loader = (bytenr, into) -> device.read(bytenr, into, 0, into.length);
        java.util.Random r = new java.util.Random(42);
        for (int i = 0; i < keys.length; i++) {
            keys[i] = (long) r.nextInt(BLOCKS) * NODESIZE;
        }
    }

    @TearDown
    public void tearDown() throws IOException {
        device.close();
        Files.deleteIfExists(file);
    }

    @Benchmark
    public ExtentBuffer cacheMiss() throws IOException {
        ExtentBuffer eb = cache.get(keys[next++ & (keys.length - 1)], NODESIZE, loader);
        eb.release();
        return eb;
    }

    @Benchmark
    public byte[] fileRead() throws IOException {
        device.read(keys[next++ & (keys.length - 1)], scratch, 0, NODESIZE);
        return scratch;
    }
}
