package org.jbtrfs.format;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import org.jbtrfs.device.ChunkMap;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The four checksum algorithms against published test vectors, and against real images made by
 * mkfs.btrfs with each --csum: the superblock and the chunk root block must verify, and our hex
 * of the stored checksum must be what dump-super prints.
 */
class CsumTypeTest {
    @TempDir
    Path dir;

    /**
     * Vectors: CRC-32C "123456789" (RFC 3720 check value 0xe3069283, stored little endian);
     * XXH64 of "" with seed 0 (0xef46db3751d8e999, the xxHash reference), stored little endian;
     * SHA-256 and BLAKE2b-256 of "abc" and "" (FIPS 180-2; RFC 7693 reference code).
     */
    @ParameterizedTest
    @CsvSource({
        "CRC32C, 123456789, 839206e3",
        "CRC32C, '', 00000000",
        "XXHASH64, '', 99e9d85137db46ef",
        "SHA256, abc, ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        "SHA256, '', e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "BLAKE2B, abc, bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319",
        "BLAKE2B, '', 0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8"})
    void knownVectors(CsumType type, String input, String expectHex) {
        byte[] data = input.getBytes(StandardCharsets.US_ASCII);
        byte[] padded = new byte[data.length + 10];
        System.arraycopy(data, 0, padded, 3, data.length);
        byte[] field = type.compute(padded, 3, data.length);
        assertEquals(CsumType.CSUM_FIELD_SIZE, field.length);
        assertEquals(expectHex, HexFormat.of().formatHex(field, 0, type.size()));
        assertArrayEquals(new byte[CsumType.CSUM_FIELD_SIZE - type.size()],
                java.util.Arrays.copyOfRange(field, type.size(), CsumType.CSUM_FIELD_SIZE), "the rest of the field is zero");
        assertEquals("0x" + expectHex, type.hex(field, 0));
        assertTrue(type.matches(padded, 3, data.length, field, 0));
        field[0] ^= 1;
        assertFalse(type.matches(padded, 3, data.length, field, 0));
    }

    @Test
    void codesSizesAndNamesAreBtrfsTreeH() {
        assertEquals(List.of(0, 1, 2, 3), java.util.Arrays.stream(CsumType.values()).map(CsumType::code).toList());
        assertEquals(List.of(4, 8, 32, 32), java.util.Arrays.stream(CsumType.values()).map(CsumType::size).toList());
        assertEquals("xxhash64", CsumType.XXHASH64.displayName());
        assertNull(CsumType.fromCode(4));
        assertNull(CsumType.fromCode(-1));
    }

    /** mkfs's --csum name, our type, and progs' dump-super name (progs says blake2, not blake2b). */
    @ParameterizedTest
    @CsvSource({"crc32c, CRC32C, crc32c", "xxhash, XXHASH64, xxhash64", "sha256, SHA256, sha256", "blake2, BLAKE2B, blake2"})
    void realImagesVerify(String mkfsName, CsumType type, String progsName) throws IOException {
        Assumptions.assumeTrue(FormatTestSupport.haveProgs(), "skipped: needs btrfs-progs");
        Path img = FormatTestSupport.mkfs(dir, mkfsName + ".img", "--csum", mkfsName);
        Superblock sb = new Superblock(FormatTestSupport.primarySuper(img));
        assertEquals(type, sb.csumType());
        assertDoesNotThrow(() -> sb.validate(65536));
        String dump = FormatTestSupport.runOrFail(List.of("btrfs", "inspect-internal", "dump-super", img.toString()));
        assertTrue(dump.contains("csum_type\t\t" + type.code() + " (" + progsName + ")"), dump);
        assertTrue(dump.contains("csum\t\t\t" + type.hex(sb.storedCsum(), 0) + " [match]"), dump);
        // The chunk root lives in a SYSTEM chunk, so the sys_chunk_array alone maps it.
        ChunkMap chunks = new ChunkMap(sb.devItem().devid());
        chunks.loadSysChunkArray(sb.sysChunkArray());
        int nodesize = (int) sb.nodesize();
        for (long physical : chunks.map(sb.chunkRoot(), nodesize)) {
            byte[] block = new byte[nodesize];
            try (var ch = java.nio.channels.FileChannel.open(img)) {
                ch.read(java.nio.ByteBuffer.wrap(block), physical);
            }
            assertEquals(sb.chunkRoot(), Header.bytenr(block));
            assertTrue(Header.csumMatches(block, type), "chunk root copy at " + physical);
            byte[] copy = block.clone();
            Header.updateCsum(copy, type);
            assertArrayEquals(block, copy, "recomputing the checksum gives what mkfs wrote");
        }
    }
}
