package org.jbtrfs.format;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.zip.CRC32C;
import net.jpountz.xxhash.XXHash64;
import net.jpountz.xxhash.XXHashFactory;
import org.bouncycastle.crypto.digests.Blake2bDigest;

/**
 * Checksum algorithms (superblock {@code csum_type}, btrfs_csum_type in btrfs_tree.h). A checksum
 * field on disk is always {@link #CSUM_FIELD_SIZE} bytes; the algorithm fills the first
 * {@link #size()} bytes and the rest stays zero. Data checksums in the csum tree are packed at
 * {@link #size()} bytes per sector.
 *
 * <ul>
 *   <li>crc32c: the standard CRC-32C (seed ~0, final xor), stored little endian — the JDK's
 *       {@link CRC32C}.
 *   <li>xxhash64: XXH64 with seed 0, stored little endian (lz4-java).
 *   <li>sha256: SHA-256 (JDK).
 *   <li>blake2b: BLAKE2b with a 256-bit digest, no key (Bouncy Castle).
 * </ul>
 */
public enum CsumType {
    CRC32C(0, 4, "crc32c"),
    XXHASH64(1, 8, "xxhash64"),
    SHA256(2, 32, "sha256"),
    BLAKE2B(3, 32, "blake2b");

    /** BTRFS_CSUM_SIZE: bytes reserved for a checksum in headers and the superblock. */
    public static final int CSUM_FIELD_SIZE = 32;

    private static final XXHash64 XXH64 = XXHashFactory.fastestJavaInstance().hash64();

    private final int code;
    private final int size;
    private final String displayName;

    CsumType(int code, int size, String displayName) {
        this.code = code;
        this.size = size;
        this.displayName = displayName;
    }

    public int code() {
        return code;
    }

    /** Bytes of checksum this algorithm produces. */
    public int size() {
        return size;
    }

    public String displayName() {
        return displayName;
    }

    /** The type with that on-disk code, or null when the code is unknown. */
    public static CsumType fromCode(int code) {
        for (CsumType t : values()) {
            if (t.code == code) {
                return t;
            }
        }
        return null;
    }

    /** Computes the checksum of {@code len} bytes at {@code off} into {@code out[outOff..outOff+size)}. */
    public void compute(byte[] data, int off, int len, byte[] out, int outOff) {
        switch (this) {
            case CRC32C -> {
                CRC32C c = new CRC32C();
                c.update(data, off, len);
                Le.putU32(out, outOff, c.getValue());
            }
            case XXHASH64 -> Le.putU64(out, outOff, XXH64.hash(data, off, len, 0L));
            case SHA256 -> {
                try {
                    MessageDigest md = MessageDigest.getInstance("SHA-256");
                    md.update(data, off, len);
                    System.arraycopy(md.digest(), 0, out, outOff, 32);
                } catch (NoSuchAlgorithmException e) {
                    throw new IllegalStateException("the JDK has no SHA-256", e);
                }
            }
            case BLAKE2B -> {
                Blake2bDigest d = new Blake2bDigest(256);
                d.update(data, off, len);
                d.doFinal(out, outOff);
            }
            default -> throw new AssertionError(this);
        }
    }

    /** The checksum of the bytes as a fresh {@link #CSUM_FIELD_SIZE}-byte field. */
    public byte[] compute(byte[] data, int off, int len) {
        byte[] out = new byte[CSUM_FIELD_SIZE];
        compute(data, off, len, out, 0);
        return out;
    }

    /** Whether the first {@link #size()} bytes at {@code expectOff} match the checksum of the data. */
    public boolean matches(byte[] data, int off, int len, byte[] expect, int expectOff) {
        byte[] got = new byte[CSUM_FIELD_SIZE];
        compute(data, off, len, got, 0);
        return java.util.Arrays.equals(got, 0, size, expect, expectOff, expectOff + size);
    }

    /** Hex of a checksum as btrfs-progs prints it: 0x followed by the bytes in disk order. */
    public String hex(byte[] b, int off) {
        StringBuilder sb = new StringBuilder("0x");
        for (int i = 0; i < size; i++) {
            sb.append(String.format("%02x", b[off + i] & 0xff));
        }
        return sb.toString();
    }
}
