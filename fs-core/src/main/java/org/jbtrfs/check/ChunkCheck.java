package org.jbtrfs.check;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.jbtrfs.CorruptImageException;
import org.jbtrfs.device.ChunkMap;
import org.jbtrfs.format.BlockGroupItem;
import org.jbtrfs.format.ChunkItem;
import org.jbtrfs.format.DevExtent;
import org.jbtrfs.format.DevItem;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.ItemType;
import org.jbtrfs.format.Le;
import org.jbtrfs.format.ObjectIds;
import org.jbtrfs.format.Superblock;

/**
 * Chunks, devices and device extents (check_chunks_and_extents(), check_dev_extents() and
 * check_devices() in check/main.c; btrfs_check_chunk_valid() in kernel-shared/volumes.c):
 * <ol>
 *   <li>Each CHUNK_ITEM is well formed: aligned start and length, one type bit, 64 KiB
 *       stripe_len, the filesystem's sector size, stripes on our device inside its size, the two
 *       copies of a DUP chunk apart; chunks do not overlap.</li>
 *   <li>The superblock's sys_chunk_array lists exactly the SYSTEM chunks of the chunk tree.</li>
 *   <li>Device extents and chunk stripes match one to one (chunk_offset, length, physical start);
 *       device extents do not overlap, stay above the first MiB and inside the device.</li>
 *   <li>The device's bytes_used (chunk tree DEV_ITEM and the superblock's copy) is the sum of its
 *       device extents; the superblock's total_bytes is the device's; the image holds it all.</li>
 * </ol>
 */
final class ChunkCheck {
    /** A chunk as the chunk tree has it. */
    record Chunk(long logical, ChunkItem item) {
        long length() {
            return item.length();
        }

        long end() {
            return logical + item.length();
        }

        long type() {
            return item.type();
        }
    }

    private static final long STRIPE_LEN = 64 * 1024;
    /** BTRFS_DEVICE_RANGE_RESERVED: nothing is allocated in the first MiB of a device. */
    private static final long DEVICE_RESERVED = 1024 * 1024;

    private final CheckContext ctx;
    private final TreeMap<Long, Chunk> chunks = new TreeMap<>(Long::compareUnsigned);
    private final Set<String> stripesWithDevExtent = new HashSet<>();
    private DevItem devItem;
    private int devItems;
    private long devExtentBytes;
    private long lastDevExtentEnd;

    ChunkCheck(CheckContext ctx) {
        this.ctx = ctx;
    }

    Collection<Chunk> chunks() {
        return chunks.values();
    }

    /** The chunk starting exactly at {@code logical}, or null. */
    Chunk chunkAt(long logical) {
        return chunks.get(logical);
    }

    /** The chunk containing {@code logical}, or null. */
    Chunk chunkContaining(long logical) {
        Map.Entry<Long, Chunk> e = chunks.floorEntry(logical);
        return e != null && Long.compareUnsigned(logical, e.getValue().end()) < 0 ? e.getValue() : null;
    }

    /** Visitor for the chunk tree walk. */
    TreeWalker.LeafVisitor chunkTreeVisitor() {
        return (key, b, off, len) -> {
            if (key.type() == ItemType.DEV_ITEM) {
                devItem(key, b, off, len);
            } else if (key.type() == ItemType.CHUNK_ITEM) {
                chunkItem(key, ChunkItem.decode(b, off, len));
            }
        };
    }

    private void devItem(DiskKey key, byte[] b, int off, int len) throws CorruptImageException {
        if (len < DevItem.SIZE) {
            throw new CorruptImageException("DEV_ITEM is " + len + " bytes, expect " + DevItem.SIZE);
        }
        DevItem d = DevItem.read(b, off);
        devItems++;
        devItem = d;
        if (key.objectid() != ObjectIds.DEV_ITEMS || key.offset() != d.devid()) {
            ctx.problem(Areas.DEVICE, "DEV_ITEM key " + key + " does not name device " + Le.u64s(d.devid()));
        }
        DevItem sd = ctx.fs.superblock().devItem();
        if (sd.devid() != d.devid() || !java.util.Arrays.equals(sd.uuid(), d.uuid())) {
            ctx.problem(Areas.DEVICE, "device " + Le.u64s(d.devid()) + " in the chunk tree is not the superblock's device "
                    + Le.u64s(sd.devid()));
        }
        if (sd.totalBytes() != d.totalBytes() || sd.bytesUsed() != d.bytesUsed()) {
            ctx.problem(Areas.DEVICE, "device " + Le.u64s(d.devid()) + ": total_bytes/bytes_used "
                    + Le.u64s(d.totalBytes()) + "/" + Le.u64s(d.bytesUsed()) + " in the chunk tree, "
                    + Le.u64s(sd.totalBytes()) + "/" + Le.u64s(sd.bytesUsed()) + " in the superblock");
        }
    }

    private void chunkItem(DiskKey key, ChunkItem c) {
        ctx.counters.chunks++;
        long logical = key.offset();
        String where = "chunk " + Le.u64s(logical);
        int sector = ctx.sectorsize;
        if (key.objectid() != ObjectIds.FIRST_CHUNK_TREE) {
            ctx.problem(Areas.CHUNK, where + ": key objectid " + Le.u64s(key.objectid()) + ", expect 256");
        }
        if (Long.remainderUnsigned(logical, sector) != 0 || c.length() == 0
                || Long.remainderUnsigned(c.length(), sector) != 0) {
            ctx.problem(Areas.CHUNK, where + ": start or length " + Le.u64s(c.length()) + " not aligned to " + sector);
        }
        long type = c.type() & BlockGroupItem.TYPE_MASK;
        if (Long.bitCount(type) != 1) {
            ctx.problem(Areas.CHUNK, where + ": type " + BlockGroupItem.flagsString(c.type()) + ", expect exactly one of "
                    + "DATA, METADATA, SYSTEM");
        }
        if (c.stripeLen() != STRIPE_LEN) {
            ctx.problem(Areas.CHUNK, where + ": stripe_len " + Le.u64s(c.stripeLen()) + ", expect " + STRIPE_LEN);
        }
        if (c.sectorSize() != sector) {
            ctx.problem(Areas.CHUNK, where + ": sector_size " + c.sectorSize() + ", expect " + sector);
        }
        checkStripes(where, c);
        Map.Entry<Long, Chunk> below = chunks.lowerEntry(logical);
        if (below != null && Long.compareUnsigned(below.getValue().end(), logical) > 0) {
            ctx.problem(Areas.CHUNK, where + " overlaps chunk " + Le.u64s(below.getKey()));
        }
        chunks.put(logical, new Chunk(logical, c));
    }

    private void checkStripes(String where, ChunkItem c) {
        long devid = ctx.fs.superblock().devItem().devid();
        long devBytes = ctx.fs.superblock().devItem().totalBytes();
        List<ChunkItem.Stripe> s = c.stripes();
        for (int i = 0; i < s.size(); i++) {
            ChunkItem.Stripe st = s.get(i);
            if (st.devid() != devid) {
                ctx.problem(Areas.CHUNK, where + " stripe " + i + ": device " + Le.u64s(st.devid()) + ", expect "
                        + Le.u64s(devid));
            }
            if (Long.compareUnsigned(st.offset() + c.length(), devBytes) > 0) {
                ctx.problem(Areas.CHUNK, where + " stripe " + i + " at physical " + Le.u64s(st.offset())
                        + " ends past the device's total_bytes " + Le.u64s(devBytes));
            }
        }
        if (s.size() == 2 && Long.compareUnsigned(Math.max(s.get(0).offset(), s.get(1).offset()),
                Math.min(s.get(0).offset(), s.get(1).offset()) + c.length()) < 0) {
            ctx.problem(Areas.CHUNK, where + ": its two DUP copies overlap on the device");
        }
    }

    /** Visitor for the device tree walk: DEV_EXTENT items. */
    TreeWalker.LeafVisitor devTreeVisitor() {
        return (key, b, off, len) -> {
            if (key.type() == ItemType.DEV_EXTENT) {
                devExtent(key, DevExtent.decode(b, off, len));
            }
        };
    }

    private void devExtent(DiskKey key, DevExtent d) {
        long physical = key.offset();
        String where = "device extent " + Le.u64s(key.objectid()) + ":" + Le.u64s(physical);
        devExtentBytes += d.length();
        if (Long.compareUnsigned(physical, DEVICE_RESERVED) < 0) {
            ctx.problem(Areas.DEVICE, where + " lies in the reserved first MiB of the device");
        }
        if (Long.compareUnsigned(physical, lastDevExtentEnd) < 0) {
            ctx.problem(Areas.DEVICE, where + " overlaps the previous device extent, which ends at "
                    + Le.u64s(lastDevExtentEnd));
        }
        lastDevExtentEnd = physical + d.length();
        if (d.chunkTree() != ObjectIds.CHUNK_TREE || d.chunkObjectid() != ObjectIds.FIRST_CHUNK_TREE) {
            ctx.problem(Areas.DEVICE, where + ": chunk_tree/chunk_objectid " + Le.u64s(d.chunkTree()) + "/"
                    + Le.u64s(d.chunkObjectid()) + ", expect 3/256");
        }
        Chunk c = chunks.get(d.chunkOffset());
        if (c == null) {
            ctx.problem(Areas.DEVICE, where + " (length " + Le.u64s(d.length()) + ") belongs to chunk "
                    + Le.u64s(d.chunkOffset()) + ", which does not exist");
            return;
        }
        int stripe = -1;
        for (int i = 0; i < c.item().stripes().size(); i++) {
            ChunkItem.Stripe st = c.item().stripes().get(i);
            if (st.devid() == key.objectid() && st.offset() == physical) {
                stripe = i;
            }
        }
        if (stripe < 0) {
            ctx.problem(Areas.DEVICE, where + " claims chunk " + Le.u64s(d.chunkOffset())
                    + ", which has no stripe there");
        } else if (d.length() != c.length()) {
            ctx.problem(Areas.DEVICE, where + ": length " + Le.u64s(d.length()) + ", expect chunk "
                    + Le.u64s(c.logical()) + "'s " + Le.u64s(c.length()));
        } else if (!stripesWithDevExtent.add(c.logical() + "/" + stripe)) {
            ctx.problem(Areas.DEVICE, where + " duplicates the device extent of chunk " + Le.u64s(c.logical())
                    + " stripe " + stripe);
        }
    }

    /** Cross-checks after both walks. */
    void finish() throws IOException {
        Superblock sb = ctx.fs.superblock();
        if (devItems != 1) {
            ctx.problem(Areas.DEVICE, "the chunk tree has " + devItems + " DEV_ITEMs, expect 1");
        }
        for (Chunk c : chunks.values()) {
            for (int i = 0; i < c.item().stripes().size(); i++) {
                if (!stripesWithDevExtent.contains(c.logical() + "/" + i)) {
                    ChunkItem.Stripe st = c.item().stripes().get(i);
                    ctx.problem(Areas.DEVICE, "chunk " + Le.u64s(c.logical()) + " stripe " + i + " at physical "
                            + Le.u64s(st.offset()) + " has no device extent");
                }
            }
        }
        DevItem d = devItem != null ? devItem : sb.devItem();
        if (d.bytesUsed() != devExtentBytes) {
            ctx.problem(Areas.DEVICE, "device " + Le.u64s(d.devid()) + ": bytes_used " + Le.u64s(d.bytesUsed())
                    + ", expect " + Le.u64s(devExtentBytes) + " (sum of its device extents)");
        }
        if (Long.compareUnsigned(lastDevExtentEnd, d.totalBytes()) > 0) {
            ctx.problem(Areas.DEVICE, "device extents end at " + Le.u64s(lastDevExtentEnd) + ", past total_bytes "
                    + Le.u64s(d.totalBytes()));
        }
        if (sb.totalBytes() != d.totalBytes()) {
            ctx.problem(Areas.SUPERBLOCK, "total_bytes " + Le.u64s(sb.totalBytes()) + ", expect the device's "
                    + Le.u64s(d.totalBytes()));
        }
        if (Long.remainderUnsigned(d.totalBytes(), ctx.sectorsize) != 0) {
            ctx.warning(Areas.DEVICE, "device total_bytes " + Le.u64s(d.totalBytes()) + " is not aligned to "
                    + ctx.sectorsize);
        }
        long size = ctx.fs.device().size();
        if (Long.compareUnsigned(d.totalBytes(), size) > 0) {
            ctx.problem(Areas.DEVICE, "device total_bytes " + Le.u64s(d.totalBytes()) + ", but the image holds only "
                    + size + " bytes");
        }
        checkSysChunkArray(sb);
    }

    /** The SYSTEM chunks of the chunk tree and of sys_chunk_array are the same. */
    private void checkSysChunkArray(Superblock sb) {
        ChunkMap sys = new ChunkMap(sb.devItem().devid());
        try {
            sys.loadSysChunkArray(sb.sysChunkArray());
        } catch (IOException e) {
            ctx.problem(Areas.SUPERBLOCK, "sys_chunk_array: " + CheckContext.oneLine(e));
            return;
        }
        List<Long> inTree = new ArrayList<>();
        for (Chunk c : chunks.values()) {
            if ((c.type() & BlockGroupItem.SYSTEM) == 0) {
                continue;
            }
            inTree.add(c.logical());
            ChunkMap.Mapping m = sys.find(c.logical());
            if (m == null || m.logical() != c.logical()) {
                ctx.problem(Areas.SUPERBLOCK, "SYSTEM chunk " + Le.u64s(c.logical()) + " is missing from sys_chunk_array");
            } else if (m.length() != c.length() || m.type() != c.type() || !m.stripes().equals(c.item().stripes())) {
                ctx.problem(Areas.SUPERBLOCK, "SYSTEM chunk " + Le.u64s(c.logical())
                        + " differs between the chunk tree and sys_chunk_array");
            }
        }
        for (ChunkMap.Mapping m : sys.mappings()) {
            if (!inTree.contains(m.logical())) {
                ctx.problem(Areas.SUPERBLOCK, "sys_chunk_array lists chunk " + Le.u64s(m.logical())
                        + ", which the chunk tree does not have");
            }
        }
    }
}
