package org.jbtrfs.format;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.function.Function;
import java.util.stream.Stream;
import org.jbtrfs.CorruptImageException;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The superblock view: every accessor reads and writes its field at the offset btrfs_tree.h gives
 * (the offsets here are typed in from struct btrfs_super_block, not taken from our constants), and
 * on a real mkfs.btrfs image every field reads as btrfs-progs' dump-super prints it; a superblock
 * we change and re-checksum is accepted by progs.
 */
class SuperblockTest {
    @TempDir
    Path dir;

    /** A numeric field: its offset and width in struct btrfs_super_block, getter and (if any) setter. */
    record Field(String name, int offset, int width, Function<Superblock, Long> get, BiConsumer<Superblock, Long> set) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Arguments> fields() {
        return Stream.of(
                f("bytenr", 48, 8, Superblock::bytenr, Superblock::setBytenr),
                f("flags", 56, 8, Superblock::flags, Superblock::setFlags),
                f("magic", 64, 8, Superblock::magic, null),
                f("generation", 72, 8, Superblock::generation, Superblock::setGeneration),
                f("root", 80, 8, Superblock::root, Superblock::setRoot),
                f("chunk_root", 88, 8, Superblock::chunkRoot, Superblock::setChunkRoot),
                f("log_root", 96, 8, Superblock::logRoot, Superblock::setLogRoot),
                f("log_root_transid", 104, 8, Superblock::logRootTransid, null),
                f("total_bytes", 112, 8, Superblock::totalBytes, Superblock::setTotalBytes),
                f("bytes_used", 120, 8, Superblock::bytesUsed, Superblock::setBytesUsed),
                f("root_dir_objectid", 128, 8, Superblock::rootDirObjectid, Superblock::setRootDirObjectid),
                f("num_devices", 136, 8, Superblock::numDevices, Superblock::setNumDevices),
                f("sectorsize", 144, 4, Superblock::sectorsize, Superblock::setSectorsize),
                f("nodesize", 148, 4, Superblock::nodesize, Superblock::setNodesize),
                f("leafsize", 152, 4, Superblock::leafsize, null),
                f("stripesize", 156, 4, Superblock::stripesize, Superblock::setStripesize),
                f("sys_chunk_array_size", 160, 4, Superblock::sysChunkArraySize, null),
                f("chunk_root_generation", 164, 8, Superblock::chunkRootGeneration, Superblock::setChunkRootGeneration),
                f("compat_flags", 172, 8, Superblock::compatFlags, null),
                f("compat_ro_flags", 180, 8, Superblock::compatRoFlags, Superblock::setCompatRoFlags),
                f("incompat_flags", 188, 8, Superblock::incompatFlags, Superblock::setIncompatFlags),
                f("csum_type", 196, 2, s -> (long) s.csumTypeCode(), (s, v) -> s.setCsumType(CsumType.fromCode((int) (v % 4)))),
                f("root_level", 198, 1, s -> (long) s.rootLevel(), (s, v) -> s.setRootLevel((int) (v & 0xff))),
                f("chunk_root_level", 199, 1, s -> (long) s.chunkRootLevel(), (s, v) -> s.setChunkRootLevel((int) (v & 0xff))),
                f("log_root_level", 200, 1, s -> (long) s.logRootLevel(), null),
                f("dev_item.devid", 201, 8, s -> s.devItem().devid(), null),
                f("cache_generation", 555, 8, Superblock::cacheGeneration, Superblock::setCacheGeneration),
                f("uuid_tree_generation", 563, 8, Superblock::uuidTreeGeneration, Superblock::setUuidTreeGeneration),
                f("nr_global_roots", 587, 8, Superblock::nrGlobalRoots, null));
    }

    private static Arguments f(String name, int off, int width, Function<Superblock, Long> get,
            BiConsumer<Superblock, Long> set) {
        return Arguments.of(new Field(name, off, width, get, set));
    }

    private static long read(byte[] b, int off, int width) {
        long v = 0;
        for (int i = width - 1; i >= 0; i--) {
            v = (v << 8) | (b[off + i] & 0xff);
        }
        return v;
    }

    private static void write(byte[] b, int off, int width, long v) {
        for (int i = 0; i < width; i++) {
            b[off + i] = (byte) (v >>> (8 * i));
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("fields")
    void getterReadsTheDocumentedOffset(Field f) {
        for (long v : new long[] {1, 0x0102030405060708L, -1L}) {
            byte[] b = new byte[Superblock.SIZE];
            long masked = f.width == 8 ? v : v & ((1L << (8 * f.width)) - 1);
            write(b, f.offset, f.width, masked);
            assertEquals(masked, f.get.apply(new Superblock(b)), f.name + " = " + Long.toHexString(masked));
        }
    }

    static Stream<Arguments> settableFields() {
        return fields().filter(a -> ((Field) a.get()[0]).set() != null);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("settableFields")
    void setterWritesOnlyTheDocumentedOffset(Field f) {
        long v = f.width == 8 ? 0x8877665544332211L : f.name.equals("csum_type") ? 3 : 0x44332211L & ((1L << (8 * f.width)) - 1);
        Superblock sb = new Superblock(new byte[Superblock.SIZE]);
        f.set.accept(sb, v);
        byte[] b = sb.bytes();
        assertEquals(v, read(b, f.offset, f.width), f.name);
        assertEquals(v, f.get.apply(sb), f.name);
        byte[] rest = b.clone();
        Arrays.fill(rest, f.offset, f.offset + f.width, (byte) 0);
        if (f.name.equals("nodesize")) {
            assertEquals(v, read(rest, 152, 4), "nodesize also sets the unused leafsize, as mkfs does");
            Arrays.fill(rest, 152, 156, (byte) 0);
        }
        assertArrayEquals(new byte[Superblock.SIZE], rest, f.name + " wrote outside its field");
    }

    @Test
    void byteFieldsSitAtTheirOffsets() {
        Superblock sb = new Superblock(new byte[Superblock.SIZE]);
        byte[] fsid = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
        sb.setFsid(fsid);
        assertArrayEquals(fsid, Arrays.copyOfRange(sb.bytes(), 32, 48));
        sb.setMetadataUuid(fsid);
        assertArrayEquals(fsid, Arrays.copyOfRange(sb.bytes(), 571, 587));
        sb.setLabel("x".repeat(255));
        assertEquals("x".repeat(255), sb.label());
        assertEquals('x', sb.bytes()[299] & 0xff);
        assertEquals(0, sb.bytes()[299 + 255]);
        assertThrows(IllegalArgumentException.class, () -> sb.setLabel("y".repeat(256)));
        sb.setLabel("");
        assertEquals("", sb.label());
        byte[] array = new byte[97];
        Arrays.fill(array, (byte) 0x42);
        sb.setSysChunkArray(array);
        assertEquals(97, read(sb.bytes(), 160, 4));
        assertArrayEquals(array, Arrays.copyOfRange(sb.bytes(), 811, 811 + 97));
        assertArrayEquals(array, sb.sysChunkArray());
        DevItem d = new DevItem(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, fsid, fsid);
        sb.setDevItem(d);
        assertArrayEquals(d.toBytes(), Arrays.copyOfRange(sb.bytes(), 201, 299));
        for (int i = 0; i < 4; i++) {
            RootBackup r = new RootBackup(i + 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5);
            sb.setBackupRoot(i, r);
            assertEquals(i + 1, read(sb.bytes(), 2859 + 168 * i, 8));
            assertEquals(r, sb.backupRoot(i));
        }
        assertEquals(0, read(sb.bytes(), 2859 + 4 * 168, 8), "the padding after the backups is untouched");
    }

    @Test
    void checksumCoversBytes32To4096AndValidateChecksIt() throws CorruptImageException {
        Superblock sb = Superblock.blank();
        sb.setBytenr(65536);
        sb.setSectorsize(4096);
        sb.setNodesize(16384);
        sb.setCsumType(CsumType.CRC32C);
        sb.setDevItem(new DevItem(1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, new byte[16], new byte[16]));
        sb.updateCsum();
        sb.validate(65536);
        byte[] b = sb.bytes();
        java.util.zip.CRC32C c = new java.util.zip.CRC32C();
        c.update(b, 32, 4096 - 32);
        assertEquals(c.getValue(), read(b, 0, 4));
        b[4095] ^= 1;
        CorruptImageException e = assertThrows(CorruptImageException.class, () -> sb.validate(65536));
        assertTrue(e.getMessage().contains("checksum mismatch"), e.getMessage());
        b[4095] ^= 1;
        assertThrows(CorruptImageException.class, () -> sb.validate(64L << 20), "bytenr must be where it was read");
    }

    /** dump-super's "name<tabs>value" lines; backup roots as "backup N <name>" keys. */
    private static Map<String, String> dumpSuper(Path img) throws IOException {
        Map<String, String> m = new HashMap<>();
        String backup = null;
        for (String line : FormatTestSupport.runOrFail(List.of("btrfs", "inspect-internal", "dump-super", "-f", img.toString()))
                .split("\n")) {
            String t = line.trim();
            if (t.matches("backup \\d+:")) {
                backup = t.substring(0, t.length() - 1);
                continue;
            }
            String[] kv = t.split("\t+", 2);
            if (kv.length == 2 && !kv[0].isEmpty()) {
                m.put(backup != null && kv[0].endsWith(":") ? backup + " " + kv[0] : kv[0], kv[1]);
            }
        }
        return m;
    }

    @Test
    void realSuperblockReadsAsProgsDumpsIt() throws IOException {
        Assumptions.assumeTrue(FormatTestSupport.haveProgs(), "skipped: needs btrfs-progs");
        Path img = FormatTestSupport.mkfs(dir, "s.img", "-L", "jbtrfs-label");
        Superblock sb = new Superblock(FormatTestSupport.primarySuper(img));
        assertDoesNotThrow(() -> sb.validate(65536));
        Map<String, String> p = dumpSuper(img);
        Map<String, String> ours = new HashMap<>();
        ours.put("csum_type", sb.csumTypeCode() + " (" + sb.csumType().displayName() + ")");
        ours.put("csum", sb.csumType().hex(sb.storedCsum(), 0) + " [match]");
        ours.put("bytenr", Le.u64s(sb.bytenr()));
        ours.put("flags", "0x" + Long.toHexString(sb.flags()));
        ours.put("magic", "_BHRfS_M [match]");
        ours.put("fsid", Uuids.toString(sb.fsid()));
        ours.put("metadata_uuid", Uuids.toString(sb.fsid()));
        ours.put("label", sb.label());
        ours.put("generation", Le.u64s(sb.generation()));
        ours.put("root", Le.u64s(sb.root()));
        ours.put("sys_array_size", Long.toString(sb.sysChunkArraySize()));
        ours.put("chunk_root_generation", Le.u64s(sb.chunkRootGeneration()));
        ours.put("root_level", Integer.toString(sb.rootLevel()));
        ours.put("chunk_root", Le.u64s(sb.chunkRoot()));
        ours.put("chunk_root_level", Integer.toString(sb.chunkRootLevel()));
        ours.put("log_root", Le.u64s(sb.logRoot()));
        ours.put("log_root_transid (deprecated)", Le.u64s(sb.logRootTransid()));
        ours.put("log_root_level", Integer.toString(sb.logRootLevel()));
        ours.put("total_bytes", Le.u64s(sb.totalBytes()));
        ours.put("bytes_used", Le.u64s(sb.bytesUsed()));
        ours.put("sectorsize", Long.toString(sb.sectorsize()));
        ours.put("nodesize", Long.toString(sb.nodesize()));
        ours.put("leafsize (deprecated)", Long.toString(sb.leafsize()));
        ours.put("stripesize", Long.toString(sb.stripesize()));
        ours.put("root_dir", Le.u64s(sb.rootDirObjectid()));
        ours.put("num_devices", Le.u64s(sb.numDevices()));
        ours.put("compat_flags", "0x" + Long.toHexString(sb.compatFlags()));
        ours.put("compat_ro_flags", "0x" + Long.toHexString(sb.compatRoFlags()));
        ours.put("incompat_flags", "0x" + Long.toHexString(sb.incompatFlags()));
        ours.put("cache_generation", Le.u64s(sb.cacheGeneration()));
        ours.put("uuid_tree_generation", Le.u64s(sb.uuidTreeGeneration()));
        DevItem d = sb.devItem();
        ours.put("dev_item.uuid", Uuids.toString(d.uuid()));
        ours.put("dev_item.fsid", Uuids.toString(d.fsid()) + " [match]");
        ours.put("dev_item.type", Le.u64s(d.type()));
        ours.put("dev_item.total_bytes", Le.u64s(d.totalBytes()));
        ours.put("dev_item.bytes_used", Le.u64s(d.bytesUsed()));
        ours.put("dev_item.io_align", Long.toString(d.ioAlign()));
        ours.put("dev_item.io_width", Long.toString(d.ioWidth()));
        ours.put("dev_item.sector_size", Long.toString(d.sectorSize()));
        ours.put("dev_item.devid", Le.u64s(d.devid()));
        ours.put("dev_item.dev_group", Long.toString(d.devGroup()));
        ours.put("dev_item.seek_speed", Integer.toString(d.seekSpeed()));
        ours.put("dev_item.bandwidth", Integer.toString(d.bandwidth()));
        ours.put("dev_item.generation", Le.u64s(d.generation()));
        for (int i = 0; i < Superblock.NUM_BACKUP_ROOTS; i++) {
            RootBackup r = sb.backupRoot(i);
            if (r.treeRoot() == 0 && r.treeRootGen() == 0) {
                continue;
            }
            String k = "backup " + i + " ";
            ours.put(k + "backup_tree_root:", r.treeRoot() + "\tgen: " + r.treeRootGen() + "\tlevel: " + r.treeRootLevel());
            ours.put(k + "backup_chunk_root:", r.chunkRoot() + "\tgen: " + r.chunkRootGen() + "\tlevel: " + r.chunkRootLevel());
            ours.put(k + "backup_extent_root:", r.extentRoot() + "\tgen: " + r.extentRootGen() + "\tlevel: "
                    + r.extentRootLevel());
            ours.put(k + "backup_fs_root:", r.fsRoot() + "\tgen: " + r.fsRootGen() + "\tlevel: " + r.fsRootLevel());
            ours.put(k + "backup_dev_root:", r.devRoot() + "\tgen: " + r.devRootGen() + "\tlevel: " + r.devRootLevel());
            ours.put(k + "csum_root:", r.csumRoot() + "\tgen: " + r.csumRootGen() + "\tlevel: " + r.csumRootLevel());
            ours.put(k + "backup_total_bytes:", Le.u64s(r.totalBytes()));
            ours.put(k + "backup_bytes_used:", Le.u64s(r.bytesUsed()));
            ours.put(k + "backup_num_devices:", Le.u64s(r.numDevices()));
        }
        assertTrue(ours.keySet().stream().anyMatch(k -> k.startsWith("backup ")), "mkfs writes backup roots");
        for (Map.Entry<String, String> e : ours.entrySet()) {
            assertEquals(p.get(e.getKey()), e.getValue(), e.getKey());
        }
        assertEquals("jbtrfs-label", sb.label());
        assertEquals(Superblock.MAGIC, sb.magic());
        assertEquals(sb.nodesize(), sb.leafsize());
    }

    /** A field we change and re-checksum reads back in progs, checksum verified. */
    @Test
    void progsAcceptsASuperblockWeRewrote() throws IOException {
        Assumptions.assumeTrue(FormatTestSupport.haveProgs(), "skipped: needs btrfs-progs");
        Path img = FormatTestSupport.mkfs(dir, "w.img", "--csum", "sha256");
        Superblock sb = new Superblock(FormatTestSupport.primarySuper(img));
        sb.setLabel("rewritten by jbtrfs");
        sb.setCacheGeneration(0x123456789L);
        sb.updateCsum();
        try (FileChannel ch = FileChannel.open(img, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(sb.bytes()), 65536);
        }
        Map<String, String> p = dumpSuper(img);
        assertEquals("rewritten by jbtrfs", p.get("label"));
        assertEquals(Long.toString(0x123456789L), p.get("cache_generation"));
        assertTrue(p.get("csum").endsWith("[match]"), p.get("csum"));
        assertEquals("2 (sha256)", p.get("csum_type"));
    }
}
