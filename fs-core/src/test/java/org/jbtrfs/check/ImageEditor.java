package org.jbtrfs.check;

import java.io.IOException;
import java.util.Arrays;
import java.util.function.Consumer;
import org.jbtrfs.OpenOptions;
import org.jbtrfs.ctree.BTree;
import org.jbtrfs.ctree.Path;
import org.jbtrfs.ctree.TreeRoot;
import org.jbtrfs.device.MemoryBlockDevice;
import org.jbtrfs.disk.FsInfo;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.Header;
import org.jbtrfs.format.Le;
import org.jbtrfs.format.Superblock;

/**
 * Edits a real image in memory the way a bug in a writer would: items changed, resized or
 * deleted inside their leaf, with the leaf's checksum recomputed on every copy, so that only the
 * consistency checks (not the block checksums) can notice. Each edit reopens the filesystem, since
 * the old one caches the blocks as they were.
 */
final class ImageEditor implements AutoCloseable {
    /** Where an item is: its leaf and slot, and the leaf's copies on the device. */
    record Location(long leaf, int slot, long[] physical, boolean leafIsRoot) {
    }

    private final byte[] image;
    private FsInfo fs;

    ImageEditor(byte[] image) throws IOException {
        this.image = image;
        reopen();
    }

    byte[] image() {
        return image;
    }

    FsInfo fs() {
        return fs;
    }

    private void reopen() throws IOException {
        if (fs != null) {
            fs.close();
        }
        fs = FsInfo.open(new MemoryBlockDevice(image, true), OpenOptions.readOnlyDefaults());
    }

    /** Runs the checker on the image as it is now. */
    CheckReport check(boolean dataCsums) throws IOException {
        return new Checker(fs, new CheckOptions(dataCsums, CheckOptions.DEFAULT_MAX_PROBLEMS)).run();
    }

    TreeRoot tree(long id) throws IOException {
        return fs.requireTreeRoot(id);
    }

    /** The location of the item with exactly this key; fails when there is none. */
    Location locate(TreeRoot root, DiskKey key) throws IOException {
        BTree bt = fs.btree();
        try (Path p = new Path()) {
            if (!bt.searchSlot(root, key, p)) {
                throw new AssertionError("no item " + key + " in tree " + root.id());
            }
            long leaf = p.leaf().bytenr();
            return new Location(leaf, p.slot(), fs.chunkMap().map(leaf, fs.nodesize()), leaf == root.bytenr());
        }
    }

    /** Applies {@code edit} to every copy of the leaf, recomputes its checksum, and reopens. */
    void editLeaf(Location at, Consumer<byte[]> edit) throws IOException {
        int n = fs.nodesize();
        for (long phys : at.physical()) {
            byte[] block = Arrays.copyOfRange(image, (int) phys, (int) phys + n);
            edit.accept(block);
            Header.updateCsum(block, fs.csumType());
            System.arraycopy(block, 0, image, (int) phys, n);
        }
        reopen();
    }

    /** Offset in the block of item {@code slot}'s data. */
    static int dataOffset(byte[] block, int slot) {
        return Header.SIZE + (int) Le.u32(block, Header.itemOffset(slot) + Header.ITEM_OFF_OFFSET);
    }

    static int itemSize(byte[] block, int slot) {
        return (int) Le.u32(block, Header.itemOffset(slot) + Header.ITEM_OFF_SIZE);
    }

    /**
     * Resizes item {@code slot} to {@code newSize} bytes, keeping its first bytes, and moves the
     * data of the items after it so the leaf stays packed (btrfs_truncate_item).
     */
    static void resizeItem(byte[] block, int slot, int newSize) {
        int n = (int) Header.nritems(block);
        int size = itemSize(block, slot);
        int delta = size - newSize;
        assert delta >= 0 : "only shrinking is supported";
        int last = dataOffset(block, n - 1);
        int itemStart = dataOffset(block, slot);
        // Data of items slot..n-1 lies in [last, itemStart + newSize); move it up by delta.
        System.arraycopy(block, last, block, last + delta, itemStart + newSize - last);
        Arrays.fill(block, last, last + delta, (byte) 0);
        for (int i = slot; i < n; i++) {
            int o = Header.itemOffset(i) + Header.ITEM_OFF_OFFSET;
            Le.putU32(block, o, Le.u32(block, o) + delta);
        }
        Le.putU32(block, Header.itemOffset(slot) + Header.ITEM_OFF_SIZE, newSize);
    }

    /** Removes item {@code slot} from the leaf (btrfs_del_items for one item). */
    static void deleteItem(byte[] block, int slot) {
        int n = (int) Header.nritems(block);
        resizeItem(block, slot, 0);
        int from = Header.itemOffset(slot + 1);
        System.arraycopy(block, from, block, Header.itemOffset(slot), Header.itemOffset(n) - from);
        Arrays.fill(block, Header.itemOffset(n - 1), Header.itemOffset(n), (byte) 0);
        Header.setNritems(block, n - 1);
    }

    /** Changes every valid superblock copy and recomputes its checksum. */
    void editSuperblocks(Consumer<Superblock> edit) throws IOException {
        for (long off : Superblock.MIRROR_OFFSETS) {
            if (off + Superblock.SIZE > image.length) {
                continue;
            }
            byte[] b = Arrays.copyOfRange(image, (int) off, (int) off + Superblock.SIZE);
            Superblock sb = new Superblock(b);
            if (sb.magic() != Superblock.MAGIC) {
                continue;
            }
            edit.accept(sb);
            sb.updateCsum();
            System.arraycopy(b, 0, image, (int) off, Superblock.SIZE);
        }
        reopen();
    }

    @Override
    public void close() throws IOException {
        fs.close();
    }
}
