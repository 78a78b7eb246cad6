package org.jbtrfs.mkfs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.jbtrfs.Attr;
import org.jbtrfs.Filesystem;
import org.jbtrfs.OpenOptions;
import org.jbtrfs.check.CheckAssertions;
import org.jbtrfs.device.ChunkMap;
import org.jbtrfs.device.MemoryBlockDevice;
import org.jbtrfs.format.BlockGroupItem;
import org.jbtrfs.format.CsumType;
import org.jbtrfs.format.Superblock;
import org.jbtrfs.mkfs.MkfsOptions.Profile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Images made by {@link Mkfs} for a table of sizes, node sizes, checksums, profiles and labels:
 * each passes our checker and btrfs check, opens in our reader with an empty root directory, and
 * carries the superblock fields and chunk layout asked for.
 */
class MkfsTest {
    private static final long MIB = 1L << 20;

    @TempDir
    Path tmp;

    static Stream<Arguments> configs() {
        return Stream.of(
                Arguments.of(128 * MIB, 16384, CsumType.CRC32C, Profile.DUP, ""),
                Arguments.of(256 * MIB, 4096, CsumType.XXHASH64, Profile.DUP, "jbtrfs-test"),
                Arguments.of(1024 * MIB, 65536, CsumType.SHA256, Profile.DUP, "ünïcødé label"),
                Arguments.of(128 * MIB, 16384, CsumType.BLAKE2B, Profile.SINGLE, "single"),
                Arguments.of(MkfsLayout.minimumBytes(Profile.DUP, Profile.SINGLE), 16384, CsumType.CRC32C, Profile.DUP, "min"),
                Arguments.of(MkfsLayout.minimumBytes(Profile.SINGLE, Profile.SINGLE), 4096, CsumType.CRC32C, Profile.SINGLE, ""));
    }

    @ParameterizedTest(name = "{0} bytes, nodesize {1}, {2}, metadata {3}")
    @MethodSource("configs")
    void formatsACleanEmptyFilesystem(long size, int nodesize, CsumType csum, Profile meta, String label) throws IOException {
        Path img = tmp.resolve("fs.img");
        byte[] fsid = uuid(1);
        byte[] devUuid = uuid(2);
        MkfsOptions o = MkfsOptions.defaults(size).withNodesize(nodesize).withCsumType(csum).withMetadataProfile(meta)
                .withLabel(label).withUuids(fsid, devUuid);
        Mkfs.Result r = Mkfs.format(img, o);
        assertEquals(size, Files.size(img), "a missing image is created with the filesystem's size");
        CheckAssertions.assertClean(img);

        try (Filesystem fs = Filesystem.open(img, OpenOptions.readOnlyDefaults())) {
            assertEquals(List.of(), fs.list(fs.root()), "the root directory is empty");
            Attr a = fs.getattr(fs.root());
            assertEquals(040755, a.mode());
            assertEquals(1, a.nlink());
            Superblock sb = fs.fsInfo().superblock();
            assertEquals(1, sb.generation());
            assertEquals(label, sb.label());
            assertEquals(nodesize, sb.nodesize());
            assertEquals(4096, sb.sectorsize());
            assertEquals(csum, sb.csumType());
            assertEquals(size, sb.totalBytes());
            assertEquals(Mkfs.INCOMPAT_FLAGS, sb.incompatFlags());
            assertEquals(Mkfs.COMPAT_RO_FLAGS, sb.compatRoFlags());
            assertArrayEquals(fsid, sb.fsid());
            assertArrayEquals(devUuid, sb.devItem().uuid());
            assertEquals(r.layout().deviceBytesUsed(), sb.devItem().bytesUsed());
            List<ChunkMap.Mapping> chunks = fs.fsInfo().chunks();
            assertEquals(3, chunks.size());
            for (MkfsLayout.Chunk c : r.layout().chunks()) {
                ChunkMap.Mapping m = fs.fsInfo().chunkMap().find(c.logical());
                assertEquals(c.length(), m.length());
                assertEquals(c.flags(), m.type());
                assertEquals(meta.stripes() == 2 && c.type() != BlockGroupItem.DATA ? 2 : 1, m.mirrors());
            }
        }
    }

    /** The chunk sizes mkfs.btrfs 6.2 picks (dump-tree of its images), as a table. */
    @Test
    void chunkSizesFollowProgs() {
        long[][] table = {
            // size, system, metadata (DUP)
            {128 * MIB, 8 * MIB, 32 * MIB},
            {256 * MIB, 8 * MIB, 32 * MIB},
            {1024 * MIB, 8 * MIB, 53673984},
            {10L << 30, 8 * MIB, 256 * MIB},
            {60L << 30, 8 * MIB, 1024 * MIB},
        };
        for (long[] row : table) {
            MkfsLayout l = MkfsLayout.plan(row[0], Profile.DUP, Profile.SINGLE);
            assertEquals(row[1], l.chunk(BlockGroupItem.SYSTEM).length(), "system chunk of " + row[0]);
            assertEquals(row[2], l.chunk(BlockGroupItem.METADATA).length(), "metadata chunk of " + row[0]);
            assertEquals(8 * MIB, l.chunk(BlockGroupItem.DATA).length(), "data chunk of " + row[0]);
            assertNoOverlap(l);
        }
        MkfsLayout single = MkfsLayout.plan(1024 * MIB, Profile.SINGLE, Profile.SINGLE);
        assertEquals(List.of(MIB, 5 * MIB, 13 * MIB), single.chunks().stream().map(MkfsLayout.Chunk::logical).toList(),
                "metadata single is the progs layout exactly");
        assertEquals(4 * MIB, single.chunk(BlockGroupItem.SYSTEM).length());
        assertEquals(8 * MIB, single.chunk(BlockGroupItem.METADATA).length());
    }

    private static void assertNoOverlap(MkfsLayout l) {
        List<long[]> ranges = new ArrayList<>();
        for (MkfsLayout.Chunk c : l.chunks()) {
            for (long off : c.stripeOffsets()) {
                ranges.add(new long[] {off, off + c.length()});
            }
        }
        ranges.sort((a, b) -> Long.compare(a[0], b[0]));
        long end = MkfsLayout.RESERVED_BYTES;
        for (long[] r : ranges) {
            assertTrue(r[0] >= end, "stripes overlap or enter the reserved first MiB");
            end = r[1];
        }
        assertTrue(end <= l.totalBytes());
    }

    @Test
    void refusesWhatCannotBeMade() {
        long min = MkfsLayout.minimumBytes(Profile.DUP, Profile.SINGLE);
        assertEquals(89 * MIB, min);
        IllegalArgumentException small = assertThrows(IllegalArgumentException.class,
                () -> Mkfs.format(tmp.resolve("small.img"), MkfsOptions.defaults(min - 4096)));
        assertTrue(small.getMessage().contains("at least " + min + " bytes (89 MiB)"), small.getMessage());
        for (int bad : new int[] {2048, 12288, 131072}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> MkfsOptions.defaults(min).withNodesize(bad));
            assertTrue(e.getMessage().contains("node size " + bad), e.getMessage());
        }
        String longLabel = "x".repeat(256);
        assertThrows(IllegalArgumentException.class, () -> MkfsOptions.defaults(min).withLabel(longLabel));
        MkfsOptions.defaults(min).withLabel("x".repeat(255));
        assertThrows(IllegalArgumentException.class, () -> MkfsOptions.defaults(min).withUuids(new byte[16], null));
        MemoryBlockDevice dev = new MemoryBlockDevice(new byte[(int) (min)], false);
        IllegalArgumentException big = assertThrows(IllegalArgumentException.class,
                () -> Mkfs.format(dev, MkfsOptions.defaults(min + MIB)));
        assertTrue(big.getMessage().contains("larger than the device"), big.getMessage());
        assertTrue(isAllZero(dev.bytes()), "nothing is written when the options are refused");
        assertTrue(Files.notExists(tmp.resolve("small.img")), "a refused mkfs creates no file");
    }

    @Test
    void growsASmallerFileAndNeverShrinksALargerOne() throws IOException {
        Path smaller = tmp.resolve("smaller.img");
        setLength(smaller, 10 * MIB);
        Mkfs.format(smaller, MkfsOptions.defaults(128 * MIB));
        assertEquals(128 * MIB, Files.size(smaller));
        CheckAssertions.assertClean(smaller);

        Path larger = tmp.resolve("larger.img");
        setLength(larger, 300 * MIB);
        Mkfs.Result r = Mkfs.format(larger, MkfsOptions.defaults(128 * MIB));
        assertEquals(300 * MIB, Files.size(larger), "the file keeps its length");
        assertEquals(128 * MIB, r.totalBytes());
        CheckAssertions.assertClean(larger);

        // A small filesystem at the start of a larger image: the old copy at 64 MiB is wiped and
        // none is written past the filesystem's end.
        Mkfs.format(larger, MkfsOptions.defaults(32 * MIB).withMetadataProfile(Profile.SINGLE));
        assertEquals(300 * MIB, Files.size(larger));
        CheckAssertions.assertClean(larger);
        byte[] copy = new byte[Superblock.SIZE];
        try (RandomAccessFile f = new RandomAccessFile(larger.toFile(), "r")) {
            f.seek(Superblock.MIRROR_OFFSETS[1]);
            f.readFully(copy);
        }
        assertTrue(isAllZero(copy), "no superblock copy past the end of a 32 MiB filesystem");

        Path whole = tmp.resolve("whole.img");
        setLength(whole, 200 * MIB + 1000);
        Mkfs.Result w = Mkfs.format(whole, MkfsOptions.defaults(0));
        assertEquals(200 * MIB, w.totalBytes(), "size 0 takes the whole file, rounded down to a sector");
        CheckAssertions.assertClean(whole);
    }

    /** Formatting over an old filesystem leaves only the new one: the old superblocks are gone. */
    @Test
    void reformatReplacesTheOldFilesystem() throws IOException {
        Path img = tmp.resolve("re.img");
        Mkfs.format(img, MkfsOptions.defaults(256 * MIB).withLabel("old").withUuids(uuid(7), uuid(8)));
        Mkfs.format(img, MkfsOptions.defaults(128 * MIB).withLabel("new").withMetadataProfile(Profile.SINGLE));
        CheckAssertions.assertClean(img);
        try (Filesystem fs = Filesystem.open(img, OpenOptions.readOnlyDefaults())) {
            assertEquals("new", fs.fsInfo().superblock().label());
            assertEquals(128 * MIB, fs.fsInfo().superblock().totalBytes());
        }
    }

    static byte[] uuid(int seed) {
        byte[] u = new byte[16];
        for (int i = 0; i < 16; i++) {
            u[i] = (byte) (seed * 31 + i);
        }
        return u;
    }

    private static void setLength(Path p, long len) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(len);
        }
    }

    private static boolean isAllZero(byte[] b) {
        for (byte x : b) {
            if (x != 0) {
                return false;
            }
        }
        return true;
    }

    static String utf8(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }
}
