package org.jbtrfs.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.jbtrfs.bench.Workload.FileSum;
import org.junit.jupiter.api.Test;

class ReadBenchmarkTest {
    @Test
    void parsesArguments() throws Exception {
        ReadBenchmark.parse(new String[] {"--size-mb", "128", "--runs=2", "--keep", "/tmp/x", "--no-verify-data-csums"});
        assertThrows(ReadBenchmark.UsageException.class, () -> ReadBenchmark.parse(new String[] {"--runs", "0"}));
        assertThrows(ReadBenchmark.UsageException.class, () -> ReadBenchmark.parse(new String[] {"--size-mb", "8"}));
        assertThrows(ReadBenchmark.UsageException.class, () -> ReadBenchmark.parse(new String[] {"--size-mb"}));
        assertThrows(ReadBenchmark.UsageException.class, () -> ReadBenchmark.parse(new String[] {"--bogus"}));
        ReadBenchmark.UsageException help = assertThrows(ReadBenchmark.UsageException.class,
                () -> ReadBenchmark.parse(new String[] {"--help"}));
        assertEquals("", help.getMessage());
    }

    @Test
    void median() {
        assertEquals(2.0, ReadBenchmark.median(new double[] {3, 1, 2}));
        assertEquals(2.5, ReadBenchmark.median(new double[] {4, 1, 2, 3}));
        assertEquals(7.0, ReadBenchmark.median(new double[] {7}));
    }

    @Test
    void verifyNamesEveryDifference() {
        Map<String, FileSum> want = Map.of("small/a", new FileSum(10, 1), "small/b", new FileSum(20, 2), "small/c", new FileSum(1, 3));
        ReadBenchmark.verify("t", "small", want, want);
        Map<String, FileSum> got = Map.of("small/a", new FileSum(10, 1), "small/b", new FileSum(20, 9), "small/d", new FileSum(1, 3));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> ReadBenchmark.verify("t", "small", got, want));
        assertTrue(e.getMessage().contains("3 file(s) differ"), e.getMessage());
        assertTrue(e.getMessage().contains("small/b: jbtrfs read 20 bytes crc32c 00000009, kernel 20 bytes crc32c 00000002"), e.getMessage());
        assertTrue(e.getMessage().contains("small/c: not found by jbtrfs"), e.getMessage());
        assertTrue(e.getMessage().contains("small/d: found by jbtrfs only"), e.getMessage());
    }
}
