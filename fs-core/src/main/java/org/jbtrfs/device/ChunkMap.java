package org.jbtrfs.device;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import org.jbtrfs.CorruptImageException;
import org.jbtrfs.UnsupportedImageException;
import org.jbtrfs.format.BlockGroupItem;
import org.jbtrfs.format.ChunkItem;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.ItemType;
import org.jbtrfs.format.Le;
import org.jbtrfs.format.ObjectIds;

/**
 * Logical to physical address translation (the kernel's extent_map tree of chunk mappings,
 * volumes.c). Built first from the superblock's sys_chunk_array, which maps the SYSTEM chunks
 * that hold the chunk tree, then from the chunk tree itself.
 *
 * <p>jbtrfs handles one device and the SINGLE and DUP profiles. For both, a logical address
 * {@code L} in a chunk starting at {@code S} lives at {@code stripe.offset + (L - S)} on each of
 * the chunk's stripes (one for SINGLE, two copies for DUP); each stripe is a mirror. Everything
 * else is refused by {@link #add} with a message naming the profile.
 *
 * <p>Invariants: mappings do not overlap (checked in {@link #add}); each has at least one stripe
 * on device {@link #devid}.
 */
public final class ChunkMap {
    /** A chunk as mapped: logical range, type and profile flags, and the physical copies. */
    public record Mapping(long logical, long length, long type, List<ChunkItem.Stripe> stripes) {
        public long end() {
            return logical + length;
        }

        public int mirrors() {
            return stripes.size();
        }
    }

    private final long devid;
    /**
     * Lock-free for readers: chunk allocation adds mappings while other threads map addresses.
     * Adds are serialised by their callers (open, or the chunk allocator's chunk mutex).
     */
    private final ConcurrentSkipListMap<Long, Mapping> byLogical = new ConcurrentSkipListMap<>(Long::compareUnsigned);

    public ChunkMap(long devid) {
        this.devid = devid;
    }

    /** Parses sys_chunk_array: (struct btrfs_disk_key, struct btrfs_chunk) pairs back to back. */
    public void loadSysChunkArray(byte[] array) throws CorruptImageException, UnsupportedImageException {
        int p = 0;
        while (p < array.length) {
            if (array.length - p < DiskKey.SIZE + ChunkItem.HEADER_SIZE) {
                throw new CorruptImageException("sys_chunk_array: truncated entry at offset " + p);
            }
            DiskKey key = DiskKey.read(array, p);
            if (key.type() != ItemType.CHUNK_ITEM) {
                throw new CorruptImageException("sys_chunk_array: key " + key + " at offset " + p + " is not a CHUNK_ITEM");
            }
            p += DiskKey.SIZE;
            int n = ChunkItem.numStripesAt(array, p);
            int size = ChunkItem.sizeFor(n);
            if (n == 0 || array.length - p < size) {
                throw new CorruptImageException("sys_chunk_array: chunk at offset " + p + " with " + n
                        + " stripes does not fit the array");
            }
            ChunkItem c = ChunkItem.decode(array, p, size);
            if ((c.type() & BlockGroupItem.SYSTEM) == 0) {
                throw new CorruptImageException("sys_chunk_array: chunk " + Le.u64s(key.offset()) + " is not a SYSTEM chunk");
            }
            add(key.offset(), c);
            p += size;
        }
    }

    /** Adds (or re-adds identically) the chunk at logical {@code start}, refusing what we cannot map. */
    public void add(long start, ChunkItem c) throws CorruptImageException, UnsupportedImageException {
        String where = "chunk at logical " + Le.u64s(start);
        long profile = c.type() & BlockGroupItem.PROFILE_MASK;
        if (profile != 0 && profile != BlockGroupItem.DUP) {
            throw new UnsupportedImageException(where + " uses profile " + BlockGroupItem.flagsString(c.type())
                    + "; jbtrfs supports only single and DUP");
        }
        int expectStripes = profile == BlockGroupItem.DUP ? 2 : 1;
        if (c.stripes().size() != expectStripes) {
            throw new CorruptImageException(where + ": " + c.stripes().size() + " stripes, expect " + expectStripes
                    + " for " + BlockGroupItem.flagsString(c.type()));
        }
        if (c.length() <= 0 || Long.compareUnsigned(start + c.length(), start) < 0) {
            throw new CorruptImageException(where + ": invalid length " + Le.u64s(c.length()));
        }
        if ((c.type() & BlockGroupItem.TYPE_MASK) == 0) {
            throw new CorruptImageException(where + ": no type bits in " + Le.u64s(c.type()));
        }
        for (ChunkItem.Stripe s : c.stripes()) {
            if (s.devid() != devid) {
                throw new UnsupportedImageException(where + " has a stripe on device " + Le.u64s(s.devid())
                        + "; jbtrfs supports single-device filesystems only (device " + devid + ")");
            }
        }
        Mapping m = new Mapping(start, c.length(), c.type(), c.stripes());
        Mapping same = byLogical.get(start);
        if (same != null) {
            if (same.length() == m.length() && same.stripes().equals(m.stripes())) {
                return;
            }
            throw new CorruptImageException(where + " conflicts with the chunk already mapped there");
        }
        Map.Entry<Long, Mapping> below = byLogical.lowerEntry(start);
        Map.Entry<Long, Mapping> above = byLogical.higherEntry(start);
        if ((below != null && Long.compareUnsigned(below.getValue().end(), start) > 0)
                || (above != null && Long.compareUnsigned(m.end(), above.getKey()) > 0)) {
            throw new CorruptImageException(where + " (length " + Le.u64s(c.length()) + ") overlaps another chunk");
        }
        byLogical.put(start, m);
    }

    /** The mapping holding {@code logical}, or null when no chunk covers it. */
    /** Forgets the chunk at {@code logical} (a removed, empty block group's, after its commit). */
    public void remove(long logical) {
        if (byLogical.remove(logical) == null) {
            throw new IllegalArgumentException("no chunk at " + Long.toUnsignedString(logical));
        }
    }

    public Mapping find(long logical) {
        Map.Entry<Long, Mapping> e = byLogical.floorEntry(logical);
        if (e == null || Long.compareUnsigned(logical, e.getValue().end()) >= 0) {
            return null;
        }
        return e.getValue();
    }

    /**
     * Physical offsets of {@code [logical, logical+len)} on each mirror. The range must lie in one
     * chunk; tree blocks and sectors never cross a chunk boundary.
     */
    public long[] map(long logical, int len) throws CorruptImageException {
        Mapping m = find(logical);
        if (m == null) {
            throw new CorruptImageException("logical address " + Le.u64s(logical) + " is not in any chunk");
        }
        if (Long.compareUnsigned(logical + len, m.end()) > 0) {
            throw new CorruptImageException("range " + Le.u64s(logical) + "+" + len + " crosses the end of chunk "
                    + Le.u64s(m.logical()));
        }
        long[] out = new long[m.mirrors()];
        for (int i = 0; i < out.length; i++) {
            out[i] = m.stripes().get(i).offset() + (logical - m.logical());
        }
        return out;
    }

    public Collection<Mapping> mappings() {
        return Collections.unmodifiableCollection(byLogical.values());
    }

    /** The chunk tree key of a chunk, for building trees. */
    public static DiskKey chunkKey(long logical) {
        return new DiskKey(ObjectIds.FIRST_CHUNK_TREE, ItemType.CHUNK_ITEM, logical);
    }

    public List<Mapping> snapshot() {
        return new ArrayList<>(byLogical.values());
    }
}
