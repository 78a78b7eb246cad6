package org.jbtrfs.tools.inspect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.TimeZone;
import java.util.stream.Stream;
import org.jbtrfs.format.DirItem;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.ExtentItem;
import org.jbtrfs.format.ItemType;
import org.jbtrfs.format.Le;
import org.jbtrfs.format.ObjectIds;
import org.jbtrfs.format.QgroupItems;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The printers on items the test images do not have (balance, v1 space cache headers, dev stats
 * with unknown counters, string and orphan items, unknown types), on edge values, and on items
 * that do not decode. Expected text is progs 6.2's format, written out by hand from
 * print-tree.c's printf strings.
 */
class ItemPrinterTest {
    private static final ItemPrinter PRINTER = new ItemPrinter(new ItemPrinter.Options(4096, 4, false, false));
    private static TimeZone saved;

    @BeforeAll
    static void utc() {
        saved = TimeZone.getDefault();
        TimeZone.setDefault(TimeZone.getTimeZone("UTC"));
    }

    @AfterAll
    static void restore() {
        TimeZone.setDefault(saved);
    }

    private static String print(ItemPrinter p, DiskKey key, byte[] data) {
        StringBuilder sb = new StringBuilder();
        // Put the item at an odd offset of a bigger buffer: printers must honour off.
        byte[] b = new byte[data.length + 7];
        System.arraycopy(data, 0, b, 5, data.length);
        assertNull(p.printItem(sb, key, b, 5, data.length), sb.toString());
        return sb.toString();
    }

    static Stream<Arguments> items() {
        byte[] balance = new byte[8 + 3 * 136 + 32];
        Le.putU64(balance, 0, 3);
        Le.putU64(balance, 8, 1); // data profiles
        Le.putU32(balance, 8 + 8, 10); // usage_min
        Le.putU32(balance, 8 + 12, 90);
        Le.putU64(balance, 8 + 136 + 56, 4); // metadata target
        Le.putU32(balance, 8 + 2 * 136 + 84, 7); // system stripes_max
        byte[] fsh = new byte[41];
        new DiskKey(257, ItemType.INODE_ITEM, 0).write(fsh, 0);
        Le.putU64(fsh, 17, 5);
        Le.putU64(fsh, 25, 12);
        Le.putU64(fsh, 33, 1);
        byte[] stats = u64s(1, 2, 3, 4, 5, 66);
        ExtentItem tree = new ExtentItem(2, 7, ExtentItem.FLAG_TREE_BLOCK | ExtentItem.FLAG_FULL_BACKREF,
                new DiskKey(256, ItemType.INODE_ITEM, 0), 1, List.of(ExtentItem.InlineRef.treeBlock(5),
                ExtentItem.InlineRef.sharedBlock(30408704)));
        ExtentItem data = new ExtentItem(4, 9, ExtentItem.FLAG_DATA, null, -1, List.of(
                ExtentItem.InlineRef.extentData(ObjectIds.FS_TREE, 257, 0, 2),
                ExtentItem.InlineRef.sharedData(30425088, 1), ExtentItem.InlineRef.extentData(-1L, -1L, -1L, 0xffffffffL)));
        return Stream.of(
                Arguments.of(key(ObjectIds.BALANCE, ItemType.TEMPORARY_ITEM, 0), balance, String.join("",
                        "\t\ttemporary item objectid BALANCE offset 0\n", "\t\tbalance status flags 3\n", "\t\tDATA\n",
                        "\t\tprofiles 1 devid 0 target 0 flags 0\n", "\t\tusage_min 10 usage_max 90 pstart 0 pend 0\n",
                        "\t\tvstart 0 vend 0 limit_min 0 limit_max 0\n", "\t\tstripes_min 0 stripes_max 0\n",
                        "\t\tMETADATA\n", "\t\tprofiles 0 devid 0 target 4 flags 0\n",
                        "\t\tusage_min 0 usage_max 0 pstart 0 pend 0\n", "\t\tvstart 0 vend 0 limit_min 0 limit_max 0\n",
                        "\t\tstripes_min 0 stripes_max 0\n", "\t\tSYSTEM\n", "\t\tprofiles 0 devid 0 target 0 flags 0\n",
                        "\t\tusage_min 0 usage_max 0 pstart 0 pend 0\n", "\t\tvstart 0 vend 0 limit_min 0 limit_max 0\n",
                        "\t\tstripes_min 0 stripes_max 7\n")),
                Arguments.of(key(ObjectIds.FREE_SPACE, 0, 13631488), fsh,
                        "\t\tlocation key (257 INODE_ITEM 0)\n\t\tcache generation 5 entries 12 bitmaps 1\n"),
                Arguments.of(key(ObjectIds.DEV_STATS, ItemType.PERSISTENT_ITEM, 1), stats,
                        "\t\tpersistent item objectid DEV_STATS offset 1\n\t\tdevice stats\n"
                                + "\t\twrite_errs 1 read_errs 2 flush_errs 3 corruption_errs 4 generation 5\n"
                                + "\t\tunknown stats item bytes 8\t\tunknown item 5 offset 40 value 66\n"),
                Arguments.of(key(-5L, ItemType.ORPHAN_ITEM, 258), new byte[0], "\t\torphan item\n"),
                Arguments.of(key(256, ItemType.DIR_LOG_INDEX, 2), u64s(-1L), "\t\tdir log end 18446744073709551615\n"),
                Arguments.of(key(0, ItemType.STRING_ITEM, 0), bytes("hello\0junk"), "\t\titem data hello\n"),
                Arguments.of(key(1, 230, 0), new byte[] {1, 2, (byte) 0xfe}, "\t\tunknown item type 230 size 3 data 0x0102fe\n"),
                Arguments.of(key(1, 99, 0), new byte[100], "\t\tunknown item type 99 size 100 data 0x" + "00".repeat(64) + "...\n"),
                Arguments.of(key(1, ItemType.VERITY_DESC_ITEM, 0), new byte[10], ""),
                Arguments.of(key(1, ItemType.QGROUP_RELATION, 2), new byte[0], ""),
                Arguments.of(key(30408704, ItemType.EXTENT_ITEM, 16384), tree.encode(),
                        "\t\trefs 2 gen 7 flags TREE_BLOCK|FULL_BACKREF\n\t\ttree block key (256 INODE_ITEM 0) level 1\n"
                                + "\t\ttree block backref root FS_TREE\n\t\tshared block backref parent 30408704\n"),
                Arguments.of(key(13631488, ItemType.EXTENT_ITEM, 4096), data.encode(),
                        "\t\trefs 4 gen 9 flags DATA\n\t\textent data backref root FS_TREE objectid 257 offset 0 count 2\n"
                                + "\t\tshared data backref parent 30425088 count 1\n"
                                + "\t\textent data backref root -1 objectid 18446744073709551615 offset 18446744073709551615"
                                + " count 4294967295\n"),
                Arguments.of(key(0, ItemType.QGROUP_STATUS, 0), new QgroupItems.Status(1, 5, 6, -1L, 3, true).encode(),
                        "\t\tversion 1 generation 5 flags OFF|SCANNING|INCONSISTENT scan 18446744073709551615\n"),
                Arguments.of(key(0, ItemType.QGROUP_STATUS, 0), new QgroupItems.Status(1, 5, 9, 0, 3, true).encode(),
                        "\t\tversion 1 generation 5 flags ON scan 0 enable_gen 3\n"),
                Arguments.of(key(0, ItemType.QGROUP_LIMIT, 5), new QgroupItems.Limit(0x1f, -1L, 10, 0, 0).encode(),
                        "\t\tflags 1f\n\t\tmax_referenced -1 max_exclusive 10\n\t\trsv_referenced 0 rsv_exclusive 0\n"),
                Arguments.of(key(257, ItemType.SHARED_DATA_REF, 30425088), new byte[] {3, 0, 0, 0},
                        "\t\tshared data backref count 3\n"),
                Arguments.of(key(257, ItemType.TREE_BLOCK_REF, 5), new byte[0], "\t\ttree block backref\n"),
                Arguments.of(key(257, ItemType.EXTENT_REF_V0, 5), new byte[0], "\t\textent ref v0 (deprecated)\n"));
    }

    private static DiskKey key(long objectid, int type, long offset) {
        return new DiskKey(objectid, type, offset);
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] u64s(long... v) {
        byte[] b = new byte[v.length * 8];
        for (int i = 0; i < v.length; i++) {
            Le.putU64(b, 8 * i, v[i]);
        }
        return b;
    }

    @ParameterizedTest
    @MethodSource("items")
    void printsLikeProgs(DiskKey key, byte[] data, String expect) {
        assertEquals(expect, print(PRINTER, key, data));
    }

    @Test
    void namesAndValuesAreCutLikePrintfPrecision() {
        byte[] longName = new byte[300];
        java.util.Arrays.fill(longName, (byte) 'a');
        DirItem d = new DirItem(key(258, ItemType.INODE_ITEM, 0), 7, DirItem.FT_XATTR, longName, bytes("val\0ue"));
        String s = print(PRINTER, key(257, ItemType.XATTR_ITEM, 1), DirItem.encodeAll(List.of(d)));
        assertTrue(s.contains("\t\ttransid 7 data_len 6 name_len 300\n\t\tname: " + "a".repeat(255) + "\n\t\tdata val\n"), s);
        ItemPrinter hiding = new ItemPrinter(new ItemPrinter.Options(4096, 4, true, false));
        String h = print(hiding, key(257, ItemType.XATTR_ITEM, 1), DirItem.encodeAll(List.of(d)));
        assertTrue(h.endsWith("\t\tname: HIDDEN\n\t\tdata HIDDEN\n"), h);
    }

    @Test
    void csumItemsPrintFourCrc32cPerLine() {
        byte[] csums = new byte[5 * 4];
        for (int i = 0; i < csums.length; i++) {
            csums[i] = (byte) i;
        }
        ItemPrinter p = new ItemPrinter(new ItemPrinter.Options(4096, 4, false, true));
        assertEquals("\t\trange start 8192 end 28672 length 20480\n"
                + "\t\t[8192] 0x00010203 [12288] 0x04050607 [16384] 0x08090a0b [20480] 0x0c0d0e0f\n"
                + "\t\t[24576] 0x10111213\n", print(p, key(-10L, ItemType.EXTENT_CSUM, 8192), csums));
        assertEquals("\t\trange start 8192 end 28672 length 20480\n", print(PRINTER, key(-10L, ItemType.EXTENT_CSUM, 8192), csums));
    }

    /** Every shorter length of an item that has a fixed minimum gives an "invalid item" line, never an exception. */
    @ParameterizedTest
    @MethodSource("items")
    void truncatedItemsAreReportedNotThrown(DiskKey key, byte[] data, String expect) {
        for (int len = 0; len < data.length; len++) {
            StringBuilder sb = new StringBuilder();
            String problem = PRINTER.printItem(sb, key, data, 0, len);
            if (problem != null) {
                assertTrue(sb.toString().endsWith("\t\tinvalid item: " + problem + "\n"), sb.toString());
            }
        }
    }

    @Test
    void undecodableItemNamesTheProblem() {
        StringBuilder sb = new StringBuilder();
        String problem = PRINTER.printItem(sb, key(256, ItemType.INODE_ITEM, 0), new byte[100], 0, 100);
        assertNotNull(problem);
        assertEquals("\t\tinvalid item: " + problem + "\n", sb.toString());
        assertTrue(problem.contains("INODE_ITEM") && problem.contains("100"), problem);
    }

    @Test
    void keysPrintLikeProgs() {
        assertEquals("key (FS_TREE ROOT_ITEM 18446744073709551615)", ProgsFormat.key(5, ItemType.ROOT_ITEM, -1L));
        assertEquals("key (TREE_RELOC ROOT_ITEM FS_TREE)", ProgsFormat.key(-8L, ItemType.ROOT_ITEM, 5));
        assertEquals("key (0 QGROUP_INFO 1/100)", ProgsFormat.key(0, ItemType.QGROUP_INFO, (1L << 48) | 100));
        assertEquals("key (0/5 QGROUP_RELATION 1/100)", ProgsFormat.key(5, ItemType.QGROUP_RELATION, (1L << 48) | 100));
        assertEquals("key (0x0123456789abcdef UUID_KEY_SUBVOL 0xfedcba9876543210)",
                ProgsFormat.key(0x0123456789abcdefL, ItemType.UUID_KEY_SUBVOL, 0xfedcba9876543210L));
        assertEquals("key (FREE_SPACE UNTYPED 13631488)", ProgsFormat.key(-11L, 0, 13631488));
        assertEquals("key (0 UNKNOWN.0 0)", ProgsFormat.key(0, 0, 0));
        assertEquals("key (DEV_ITEMS DEV_ITEM 1)", ProgsFormat.key(1, ItemType.DEV_ITEM, 1));
        assertEquals("key (FIRST_CHUNK_TREE CHUNK_ITEM 22020096)", ProgsFormat.key(256, ItemType.CHUNK_ITEM, 22020096));
        assertEquals("key (1 DEV_EXTENT 22020096)", ProgsFormat.key(1, ItemType.DEV_EXTENT, 22020096));
        assertEquals("key (DEV_STATS PERSISTENT_ITEM 1)", ProgsFormat.key(0, ItemType.PERSISTENT_ITEM, 1));
        assertEquals("key (LOG_FIXUP INODE_ITEM -1)", ProgsFormat.key(-7L, ItemType.INODE_ITEM, -1L));
        assertEquals("key (-1 UNKNOWN.172 5)", ProgsFormat.key(-1L, ItemType.EXTENT_OWNER_REF, 5));
        assertEquals("key (256 CSUM_ITEM 0)", ProgsFormat.key(256, 120, 0));
    }

    @Test
    void flagsAndTimesPrintLikeProgs() {
        assertEquals("DATA|single", ProgsFormat.blockGroupFlags(1));
        assertEquals("METADATA|DUP", ProgsFormat.blockGroupFlags(4 | 32));
        assertEquals("SYSTEM|DUP", ProgsFormat.blockGroupFlags(2 | 32));
        assertEquals("DATA|METADATA|RAID1C3", ProgsFormat.blockGroupFlags(1 | 4 | (1 << 9)));
        assertEquals("NODATASUM|NODATACOW|PREALLOC", ProgsFormat.inodeFlags(0x13));
        assertEquals("none", ProgsFormat.inodeFlags(0));
        assertEquals("|FULL_BACKREF", ProgsFormat.extentFlags(256));
        assertEquals("WRITTEN|RELOC", ProgsFormat.headerFlags(3));
        assertEquals("0.0 (1970-01-01 00:00:00)", ProgsFormat.timespec(0, 0));
        assertEquals("1795457416.228809593 (2026-11-23 18:10:16)", ProgsFormat.timespec(1795457416L, 228809593));
        assertEquals("18446744073709551615.4294967295 (1969-12-31 23:59:59)", ProgsFormat.timespec(-1L, -1));
        assertEquals("DIR_ITEM.9", ProgsFormat.dirType(9));
        assertEquals("UNKNOWN.4", ProgsFormat.compression(4));
    }

    @Test
    void treeNamesParseLikeProgs() {
        assertEquals(ObjectIds.FS_TREE, TreeNames.parse("fs"));
        assertEquals(ObjectIds.DEV_TREE, TreeNames.parse("DEVICE_TREE"));
        assertEquals(ObjectIds.DEV_TREE, TreeNames.parse("btrfs_dev_tree_objectid"));
        assertEquals(ObjectIds.CSUM_TREE, TreeNames.parse("checksum"));
        assertEquals(ObjectIds.FREE_SPACE_TREE, TreeNames.parse("free-space"));
        assertEquals(ObjectIds.DATA_RELOC_TREE, TreeNames.parse("DATA_RELOC_TREE"));
        assertEquals(ObjectIds.DATA_RELOC_TREE, TreeNames.parse("-9"));
        assertEquals(ObjectIds.BLOCK_GROUP_TREE, TreeNames.parse("block-group"));
        assertEquals(ObjectIds.TREE_LOG_FIXUP, TreeNames.parse("tree_log_fixup"));
        assertEquals(ObjectIds.TREE_LOG, TreeNames.parse("TREE_LOG"));
        assertEquals(-2L, TreeNames.parse("18446744073709551614"));
        assertThrows(IllegalArgumentException.class, () -> TreeNames.parse("fsx"));
        assertThrows(IllegalArgumentException.class, () -> TreeNames.parse(""));
        assertThrows(IllegalArgumentException.class, () -> TreeNames.parse("99999999999999999999999"));
        assertEquals("free space", TreeNames.heading(ObjectIds.FREE_SPACE_TREE));
        assertEquals("file", TreeNames.heading(300));
    }
}
