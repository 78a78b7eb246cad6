package org.jbtrfs.device;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.jbtrfs.CorruptImageException;
import org.jbtrfs.UnsupportedImageException;
import org.jbtrfs.format.BlockGroupItem;
import org.jbtrfs.format.ChunkItem;
import org.junit.jupiter.api.Test;

/** Logical to physical mapping of SINGLE and DUP chunks, and what the map refuses. */
class ChunkMapTest {
    static final byte[] UUID = new byte[16];

    static ChunkItem chunk(long length, long type, long... physical) {
        List<ChunkItem.Stripe> s = new java.util.ArrayList<>();
        for (long p : physical) {
            s.add(new ChunkItem.Stripe(1, p, UUID));
        }
        return new ChunkItem(length, 2, 65536, type, 65536, 65536, 4096, 0, s);
    }

    @Test
    void mapsSingleAndDup() throws Exception {
        ChunkMap m = new ChunkMap(1);
        m.add(1L << 30, chunk(8 << 20, BlockGroupItem.DATA, 20L << 20));
        m.add(2L << 30, chunk(8 << 20, BlockGroupItem.METADATA | BlockGroupItem.DUP, 40L << 20, 48L << 20));
        assertArrayEquals(new long[] {(20L << 20) + 4096}, m.map((1L << 30) + 4096, 4096));
        assertArrayEquals(new long[] {(40L << 20) + 16384, (48L << 20) + 16384}, m.map((2L << 30) + 16384, 16384));
    }

    @Test
    void refusesWhatItCannotMap() throws Exception {
        ChunkMap m = new ChunkMap(1);
        m.add(1L << 30, chunk(8 << 20, BlockGroupItem.DATA, 20L << 20));
        assertThrows(CorruptImageException.class, () -> m.map(5, 4096), "below every chunk");
        assertThrows(CorruptImageException.class, () -> m.map((1L << 30) + (8 << 20) - 2048, 4096), "crosses the end");
        assertThrows(CorruptImageException.class,
                () -> m.add((1L << 30) + 4096, chunk(8 << 20, BlockGroupItem.DATA, 90L << 20)), "overlap");
        UnsupportedImageException raid = assertThrows(UnsupportedImageException.class,
                () -> m.add(4L << 30, chunk(8 << 20, BlockGroupItem.DATA | BlockGroupItem.RAID1, 1, 2)));
        assertTrue(raid.getMessage().contains("RAID1"), raid.getMessage());
        ChunkMap other = new ChunkMap(2);
        assertThrows(UnsupportedImageException.class, () -> other.add(0, chunk(1 << 20, BlockGroupItem.DATA, 0)),
                "stripe on another device");
        assertThrows(CorruptImageException.class,
                () -> m.add(6L << 30, chunk(8 << 20, BlockGroupItem.METADATA | BlockGroupItem.DUP, 1L << 20)),
                "DUP with one stripe");
    }
}
