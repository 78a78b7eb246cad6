package org.jbtrfs.format;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.jbtrfs.CorruptImageException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Structs whose every byte is a field (no reserved or padding bytes): any bytes at all decode,
 * and encode back to exactly the same bytes. Random bytes reach values (negative u64, top-bit u32,
 * odd flags) that hand-written cases miss. Also the embedded structs that have no length-checked
 * decoder (keys, timespecs, dev items, backup roots) and the order of keys.
 */
class FixedStructTest {
    /** Bytes in, bytes out: decode then encode. */
    @FunctionalInterface
    interface RoundTrip {
        byte[] apply(byte[] b, int off) throws CorruptImageException;
    }

    static Stream<Arguments> structs() {
        return Stream.of(
                Arguments.of("DiskKey", DiskKey.SIZE, (RoundTrip) (b, off) -> {
                    byte[] out = new byte[DiskKey.SIZE];
                    DiskKey.read(b, off).write(out, 0);
                    return out;
                }),
                Arguments.of("Timespec", Timespec.SIZE, (RoundTrip) (b, off) -> {
                    byte[] out = new byte[Timespec.SIZE];
                    Timespec.read(b, off).write(out, 0);
                    return out;
                }),
                Arguments.of("DevItem", DevItem.SIZE, (RoundTrip) (b, off) -> DevItem.read(b, off).toBytes()),
                Arguments.of("BlockGroupItem", BlockGroupItem.SIZE,
                        (RoundTrip) (b, off) -> BlockGroupItem.decode(b, off, BlockGroupItem.SIZE).encode()),
                Arguments.of("FreeSpaceInfo", FreeSpaceInfo.SIZE,
                        (RoundTrip) (b, off) -> FreeSpaceInfo.decode(b, off, FreeSpaceInfo.SIZE).encode()),
                Arguments.of("DevExtent", DevExtent.SIZE, (RoundTrip) (b, off) -> DevExtent.decode(b, off, DevExtent.SIZE).encode()),
                Arguments.of("ExtentDataRef", ExtentDataRef.SIZE,
                        (RoundTrip) (b, off) -> ExtentDataRef.decode(b, off, ExtentDataRef.SIZE).encode()),
                Arguments.of("QgroupInfo", 40, (RoundTrip) (b, off) -> QgroupItems.Info.decode(b, off, 40).encode()),
                Arguments.of("QgroupLimit", 40, (RoundTrip) (b, off) -> QgroupItems.Limit.decode(b, off, 40).encode()),
                Arguments.of("QgroupStatus32", 32, (RoundTrip) (b, off) -> QgroupItems.Status.decode(b, off, 32).encode()),
                Arguments.of("QgroupStatus40", 40, (RoundTrip) (b, off) -> QgroupItems.Status.decode(b, off, 40).encode()),
                Arguments.of("FileExtentItem regular", FileExtentItem.REG_SIZE, (RoundTrip) (b, off) -> {
                    b[off + 20] = (byte) (1 + (b[off + 20] & 1)); // the type byte must be regular or prealloc
                    return FileExtentItem.decode(b, off, FileExtentItem.REG_SIZE).encode();
                }),
                Arguments.of("ChunkItem 3 stripes", ChunkItem.sizeFor(3), (RoundTrip) (b, off) -> {
                    Le.putU16(b, off + 44, 3);
                    return ChunkItem.decode(b, off, ChunkItem.sizeFor(3)).encode();
                }));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("structs")
    void randomBytesDecodeAndEncodeBackUnchanged(String name, int size, RoundTrip rt) throws CorruptImageException {
        Random r = new Random(name.hashCode());
        for (int i = 0; i < 200; i++) {
            byte[] b = FormatTestSupport.bytes(r, size + 11);
            byte[] out = rt.apply(b, 11); // the round trip may fix constrained bytes in place first
            assertArrayEquals(Arrays.copyOfRange(b, 11, 11 + size), out, name + " round " + i);
        }
    }

    @Test
    void rootBackupKeepsEveryFieldAndZeroesTheUnused() {
        RootBackup r = new RootBackup(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, -1L, -2L, -3L, 255, 1, 2, 3, 4, 0);
        byte[] b = new byte[RootBackup.SIZE + 3];
        Arrays.fill(b, (byte) 0x77);
        r.write(b, 3);
        assertEquals(r, RootBackup.read(b, 3));
        assertArrayEquals(new byte[32], Arrays.copyOfRange(b, 3 + 120, 3 + 152), "unused_64");
        assertArrayEquals(new byte[10], Arrays.copyOfRange(b, 3 + 158, 3 + RootBackup.SIZE), "unused_8");
        assertEquals(0x77, b[2] & 0xff, "writes stay inside the struct");
    }

    @Test
    void inodeItemZeroesTheReservedBytes() {
        byte[] b = new byte[InodeItem.SIZE];
        Arrays.fill(b, (byte) 0x33);
        InodeItem.read(b, 0).write(b, 0);
        assertArrayEquals(new byte[32], Arrays.copyOfRange(b, 80, 112));
        assertEquals(0x3333333333333333L, InodeItem.read(b, 0).sequence());
    }

    @Test
    void keysOrderUnsignedObjectidThenTypeThenOffset() {
        List<DiskKey> sorted = List.of(DiskKey.MIN, new DiskKey(0, 0, 1), new DiskKey(0, 1, 0), new DiskKey(1, 0, 0),
                new DiskKey(256, ItemType.INODE_ITEM, -1L), new DiskKey(256, ItemType.DIR_ITEM, 0),
                new DiskKey(Long.MAX_VALUE, 0, 0), new DiskKey(Long.MIN_VALUE, 0, 0), new DiskKey(-1L, 0xff, 0x7fffffffffffffffL),
                DiskKey.MAX);
        List<DiskKey> shuffled = new ArrayList<>(sorted);
        java.util.Collections.shuffle(shuffled, new Random(3));
        java.util.Collections.sort(shuffled);
        assertEquals(sorted, shuffled);
        byte[] b = new byte[DiskKey.SIZE];
        for (DiskKey a : sorted) {
            a.write(b, 0);
            for (DiskKey k : sorted) {
                assertEquals(Integer.signum(a.compareTo(k)), Integer.signum(DiskKey.compare(b, 0, k)), a + " vs " + k);
            }
        }
    }

    /** DiskKey.toString() claims progs' format: check the cases progs prints specially. */
    @Test
    void keysPrintAsProgsPrintsThem() {
        assertEquals("(FS_TREE ROOT_ITEM 18446744073709551615)", new DiskKey(5, ItemType.ROOT_ITEM, -1L).toString());
        assertEquals("(256 INODE_ITEM -1)", new DiskKey(256, ItemType.INODE_ITEM, -1L).toString());
        assertEquals("(0 QGROUP_INFO 1/100)", new DiskKey(0, ItemType.QGROUP_INFO, (1L << 48) | 100).toString());
        assertEquals("(0/5 QGROUP_RELATION 1/100)", new DiskKey(5, ItemType.QGROUP_RELATION, (1L << 48) | 100).toString());
        assertEquals("(0x0000000000000001 UUID_KEY_SUBVOL 0xffffffffffffffff)",
                new DiskKey(1, ItemType.UUID_KEY_SUBVOL, -1L).toString());
        assertEquals("(FIRST_CHUNK_TREE CHUNK_ITEM 22020096)", new DiskKey(256, ItemType.CHUNK_ITEM, 22020096).toString());
        assertEquals("(DEV_ITEMS DEV_ITEM 1)", new DiskKey(1, ItemType.DEV_ITEM, 1).toString());
        assertEquals("(DEV_STATS PERSISTENT_ITEM 1)", new DiskKey(0, ItemType.PERSISTENT_ITEM, 1).toString());
        assertTrue(new DiskKey(1, 250, 0).toString().contains("DEV_REPLACE"));
    }

    @Test
    void uuidsPrintLikeUuidUnparse() {
        byte[] u = {0x94 - 256, 0x63, 0x2e, (byte) 0xd6, 0x16, (byte) 0xb7, 0x4f, (byte) 0xfd, (byte) 0xb5, 0x3b,
            (byte) 0xac, (byte) 0xa5, 0x34, 0x0c, 0x03, 0x17};
        assertEquals("94632ed6-16b7-4ffd-b53b-aca5340c0317", Uuids.toString(u));
        assertTrue(Uuids.isZero(new byte[16]));
    }
}
