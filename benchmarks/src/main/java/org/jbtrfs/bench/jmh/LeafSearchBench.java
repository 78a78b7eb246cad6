package org.jbtrfs.bench.jmh;

import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.jbtrfs.ctree.ExtentBuffer;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.Header;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Binary search of a full 16K leaf ({@code ExtentBuffer.binarySearch}, keys compared in place in
 * the block's bytes) beside {@link Arrays#binarySearch} over the same keys as DiskKey objects.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class LeafSearchBench {
    static final int NODESIZE = 16384;
    /** A full leaf of items with 32 bytes of data each: (16384 - 101) / (25 + 32). */
    static final int ITEMS = (NODESIZE - Header.SIZE) / (25 + 32);

    ExtentBuffer leaf;
    DiskKey[] keys;
    final DiskKey[] probes = new DiskKey[1024];
    int next;

    @Setup
    public void setup() {
        leaf = ExtentBuffer.allocate(1L << 30, NODESIZE);
        Header.setLevel(leaf.data(), 0);
        leaf.setNritems(ITEMS);
        keys = new DiskKey[ITEMS];
        for (int i = 0; i < ITEMS; i++) {
            keys[i] = new DiskKey(256 + i / 4, 1 + (i % 4) * 11, i * 4096L);
            leaf.setKey(i, keys[i]);
        }
        java.util.Random r = new java.util.Random(7);
        for (int i = 0; i < probes.length; i++) {
            probes[i] = keys[r.nextInt(ITEMS)];
        }
    }

    @Benchmark
    public int leafBinarySearch() {
        return leaf.binarySearch(probes[next++ & (probes.length - 1)]);
    }

    @Benchmark
    public int arraysBinarySearch() {
        return Arrays.binarySearch(keys, probes[next++ & (probes.length - 1)]);
    }
}
