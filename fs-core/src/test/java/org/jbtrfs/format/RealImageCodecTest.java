package org.jbtrfs.format;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.jbtrfs.CorruptImageException;
import org.jbtrfs.OpenOptions;
import org.jbtrfs.ctree.ExtentBuffer;
import org.jbtrfs.ctree.TreeRoot;
import org.jbtrfs.device.FileBlockDevice;
import org.jbtrfs.disk.FsInfo;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Decode then encode on bytes we did not write: every item of every tree of a real image goes
 * through its codec and must come out byte for byte as mkfs.btrfs or the kernel wrote it; and the
 * key offsets that are hashes (DIR_ITEM, XATTR_ITEM, INODE_EXTREF, keyed EXTENT_DATA_REF) must be
 * the hash of what the item holds. The "kernel" image needs root and loop devices.
 */
class RealImageCodecTest {
    @TempDir
    Path dir;

    private static final String POPULATE = String.join("\n",
            "cd \"$1\"",
            "btrfs quota enable .",
            "btrfs subvolume create sv >/dev/null",
            "yes abc | head -c 300000 > sv/z",
            "head -c 500000 /dev/urandom > sv/big",
            "for i in $(seq 1 40); do cp --reflink=always sv/big sv/r$i; done",
            "touch sv/t; long=$(printf 'n%.0s' $(seq 1 200))",
            "for i in $(seq 1 90); do ln sv/t sv/${long}_$i; done",
            "setfattr -n user.k -v v sv/z",
            "fallocate -l 1M sv/pre",
            "btrfs subvolume snapshot sv snap >/dev/null",
            "echo more >> sv/r1",
            "sync");

    private Path image(String kind) throws IOException {
        Assumptions.assumeTrue(FormatTestSupport.haveProgs(), "skipped: needs btrfs-progs");
        Path img = dir.resolve(kind + ".img");
        if (kind.equals("rootdir")) {
            Path src = dir.resolve("src");
            Files.createDirectories(src.resolve("d"));
            for (int i = 0; i < 300; i++) {
                Files.writeString(src.resolve("d/f" + i), "x".repeat(i * 37));
            }
            Files.createSymbolicLink(src.resolve("link"), Path.of("d/f1"));
            Files.createLink(src.resolve("d/hard"), src.resolve("d/f1"));
            FormatTestSupport.runOrFail(List.of("truncate", "-s", "256M", img.toString()));
            FormatTestSupport.runOrFail(List.of("mkfs.btrfs", "-f", "-q", "-r", dir.resolve("src").toString(), img.toString()));
            return img;
        }
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")) && Files.exists(Path.of("/dev/loop-control")),
                "skipped: needs root and loop devices");
        FormatTestSupport.runOrFail(List.of("truncate", "-s", "512M", img.toString()));
        FormatTestSupport.runOrFail(List.of("mkfs.btrfs", "-f", "-q", img.toString()));
        Path mnt = Files.createDirectories(dir.resolve("mnt"));
        FormatTestSupport.runOrFail(List.of("mount", "-o", "loop,compress=zstd", img.toString(), mnt.toString()));
        try {
            FormatTestSupport.runOrFail(List.of("sh", "-ec", POPULATE, "populate", mnt.toString()));
        } finally {
            if (FormatTestSupport.run(List.of("umount", mnt.toString())) == null) {
                FormatTestSupport.run(List.of("umount", "-l", mnt.toString()));
            }
        }
        return img;
    }

    @ParameterizedTest
    @ValueSource(strings = {"rootdir", "kernel"})
    void everyItemReencodesToItsBytes(String kind) throws IOException {
        Path img = image(kind);
        Map<String, Integer> checked = new TreeMap<>();
        List<String> failures = new ArrayList<>();
        try (FsInfo fs = FsInfo.open(FileBlockDevice.open(img, true), OpenOptions.readOnlyDefaults())) {
            List<TreeRoot> trees = new ArrayList<>(List.of(fs.rootTree(), fs.chunkTree()));
            fs.btree().scan(fs.rootTree(), DiskKey.MIN, DiskKey.MAX, (key, data, off, len) -> {
                if (key.type() == ItemType.ROOT_ITEM) {
                    RootItem ri = RootItem.decode(data, off, len);
                    trees.add(new TreeRoot(key.objectid(), ri.bytenr(), ri.level(), ri.generation()));
                }
                return true;
            });
            for (TreeRoot t : trees) {
                fs.btree().walk(t, eb -> checkLeaf(eb, checked, failures));
            }
        }
        assertEquals(List.of(), failures.subList(0, Math.min(20, failures.size())));
        for (String type : List.of("INODE_ITEM", "INODE_REF", "DIR_ITEM", "DIR_INDEX", "EXTENT_DATA", "EXTENT_ITEM",
                "METADATA_ITEM", "ROOT_ITEM", "CHUNK_ITEM", "DEV_ITEM", "DEV_EXTENT", "BLOCK_GROUP_ITEM", "FREE_SPACE_INFO")) {
            assertTrue(checked.containsKey(type), kind + " image has no " + type + ": " + checked);
        }
        if (kind.equals("kernel")) {
            for (String type : List.of("INODE_EXTREF", "EXTENT_DATA_REF", "XATTR_ITEM", "QGROUP_STATUS", "QGROUP_INFO",
                    "QGROUP_LIMIT", "ROOT_REF", "ROOT_BACKREF", "UUID_KEY_SUBVOL", "PERSISTENT_ITEM")) {
                assertTrue(checked.containsKey(type), kind + " image has no " + type + ": " + checked);
            }
        }
    }

    private static void checkLeaf(ExtentBuffer eb, Map<String, Integer> checked, List<String> failures) {
        if (!eb.isLeaf()) {
            return;
        }
        for (int slot = 0; slot < eb.nritems(); slot++) {
            DiskKey key = eb.key(slot);
            int off = eb.itemDataOffset(slot);
            int len = eb.itemSize(slot);
            byte[] item = Arrays.copyOfRange(eb.data(), off, off + len);
            try {
                byte[] again = reencode(key, eb.data(), off, len);
                if (again != null) {
                    assertArrayEquals(item, again);
                    checked.merge(ItemType.name(key.type()), 1, Integer::sum);
                }
            } catch (CorruptImageException | AssertionError | RuntimeException e) {
                failures.add("block " + eb.bytenr() + " slot " + slot + " " + key + ": " + e);
            }
        }
    }

    /** The item decoded and encoded again, with its hash key offsets checked; null for types without a codec. */
    private static byte[] reencode(DiskKey key, byte[] b, int off, int len) throws CorruptImageException {
        switch (key.type()) {
            case ItemType.INODE_ITEM:
                return InodeItem.decode(b, off, len).encode();
            case ItemType.INODE_REF:
                return InodeRef.encodeAll(InodeRef.decodeAll(b, off, len));
            case ItemType.INODE_EXTREF: {
                List<InodeExtref> refs = InodeExtref.decodeAll(b, off, len);
                for (InodeExtref r : refs) {
                    assertEquals(key.offset(), Crc32c.extrefHash(r.parent(), r.name()), "extref hash");
                }
                return InodeExtref.encodeAll(refs);
            }
            case ItemType.DIR_ITEM:
            case ItemType.XATTR_ITEM: {
                List<DirItem> items = DirItem.decodeAll(b, off, len);
                for (DirItem d : items) {
                    assertEquals(key.offset(), Crc32c.nameHash(d.name()), "name hash");
                }
                return DirItem.encodeAll(items);
            }
            case ItemType.DIR_INDEX:
                return DirItem.encodeAll(DirItem.decodeAll(b, off, len));
            case ItemType.EXTENT_DATA:
                return FileExtentItem.decode(b, off, len).encode();
            case ItemType.EXTENT_ITEM:
            case ItemType.METADATA_ITEM:
                return ExtentItem.decode(b, off, len, key.type() == ItemType.METADATA_ITEM).encode();
            case ItemType.EXTENT_DATA_REF: {
                ExtentDataRef r = ExtentDataRef.decode(b, off, len);
                assertEquals(key.offset(), ExtentDataRef.hash(r.root(), r.objectid(), r.offset()), "extent data ref hash");
                return r.encode();
            }
            case ItemType.SHARED_DATA_REF: {
                byte[] out = new byte[4];
                Le.putU32(out, 0, U64Array.decodeSharedDataRefCount(b, off, len));
                return out;
            }
            case ItemType.BLOCK_GROUP_ITEM:
                return BlockGroupItem.decode(b, off, len).encode();
            case ItemType.FREE_SPACE_INFO:
                return FreeSpaceInfo.decode(b, off, len).encode();
            case ItemType.CHUNK_ITEM:
                return ChunkItem.decode(b, off, len).encode();
            case ItemType.DEV_ITEM:
                assertEquals(DevItem.SIZE, len, "DEV_ITEM size");
                return DevItem.read(b, off).toBytes();
            case ItemType.DEV_EXTENT:
                return DevExtent.decode(b, off, len).encode();
            case ItemType.ROOT_ITEM:
                return Arrays.copyOf(RootItem.decode(b, off, len).encode(), len);
            case ItemType.ROOT_REF:
            case ItemType.ROOT_BACKREF:
                return RootRef.decode(b, off, len).encode();
            case ItemType.QGROUP_STATUS:
                return QgroupItems.Status.decode(b, off, len).encode();
            case ItemType.QGROUP_INFO:
                return QgroupItems.Info.decode(b, off, len).encode();
            case ItemType.QGROUP_LIMIT:
                return QgroupItems.Limit.decode(b, off, len).encode();
            case ItemType.UUID_KEY_SUBVOL:
            case ItemType.UUID_KEY_RECEIVED_SUBVOL:
            case ItemType.PERSISTENT_ITEM:
                return U64Array.encode(U64Array.decode(b, off, len, ItemType.name(key.type())));
            default:
                return null;
        }
    }
}
