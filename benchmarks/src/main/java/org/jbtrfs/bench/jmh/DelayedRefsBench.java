package org.jbtrfs.bench.jmh;

import java.util.concurrent.TimeUnit;
import org.jbtrfs.extent.DelayedRefs;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Delayed ref insertion and merge: a tree block ref ADD then DROP of the same block (the second
 * merges with and cancels the first, as a COW of a block allocated in the same transaction does),
 * and data ref ADDs spread over 4096 extents so heads are both found and created.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class DelayedRefsBench {
    static final long TRANSID = 7;
    static final int EXTENTS = 4096;

    DelayedRefs refs;
    long n;

    @Setup(Level.Iteration)
    public void setup() {
        refs = new DelayedRefs(TRANSID);
        n = 0;
    }

    @Benchmark
    public int treeRefAddDropMerge() {
        long bytenr = (1L << 30) + (n++ % EXTENTS) * 16384;
        refs.addTreeRef(bytenr, 16384, 0, 5, 0, DelayedRefs.Action.ADD, false, null, TRANSID);
        refs.addTreeRef(bytenr, 16384, 0, 5, 0, DelayedRefs.Action.DROP, false, null, TRANSID);
        return refs.numHeads();
    }

    @Benchmark
    public int dataRefAdd() {
        long i = n++;
        long bytenr = (2L << 30) + (i % EXTENTS) * 4096;
        refs.addDataRef(bytenr, 4096, 5, 257 + (i & 63), 0, 0, DelayedRefs.Action.ADD, 1, false, TRANSID);
        return refs.numHeads();
    }
}
