package org.jbtrfs.format;

import static org.jbtrfs.format.FormatTestSupport.U16_MAX;
import static org.jbtrfs.format.FormatTestSupport.U32_MAX;
import static org.jbtrfs.format.FormatTestSupport.name;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.function.IntPredicate;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import org.jbtrfs.CorruptImageException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every item codec, table driven (one row per item type and edge case, as delayed-refs-tests.c
 * tabulates its cases): encoding then decoding gives an equal value, decoding then encoding gives
 * the same bytes, a decoder reads only the {@code len} bytes it is given at {@code off}, and an
 * item cut short at any length either still makes sense (a prefix of packed entries, a legacy
 * item size) or throws {@link CorruptImageException} — never an index or other runtime exception,
 * since item bytes come from disk.
 */
class CodecRoundTripTest {
    @FunctionalInterface
    interface Decoder {
        Object decode(byte[] b, int off, int len) throws CorruptImageException;
    }

    @FunctionalInterface
    interface Encoder {
        byte[] encode(Object value);
    }

    /**
     * One row: a value, its codec, and the shorter lengths that still decode (at a boundary
     * between packed entries, or a shorter legal size of the item).
     */
    record Case(String name, Object value, Encoder enc, Decoder dec, IntPredicate shorterDecodes) {
        @Override
        public String toString() {
            return name;
        }
    }

    private static final IntPredicate NONE = len -> false;
    private static final Timespec T_MAX = new Timespec(-1L, -1);
    private static final Timespec T1 = new Timespec(1_700_000_000L, 123_456_789);
    private static final byte[] UUID = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    private static final byte[] FF16 = name(16, (char) 0xff);

    private static byte[] s(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    /** The lengths at which a list of packed entries of these sizes can be cut and still decode. */
    private static IntPredicate boundaries(int... sizes) {
        int[] sums = new int[sizes.length + 1];
        for (int i = 0; i < sizes.length; i++) {
            sums[i + 1] = sums[i] + sizes[i];
        }
        return len -> Arrays.stream(sums).anyMatch(x -> x == len);
    }

    static InodeItem inode(long v64, long v32, Timespec t) {
        return new InodeItem(v64, v64, v64, v64, v64, v32, v32, v32, v32, v64, v64, v64, t, t, t, t);
    }

    static RootItem rootItem(long v, long v32, int level, byte[] uuid, Timespec t) {
        return new RootItem(inode(v, v32, t), v, v, v, v, v, v, v, v32, new DiskKey(v, level, v), level, level, v,
                uuid, uuid, uuid, v, v, v, v, t, t, t, t);
    }

    static Stream<Case> cases() {
        return Stream.of(inodeCases(), refCases(), dirCases(), extentDataCases(), extentItemCases(), treeCases(),
                qgroupCases()).flatMap(s -> s);
    }

    static Stream<Case> inodeCases() {
        Encoder e = v -> ((InodeItem) v).encode();
        Decoder d = InodeItem::decode;
        return Stream.of(
                new Case("INODE_ITEM zero", inode(0, 0, Timespec.ZERO), e, d, NONE),
                new Case("INODE_ITEM file", new InodeItem(7, 9, 4097, 8192, 0, 2, 1000, 100, 0100644, 0, InodeItem.FLAG_COMPRESS,
                        3, T1, T1, new Timespec(5, 0), Timespec.ZERO), e, d, NONE),
                new Case("INODE_ITEM u64/u32 max", inode(-1L, U32_MAX, T_MAX), e, d, NONE));
    }

    static Stream<Case> refCases() {
        Encoder er = v -> InodeRef.encodeAll(cast(v));
        Decoder dr = InodeRef::decodeAll;
        Encoder ex = v -> InodeExtref.encodeAll(cast(v));
        Decoder dx = InodeExtref::decodeAll;
        Encoder rr = v -> ((RootRef) v).encode();
        Decoder dd = RootRef::decode;
        return Stream.of(
                new Case("INODE_REF one name", List.of(new InodeRef(2, s("file"))), er, dr, boundaries(14)),
                new Case("INODE_REF empty name", List.of(new InodeRef(0, new byte[0])), er, dr, boundaries(10)),
                new Case("INODE_REF 255-byte name", List.of(new InodeRef(-1L, name(255, 'x'))), er, dr, boundaries(265)),
                new Case("INODE_REF three names", List.of(new InodeRef(2, s("one")), new InodeRef(3, s("")),
                        new InodeRef(-1L, name(255, 'z'))), er, dr, boundaries(13, 10, 265)),
                new Case("INODE_EXTREF one", List.of(new InodeExtref(256, 3, s("x"))), ex, dx, boundaries(19)),
                new Case("INODE_EXTREF packed, max", List.of(new InodeExtref(-1L, -1L, name(255, 'n')),
                        new InodeExtref(257, 0, new byte[0]), new InodeExtref(258, 9, s("ab"))), ex, dx,
                        boundaries(273, 18, 20)),
                new Case("ROOT_REF", new RootRef(256, 7, s("sub")), rr, dd, NONE),
                new Case("ROOT_REF empty name", new RootRef(0, 0, new byte[0]), rr, dd, NONE),
                new Case("ROOT_REF 255-byte name, max", new RootRef(-1L, -1L, name(255, 'r')), rr, dd, NONE));
    }

    static Stream<Case> dirCases() {
        Encoder e = v -> DirItem.encodeAll(cast(v));
        Decoder d = DirItem::decodeAll;
        DiskKey ino = new DiskKey(257, ItemType.INODE_ITEM, 0);
        DirItem file = new DirItem(ino, 7, DirItem.FT_REG_FILE, s("file"), new byte[0]);
        DirItem subvol = new DirItem(new DiskKey(256, ItemType.ROOT_ITEM, -1L), 8, DirItem.FT_DIR, s("sub"), new byte[0]);
        DirItem xattr = new DirItem(DiskKey.MIN, 9, DirItem.FT_XATTR, s("user.k"), name(1000, 'v'));
        DirItem longName = new DirItem(new DiskKey(-1L, 0xff, -1L), -1L, 0xff, name(255, 'l'), name(255, 'd'));
        DirItem empty = new DirItem(ino, 0, DirItem.FT_UNKNOWN, new byte[0], new byte[0]);
        return Stream.of(
                new Case("DIR_ITEM file", List.of(file), e, d, boundaries(34)),
                new Case("DIR_ITEM subvolume", List.of(subvol), e, d, boundaries(33)),
                new Case("XATTR_ITEM 1000-byte value", List.of(xattr), e, d, boundaries(1036)),
                new Case("DIR_ITEM 255-byte name and data, max", List.of(longName), e, d, boundaries(540)),
                new Case("DIR_ITEM empty name", List.of(empty), e, d, boundaries(30)),
                new Case("DIR_ITEM three collisions", List.of(file, empty, longName), e, d, boundaries(34, 30, 540)));
    }

    static Stream<Case> extentDataCases() {
        Encoder e = v -> ((FileExtentItem) v).encode();
        Decoder d = FileExtentItem::decode;
        IntPredicate inline = len -> len >= FileExtentItem.INLINE_DATA_START;
        Encoder sd = v -> {
            byte[] b = new byte[4];
            Le.putU32(b, 0, (Long) v);
            return b;
        };
        Decoder sdd = U64Array::decodeSharedDataRefCount;
        return Stream.of(
                new Case("EXTENT_DATA inline", FileExtentItem.inline(7, 5, 0, s("hello")), e, d, inline),
                new Case("EXTENT_DATA inline zstd", FileExtentItem.inline(7, 4096, 3, name(100, 'c')), e, d, inline),
                new Case("EXTENT_DATA inline empty", FileExtentItem.inline(-1L, -1L, 0xff, new byte[0]), e, d, inline),
                new Case("EXTENT_DATA regular zstd", FileExtentItem.regular(8, FileExtentItem.TYPE_REG, 131072, 3,
                        13631488, 8192, 4096, 65536), e, d, NONE),
                new Case("EXTENT_DATA prealloc", FileExtentItem.regular(8, FileExtentItem.TYPE_PREALLOC, 1 << 20, 0,
                        14680064, 1 << 20, 0, 1 << 20), e, d, NONE),
                new Case("EXTENT_DATA hole", FileExtentItem.regular(8, FileExtentItem.TYPE_REG, 4096, 0, 0, 0, 0, 4096),
                        e, d, NONE),
                new Case("EXTENT_DATA max", new FileExtentItem(-1L, -1L, 0xff, 0xff, U16_MAX, FileExtentItem.TYPE_REG, null,
                        -1L, -1L, -1L, -1L), e, d, NONE),
                new Case("EXTENT_DATA_REF", new ExtentDataRef(5, 257, 0, 1), v -> ((ExtentDataRef) v).encode(),
                        ExtentDataRef::decode, NONE),
                new Case("EXTENT_DATA_REF max", new ExtentDataRef(-1L, -1L, -1L, U32_MAX), v -> ((ExtentDataRef) v).encode(),
                        ExtentDataRef::decode, NONE),
                new Case("SHARED_DATA_REF", 1L, sd, sdd, NONE),
                new Case("SHARED_DATA_REF u32 max", U32_MAX, sd, sdd, NONE));
    }

    static Stream<Case> extentItemCases() {
        Encoder e = v -> ((ExtentItem) v).encode();
        Decoder data = (b, off, len) -> ExtentItem.decode(b, off, len, false);
        Decoder skinny = (b, off, len) -> ExtentItem.decode(b, off, len, true);
        ExtentItem allData = new ExtentItem(5, 9, ExtentItem.FLAG_DATA, null, -1, List.of(
                ExtentItem.InlineRef.owner(256), ExtentItem.InlineRef.extentData(5, 257, 0, 2),
                ExtentItem.InlineRef.extentData(-1L, -1L, -1L, U32_MAX), ExtentItem.InlineRef.sharedData(30425088, 1),
                ExtentItem.InlineRef.sharedData(-1L, U32_MAX)));
        ExtentItem tree = new ExtentItem(2, 7, ExtentItem.FLAG_TREE_BLOCK | ExtentItem.FLAG_FULL_BACKREF,
                new DiskKey(256, ItemType.INODE_ITEM, 0), 3, List.of(ExtentItem.InlineRef.treeBlock(5),
                ExtentItem.InlineRef.sharedBlock(30408704)));
        ExtentItem meta = new ExtentItem(3, 7, ExtentItem.FLAG_TREE_BLOCK, null, -1, List.of(
                ExtentItem.InlineRef.owner(5), ExtentItem.InlineRef.treeBlock(-1L), ExtentItem.InlineRef.sharedBlock(-1L)));
        ExtentItem keyedOnly = new ExtentItem(-1L, -1L, ExtentItem.FLAG_DATA, null, -1, List.of());
        ExtentItem treeMax = new ExtentItem(1, 1, ExtentItem.FLAG_TREE_BLOCK, DiskKey.MAX, 0xff,
                List.of(ExtentItem.InlineRef.treeBlock(2)));
        // An extent item cut between inline refs is a shorter legal item; the fixed part is not optional.
        return Stream.of(
                new Case("EXTENT_ITEM data, every inline data ref kind", allData, e, data,
                        boundaries(24, 9, 29, 29, 13, 13).and(len -> len >= 24)),
                new Case("EXTENT_ITEM tree block with tree_block_info", tree, e, data, boundaries(42, 9, 9).and(len -> len >= 42)),
                new Case("EXTENT_ITEM tree block, max key and level", treeMax, e, data, boundaries(42, 9).and(len -> len >= 42)),
                new Case("METADATA_ITEM skinny, every tree ref kind", meta, e, skinny,
                        boundaries(24, 9, 9, 9).and(len -> len >= 24)),
                new Case("EXTENT_ITEM refs all keyed, max", keyedOnly, e, data, NONE));
    }

    static Stream<Case> treeCases() {
        Encoder chunk = v -> ((ChunkItem) v).encode();
        Decoder dchunk = ChunkItem::decode;
        Encoder root = v -> ((RootItem) v).encode();
        Decoder droot = RootItem::decode;
        RootItem legacy = new RootItem(inode(3, 1, T1), 9, 256, 30408704, 0, 16384, 0, 0, 1,
                new DiskKey(0, 0, 0), 0, 1, 0, new byte[16], new byte[16], new byte[16], 0, 0, 0, 0,
                Timespec.ZERO, Timespec.ZERO, Timespec.ZERO, Timespec.ZERO);
        return Stream.of(
                new Case("BLOCK_GROUP_ITEM", new BlockGroupItem(16384, 256, BlockGroupItem.METADATA | BlockGroupItem.DUP),
                        v -> ((BlockGroupItem) v).encode(), BlockGroupItem::decode, NONE),
                new Case("BLOCK_GROUP_ITEM max", new BlockGroupItem(-1L, -1L, -1L), v -> ((BlockGroupItem) v).encode(),
                        BlockGroupItem::decode, NONE),
                new Case("FREE_SPACE_INFO", new FreeSpaceInfo(1, 0), v -> ((FreeSpaceInfo) v).encode(), FreeSpaceInfo::decode,
                        NONE),
                new Case("FREE_SPACE_INFO max", new FreeSpaceInfo(U32_MAX, U32_MAX), v -> ((FreeSpaceInfo) v).encode(),
                        FreeSpaceInfo::decode, NONE),
                new Case("CHUNK_ITEM SYSTEM|DUP", new ChunkItem(8 << 20, 2, 65536, BlockGroupItem.SYSTEM | BlockGroupItem.DUP,
                        65536, 65536, 4096, 1, List.of(new ChunkItem.Stripe(1, 22020096, UUID),
                        new ChunkItem.Stripe(1, 30408704, UUID))), chunk, dchunk, NONE),
                new Case("CHUNK_ITEM max", new ChunkItem(-1L, -1L, -1L, -1L, U32_MAX, U32_MAX, U32_MAX, U16_MAX,
                        List.of(new ChunkItem.Stripe(-1L, -1L, FF16))), chunk, dchunk, NONE),
                new Case("DEV_EXTENT", new DevExtent(3, 256, 22020096, 8 << 20, UUID), v -> ((DevExtent) v).encode(),
                        DevExtent::decode, NONE),
                new Case("DEV_EXTENT max", new DevExtent(-1L, -1L, -1L, -1L, FF16), v -> ((DevExtent) v).encode(),
                        DevExtent::decode, NONE),
                new Case("ROOT_ITEM", rootItem(9, 1, 1, UUID, T1), root, droot, len -> len == RootItem.LEGACY_SIZE),
                new Case("ROOT_ITEM max", rootItem(-1L, U32_MAX, 0xff, FF16, T_MAX), root, droot,
                        len -> len == RootItem.LEGACY_SIZE),
                new Case("ROOT_ITEM legacy 239 bytes", legacy, v -> Arrays.copyOf(((RootItem) v).encode(), RootItem.LEGACY_SIZE),
                        droot, NONE),
                new Case("UUID_KEY_SUBVOL one id", List.of(256L), CodecRoundTripTest::u64s, CodecRoundTripTest::decodeU64s,
                        len -> len % 8 == 0),
                new Case("UUID_KEY_RECEIVED_SUBVOL three ids", List.of(5L, 256L, -1L), CodecRoundTripTest::u64s,
                        CodecRoundTripTest::decodeU64s, len -> len % 8 == 0),
                new Case("dev stats", List.of(0L, 1L, 2L, 3L, -1L), CodecRoundTripTest::u64s, CodecRoundTripTest::decodeU64s,
                        len -> len % 8 == 0));
    }

    static Stream<Case> qgroupCases() {
        Encoder st = v -> ((QgroupItems.Status) v).encode();
        Decoder dst = QgroupItems.Status::decode;
        return Stream.of(
                new Case("QGROUP_STATUS 32 bytes", new QgroupItems.Status(1, 10, QgroupItems.STATUS_FLAG_ON, -1L, 0, false),
                        st, dst, NONE),
                new Case("QGROUP_STATUS 40 bytes", new QgroupItems.Status(1, 10, QgroupItems.STATUS_FLAG_SIMPLE_MODE | 1,
                        0, 7, true), st, dst, len -> len == 32),
                new Case("QGROUP_STATUS 40 bytes max", new QgroupItems.Status(-1L, -1L, -1L, -1L, -1L, true), st, dst,
                        len -> len == 32),
                new Case("QGROUP_INFO", new QgroupItems.Info(10, 16384, 16384, 4096, 4096),
                        v -> ((QgroupItems.Info) v).encode(), QgroupItems.Info::decode, NONE),
                new Case("QGROUP_INFO max", new QgroupItems.Info(-1L, -1L, -1L, -1L, -1L),
                        v -> ((QgroupItems.Info) v).encode(), QgroupItems.Info::decode, NONE),
                new Case("QGROUP_LIMIT", new QgroupItems.Limit(1, 100 << 20, 0, 0, 0),
                        v -> ((QgroupItems.Limit) v).encode(), QgroupItems.Limit::decode, NONE),
                new Case("QGROUP_LIMIT max", new QgroupItems.Limit(-1L, -1L, -1L, -1L, -1L),
                        v -> ((QgroupItems.Limit) v).encode(), QgroupItems.Limit::decode, NONE));
    }

    @SuppressWarnings("unchecked")
    private static <T> List<T> cast(Object v) {
        return (List<T>) v;
    }

    private static byte[] u64s(Object v) {
        List<Long> l = cast(v);
        return U64Array.encode(l.stream().mapToLong(Long::longValue).toArray());
    }

    private static Object decodeU64s(byte[] b, int off, int len) throws CorruptImageException {
        return LongStream.of(U64Array.decode(b, off, len, "test")).boxed().toList();
    }

    /** The item at offset 13 of a bigger buffer whose other bytes are {@code fill}. */
    private static byte[] embed(byte[] item, int fill) {
        byte[] b = new byte[item.length + 13 + 29];
        Arrays.fill(b, (byte) fill);
        System.arraycopy(item, 0, b, 13, item.length);
        return b;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void encodeThenDecodeGivesAnEqualValue(Case c) throws CorruptImageException {
        byte[] bytes = c.enc.encode(c.value);
        assertEquals(c.value, c.dec.decode(bytes, 0, bytes.length));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void decodeThenEncodeGivesTheSameBytes(Case c) throws CorruptImageException {
        byte[] bytes = c.enc.encode(c.value);
        byte[] in = embed(bytes, 0x5a);
        assertArrayEquals(bytes, c.enc.encode(c.dec.decode(in, 13, bytes.length)));
    }

    /** Whatever surrounds the item (the rest of the leaf) does not change what it decodes to. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void decoderReadsOnlyItsOwnBytes(Case c) throws CorruptImageException {
        byte[] bytes = c.enc.encode(c.value);
        assertEquals(c.value, c.dec.decode(embed(bytes, 0x00), 13, bytes.length));
        assertEquals(c.value, c.dec.decode(embed(bytes, 0xff), 13, bytes.length));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void everyShorterLengthThrowsCorruptImageException(Case c) {
        byte[] bytes = c.enc.encode(c.value);
        byte[] in = embed(bytes, 0xff); // the cut-off bytes are still there: only len must matter
        for (int len = 0; len < bytes.length; len++) {
            boolean legal = c.shorterDecodes.test(len);
            try {
                Object v = c.dec.decode(in, 13, len);
                assertTrue(legal, c.name + " cut to " + len + " of " + bytes.length + " bytes decoded to " + v);
                assertNotEquals(c.value, v, c.name + " cut to " + len + " bytes");
            } catch (CorruptImageException e) {
                assertTrue(!legal, c.name + " cut to " + len + " bytes (a legal size) threw " + e);
                assertTrue(e.getMessage() != null && !e.getMessage().isBlank());
            } catch (RuntimeException e) {
                throw new AssertionError(c.name + " cut to " + len + " bytes threw " + e + " instead of CorruptImageException", e);
            }
        }
    }

    @Test
    void legacyRootItemReadsAsZeroFromGenerationV2On() throws CorruptImageException {
        RootItem full = rootItem(9, 1, 1, UUID, T1);
        byte[] b = full.encode();
        RootItem legacy = RootItem.decode(b, 0, RootItem.LEGACY_SIZE);
        byte[] again = legacy.encode();
        assertEquals(RootItem.SIZE, again.length);
        assertArrayEquals(Arrays.copyOf(b, RootItem.LEGACY_SIZE), Arrays.copyOf(again, RootItem.LEGACY_SIZE));
        assertArrayEquals(new byte[RootItem.SIZE - RootItem.LEGACY_SIZE],
                Arrays.copyOfRange(again, RootItem.LEGACY_SIZE, RootItem.SIZE));
        assertEquals(0, legacy.generationV2());
        assertArrayEquals(new byte[16], legacy.uuid());
    }

    @Test
    void truncatedEntriesDecodeToAPrefix() throws CorruptImageException {
        List<InodeRef> refs = List.of(new InodeRef(2, s("one")), new InodeRef(3, s("two")));
        byte[] b = InodeRef.encodeAll(refs);
        assertEquals(refs.subList(0, 1), InodeRef.decodeAll(b, 0, 13));
        ExtentItem e = new ExtentItem(2, 7, ExtentItem.FLAG_DATA, null, -1, List.of(ExtentItem.InlineRef.sharedData(1, 1),
                ExtentItem.InlineRef.sharedData(2, 1)));
        assertEquals(1, ExtentItem.decode(e.encode(), 0, 24 + 13, false).inlineRefs().size());
    }

    @Test
    void unknownTypesAreCorruptionNotCrashes() {
        byte[] fe = FileExtentItem.regular(1, FileExtentItem.TYPE_REG, 1, 0, 1, 1, 0, 1).encode();
        fe[20] = 3;
        assertThrowsCorrupt(() -> FileExtentItem.decode(fe, 0, fe.length));
        byte[] ei = new ExtentItem(1, 1, ExtentItem.FLAG_DATA, null, -1, List.of(ExtentItem.InlineRef.sharedData(1, 1)))
                .encode();
        ei[24] = (byte) 177;
        assertThrowsCorrupt(() -> ExtentItem.decode(ei, 0, ei.length, false));
        byte[] chunk = new ChunkItem(1, 2, 3, 4, 5, 6, 7, 0, List.of(new ChunkItem.Stripe(1, 2, UUID))).encode();
        Le.putU16(chunk, 44, 0);
        assertThrowsCorrupt(() -> ChunkItem.decode(chunk, 0, ChunkItem.HEADER_SIZE));
        assertThrowsCorrupt(() -> U64Array.decode(new byte[12], 0, 12, "UUID"));
        assertThrowsCorrupt(() -> QgroupItems.Status.decode(new byte[36], 0, 36));
    }

    @FunctionalInterface
    private interface Call {
        void run() throws CorruptImageException;
    }

    private static void assertThrowsCorrupt(Call call) {
        try {
            call.run();
            fail("decoded");
        } catch (CorruptImageException e) {
            assertTrue(e.getMessage() != null && !e.getMessage().isBlank());
        }
    }
}
