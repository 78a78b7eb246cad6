package org.jbtrfs.compress;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jbtrfs.CorruptImageException;
import org.junit.jupiter.api.Test;

/** The compression byte of a file extent item, table-driven against compression.h. */
class CompressionTypeTest {

    /** enum btrfs_compression_type, as in the kernel. */
    private static final Object[][] KERNEL = {
        {0, CompressionType.NONE}, {1, CompressionType.ZLIB}, {2, CompressionType.LZO}, {3, CompressionType.ZSTD},
    };

    @Test
    void codesMatchTheKernel() throws Exception {
        assertEquals(KERNEL.length, CompressionType.values().length);
        for (Object[] row : KERNEL) {
            int code = (Integer) row[0];
            CompressionType type = (CompressionType) row[1];
            assertEquals(code, type.code(), type.name());
            assertSame(type, CompressionType.fromCode(code));
        }
    }

    @Test
    void unknownCodesAreCorruption() {
        for (int code : new int[] {-1, 4, 5, 255, 256, Integer.MAX_VALUE, Integer.MIN_VALUE}) {
            CorruptImageException e = assertThrows(CorruptImageException.class, () -> CompressionType.fromCode(code));
            assertTrue(e.getMessage().contains(Integer.toString(code)), e.getMessage());
        }
    }
}
