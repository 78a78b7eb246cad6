package org.jbtrfs.disk;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.jbtrfs.CorruptImageException;
import org.jbtrfs.Filesystem;
import org.jbtrfs.InodeId;
import org.jbtrfs.OpenOptions;
import org.jbtrfs.UnsupportedImageException;
import org.jbtrfs.ctree.TreeRoot;
import org.jbtrfs.device.ChunkMap;
import org.jbtrfs.device.MemoryBlockDevice;
import org.jbtrfs.format.Features;
import org.jbtrfs.format.ItemType;
import org.jbtrfs.format.ObjectIds;
import org.jbtrfs.format.Superblock;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Opening images: the newest valid superblock copy wins, a bad DUP copy of a tree block falls back
 * to the good one, a block with no good copy is an error naming it and both mirrors, data
 * checksums are verified on request, and what jbtrfs does not support is refused by name.
 */
class OpenAndMirrorTest {
    @TempDir
    static Path tmp;
    static byte[] image;
    static byte[] fileData;

    @BeforeAll
    static void build() throws Exception {
        Path root = Files.createDirectories(tmp.resolve("root"));
        fileData = new byte[256 * 1024];
        new Random(3).nextBytes(fileData);
        Files.write(root.resolve("data.bin"), fileData);
        for (int i = 0; i < 300; i++) {
            Files.writeString(root.resolve("f" + i), "file " + i);
        }
        image = Files.readAllBytes(MkfsImages.make(tmp.resolve("x.img"), root, 128L << 20));
    }

    static Filesystem open(byte[] img, boolean verifyData) throws IOException {
        return Filesystem.open(new MemoryBlockDevice(img, true), OpenOptions.readOnlyDefaults().withVerifyDataCsums(verifyData));
    }

    static byte[] readAll(Filesystem fs, String path) throws IOException {
        InodeId id = fs.resolve(path);
        byte[] b = new byte[(int) fs.getattr(id).size()];
        assertEquals(b.length, fs.read(id, 0, b, 0, b.length));
        return b;
    }

    @Test
    void aDamagedPrimarySuperblockFallsBackToTheMirror() throws IOException {
        byte[] img = image.clone();
        img[(int) Superblock.MIRROR_OFFSETS[0] + 100] ^= 0x5a;
        try (Filesystem fs = open(img, false)) {
            assertEquals(1, fs.fsInfo().superMirror());
            assertArrayEquals(fileData, readAll(fs, "/data.bin"));
        }
        img[(int) Superblock.MIRROR_OFFSETS[1] + 100] ^= 0x5a;
        CorruptImageException e = assertThrows(CorruptImageException.class, () -> open(img, false));
        assertTrue(e.getMessage().contains("no valid superblock"), e.getMessage());
    }

    @Test
    void aBadDupCopyOfATreeBlockFallsBackAndTwoBadCopiesNameBothMirrors() throws IOException {
        long fsTreeBlock;
        long[] phys;
        try (Filesystem fs = open(image, false)) {
            TreeRoot r = fs.fsInfo().treeRoot(ObjectIds.FS_TREE);
            fsTreeBlock = r.bytenr();
            phys = fs.fsInfo().chunkMap().map(fsTreeBlock, fs.fsInfo().nodesize());
        }
        assertEquals(2, phys.length, "metadata is DUP");
        byte[] img = image.clone();
        img[(int) phys[0] + 200] ^= 1;
        try (Filesystem fs = open(img, false)) {
            assertEquals(301, fs.list(fs.root()).size(), "read through the second copy");
        }
        img[(int) phys[1] + 300] ^= 1;
        CorruptImageException e = assertThrows(CorruptImageException.class, () -> {
            try (Filesystem fs = open(img, false)) {
                fs.list(fs.root());
            }
        });
        {
            String m = e.getMessage();
            assertTrue(m.contains(Long.toString(fsTreeBlock)) && m.contains("mirror 1") && m.contains("mirror 2")
                    && m.contains("checksum mismatch"), m);
        }
    }

    @Test
    void dataChecksumsAreVerifiedOnRequest() throws IOException {
        long logical;
        long[] phys;
        try (Filesystem fs = open(image, false)) {
            InodeId id = fs.resolve("/data.bin");
            List<Long> bytenrs = new ArrayList<>();
            fs.fsInfo().btree().scan(fs.fsInfo().treeRoot(ObjectIds.FS_TREE),
                    new org.jbtrfs.format.DiskKey(id.ino(), ItemType.EXTENT_DATA, 0),
                    new org.jbtrfs.format.DiskKey(id.ino(), ItemType.EXTENT_DATA, -1L), (k, b, o, l) -> {
                        bytenrs.add(org.jbtrfs.format.FileExtentItem.decode(b, o, l).diskBytenr());
                        return true;
                    });
            logical = bytenrs.get(0);
            phys = fs.fsInfo().chunkMap().map(logical, 4096);
        }
        byte[] img = image.clone();
        img[(int) phys[0] + 5000] ^= 0x10; // second sector of the first extent
        try (Filesystem fs = open(img, false)) {
            byte[] got = readAll(fs, "/data.bin");
            assertEquals(fileData[5000] ^ 0x10, got[5000], "without verification the damaged byte is returned");
        }
        try (Filesystem fs = open(img, true)) {
            CorruptImageException e = assertThrows(CorruptImageException.class, () -> readAll(fs, "/data.bin"));
            assertTrue(e.getMessage().contains("data checksum mismatch at logical " + (logical + 4096))
                    && e.getMessage().contains("mirror 1"), e.getMessage());
            byte[] first = new byte[4096];
            assertEquals(4096, fs.read(fs.resolve("/data.bin"), 0, first, 0, 4096), "an intact sector still reads");
            assertArrayEquals(java.util.Arrays.copyOf(fileData, 4096), first);
        }
    }

    @Test
    void refusesUnknownIncompatBitsAndSeveralDevices() throws IOException {
        byte[] img = image.clone();
        patchSuper(img, sb -> sb.setIncompatFlags(sb.incompatFlags() | (1L << 40)));
        UnsupportedImageException e = assertThrows(UnsupportedImageException.class, () -> open(img, false));
        assertTrue(e.getMessage().contains("unsupported incompat features") && e.getMessage().contains("bit 40"), e.getMessage());

        byte[] img2 = image.clone();
        patchSuper(img2, sb -> sb.setNumDevices(2));
        e = assertThrows(UnsupportedImageException.class, () -> open(img2, false));
        assertTrue(e.getMessage().contains("2 devices"), e.getMessage());

        byte[] img3 = image.clone();
        patchSuper(img3, sb -> sb.setIncompatFlags(sb.incompatFlags() | Features.INCOMPAT_RAID56));
        e = assertThrows(UnsupportedImageException.class, () -> open(img3, false));
        assertTrue(e.getMessage().contains("RAID56"), e.getMessage());
    }

    @Test
    void refusesARaid1FilesystemOnTwoDevices() throws Exception {
        Path a = tmp.resolve("a.img");
        Path b = tmp.resolve("b.img");
        Files.write(b, new byte[0]);
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(b.toFile(), "rw")) {
            f.setLength(256L << 20);
        }
        MkfsImages.make(a, null, 256L << 20, "-d", "raid1", "-m", "raid1", b.toString());
        UnsupportedImageException e = assertThrows(UnsupportedImageException.class,
                () -> Filesystem.open(a, OpenOptions.readOnlyDefaults()));
        assertTrue(e.getMessage().contains("single-device") || e.getMessage().contains("RAID1"), e.getMessage());
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"crc32c", "xxhash", "sha256", "blake2"})
    void readsAndVerifiesEveryChecksumAlgorithm(String csum) throws Exception {
        Path img = MkfsImages.make(tmp.resolve("csum-" + csum + ".img"), tmp.resolve("root"), 128L << 20, "--csum", csum);
        try (Filesystem fs = Filesystem.open(img, OpenOptions.readOnlyDefaults().withVerifyDataCsums(true))) {
            assertTrue(fs.fsInfo().csumType().displayName().startsWith(csum.substring(0, 4)), fs.fsInfo().csumType().displayName());
            assertArrayEquals(fileData, readAll(fs, "/data.bin"));
            assertEquals(301, fs.list(fs.root()).size());
        }
    }

    @Test
    void mapsEveryChunkOfTheImage() throws IOException {
        try (Filesystem fs = open(image, false)) {
            List<ChunkMap.Mapping> chunks = fs.fsInfo().chunks();
            assertTrue(chunks.size() >= 3, "system, metadata and data chunks: " + chunks);
            for (ChunkMap.Mapping m : chunks) {
                for (long p : fs.fsInfo().chunkMap().map(m.logical(), 4096)) {
                    assertTrue(p >= 0 && p + m.length() <= image.length, "stripe inside the device: " + m);
                }
            }
        }
    }

    /** Changes the superblock at every copy and re-checksums it. */
    static void patchSuper(byte[] img, java.util.function.Consumer<Superblock> change) {
        for (long off : Superblock.MIRROR_OFFSETS) {
            if (off + Superblock.SIZE > img.length) {
                continue;
            }
            byte[] b = java.util.Arrays.copyOfRange(img, (int) off, (int) off + Superblock.SIZE);
            Superblock sb = new Superblock(b);
            change.accept(sb);
            sb.updateCsum();
            System.arraycopy(b, 0, img, (int) off, b.length);
        }
    }
}
