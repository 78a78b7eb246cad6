package org.jbtrfs.bench.jmh;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.jbtrfs.FsException;
import org.jbtrfs.format.BlockGroupItem;
import org.jbtrfs.space.FlushPolicy;
import org.jbtrfs.space.SpaceInfo;
import org.jbtrfs.space.SpaceInfos;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * The reservation fast path: {@code SpaceInfos.reserveBytes} + {@code SpaceInfo.freeBytesMayUse}
 * of one tree block with plenty of space (no ticket, no flush), beside its floor: the same
 * reserve and release as compare-and-set on one AtomicLong, which is what any lock-free counter
 * of may_use would cost at least.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class ReservationBench {
    static final int NODESIZE = 16384;
    static final long METADATA_BYTES = 1L << 30;

    SpaceInfos spaces;
    SpaceInfo metadata;
    final AtomicLong mayUse = new AtomicLong();

    @Setup
    public void setup() {
        spaces = new SpaceInfos(NODESIZE, 4096, 0, BlockGroupItem.DUP, BlockGroupItem.DUP, true, () -> 0L);
        metadata = spaces.metadata();
        metadata.addBlockGroup(METADATA_BYTES, 0, 0);
    }

    @Benchmark
    public void reserveRelease() throws FsException {
        spaces.reserveBytes(metadata, NODESIZE, FlushPolicy.NO_FLUSH);
        metadata.freeBytesMayUse(NODESIZE);
    }

    @Benchmark
    public long casFloor() {
        while (true) {
            long v = mayUse.get();
            if (v + NODESIZE > METADATA_BYTES) {
                throw new IllegalStateException("full");
            }
            if (mayUse.compareAndSet(v, v + NODESIZE)) {
                break;
            }
        }
        while (true) {
            long v = mayUse.get();
            if (mayUse.compareAndSet(v, v - NODESIZE)) {
                return v;
            }
        }
    }
}
