package org.jbtrfs.format;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The hashes that become key offsets: btrfs_name_hash() (DIR_ITEM, XATTR_ITEM), btrfs_extref_hash()
 * (INODE_EXTREF) and hash_extent_data_ref() (keyed EXTENT_DATA_REF). A wrong hash makes every
 * lookup miss, so each is checked against key offsets the kernel or mkfs wrote, and against
 * independent computations (a bit-at-a-time CRC, and the JDK's CRC32C).
 */
class HashTest {
    @TempDir
    Path dir;

    /** CRC-32C one bit at a time, with no inversion: the kernel's crc32c(seed, data, len). */
    private static int bitwiseCrc32c(int seed, byte[] data) {
        int c = seed;
        for (byte x : data) {
            c ^= x & 0xff;
            for (int k = 0; k < 8; k++) {
                c = (c & 1) != 0 ? (c >>> 1) ^ 0x82F63B78 : c >>> 1;
            }
        }
        return c;
    }

    private static byte[] le64(long... v) {
        byte[] b = new byte[8 * v.length];
        for (int i = 0; i < v.length; i++) {
            Le.putU64(b, 8 * i, v[i]);
        }
        return b;
    }

    @Test
    void rawCrcIsTheKernelsCrc32c() {
        Random r = new Random(11);
        for (int i = 0; i < 200; i++) {
            byte[] d = FormatTestSupport.bytes(r, r.nextInt(300));
            int seed = r.nextInt();
            assertEquals(bitwiseCrc32c(seed, d), Crc32c.raw(seed, d, 0, d.length));
            CRC32C jdk = new CRC32C();
            jdk.update(d);
            assertEquals(~(int) jdk.getValue(), Crc32c.raw(~0, d, 0, d.length), "JDK CRC32C = ~raw(~0)");
        }
    }

    /** DIR_ITEM key offsets from mkfs.btrfs images (the first is in every image's root tree). */
    @ParameterizedTest
    @CsvSource({"default, 2378154706"})
    void nameHashOfKnownNames(String name, long expect) {
        assertEquals(expect, Crc32c.nameHash(name.getBytes(StandardCharsets.UTF_8)));
        assertEquals(expect, bitwiseCrc32c(~1, name.getBytes(StandardCharsets.UTF_8)) & 0xffffffffL);
    }

    /** Every DIR_ITEM and XATTR_ITEM key of an image mkfs --rootdir filled with assorted names. */
    @Test
    void nameHashMatchesEveryDirItemKeyOfARealImage() throws IOException {
        Assumptions.assumeTrue(FormatTestSupport.haveProgs(), "skipped: needs btrfs-progs");
        Path src = Files.createDirectories(dir.resolve("src"));
        List<String> names = List.of("a", "file.txt", "with space", "ünïcödé", "x".repeat(255), "..hidden", "0", "-");
        for (String n : names) {
            Files.writeString(src.resolve(n), n);
        }
        Path img = dir.resolve("names.img");
        FormatTestSupport.runOrFail(List.of("truncate", "-s", "256M", img.toString()));
        FormatTestSupport.runOrFail(List.of("mkfs.btrfs", "-f", "-q", "-r", src.toString(), img.toString()));
        String dump = FormatTestSupport.runOrFail(List.of("btrfs", "inspect-internal", "dump-tree", img.toString()));
        Matcher m = Pattern.compile("key \\(\\S+ (?:DIR_ITEM|XATTR_ITEM) (\\d+)\\) itemoff \\d+ itemsize \\d+\\n"
                + "\\t\\tlocation .*\\n\\t\\ttransid .*\\n\\t\\tname: (.*)\\n").matcher(dump);
        int checked = 0;
        while (m.find()) {
            assertEquals(Long.parseLong(m.group(1)), Crc32c.nameHash(m.group(2).getBytes(StandardCharsets.UTF_8)), m.group(2));
            checked++;
        }
        assertTrue(checked >= names.size() + 1, "checked " + checked + " dir items");
    }

    /**
     * INODE_EXTREF keys a kernel wrote for hard links named 200 'n' and a suffix, in directory 299
     * (from a dump-tree of a loop-mounted image).
     */
    @ParameterizedTest
    @CsvSource({"299, _68, 20586264", "299, _37, 33675927"})
    void extrefHashOfKernelWrittenKeys(long parent, String suffix, long expect) {
        byte[] name = ("n".repeat(200) + suffix).getBytes(StandardCharsets.US_ASCII);
        assertEquals(expect, Crc32c.extrefHash(parent, name));
        assertEquals(expect, bitwiseCrc32c((int) parent, name) & 0xffffffffL);
    }

    /** Keyed EXTENT_DATA_REF offsets a kernel wrote (reflinked copies of one file, subvolume 256). */
    @ParameterizedTest
    @CsvSource({"256, 284, 0, 1002667597147550567", "256, 271, 0, 1002667597186497323",
        "256, 297, 0, 1002667597313141683", "256, 293, 0, 1002667598196074623"})
    void extentDataRefHashOfKernelWrittenKeys(long root, long objectid, long offset, long expect) {
        assertEquals(expect, ExtentDataRef.hash(root, objectid, offset));
    }

    /**
     * hash_extent_data_ref() from its kernel definition, through the JDK's CRC32C: high =
     * crc32c(~0, le64(root)), low = crc32c(crc32c(~0, le64(objectid)), le64(offset)), result
     * (high &lt;&lt; 31) ^ low; the JDK value is the raw CRC inverted.
     */
    @Test
    void extentDataRefHashFollowsTheKernelDefinition() {
        Random r = new Random(5);
        for (int i = 0; i < 1000; i++) {
            long root = i % 3 == 0 ? -1L : r.nextLong();
            long objectid = r.nextLong();
            long offset = i % 5 == 0 ? 0 : r.nextLong();
            CRC32C high = new CRC32C();
            high.update(le64(root));
            CRC32C low = new CRC32C();
            low.update(le64(objectid, offset));
            long expect = ((~high.getValue() & 0xffffffffL) << 31) ^ (~low.getValue() & 0xffffffffL);
            assertEquals(expect, ExtentDataRef.hash(root, objectid, offset));
        }
    }
}
