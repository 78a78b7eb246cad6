package org.jbtrfs.ctree;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;
import org.jbtrfs.device.ChunkMap;
import org.jbtrfs.device.MemoryBlockDevice;
import org.jbtrfs.format.BlockGroupItem;
import org.jbtrfs.format.ChunkItem;
import org.jbtrfs.format.CsumType;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.Header;
import org.jbtrfs.format.Uuids;

/**
 * A bare tree store for tests of the COW B-tree: an in-memory device with one DUP metadata chunk,
 * a block allocator that pins what committed trees use until the next commit (as the extent layer
 * must), and a commit that writes every dirty block and reads nothing back from memory.
 */
final class TestTrees implements TreeBlockAllocator {
    static final long CHUNK_START = 1L << 20;

    final int nodesize;
    final MemoryBlockDevice device;
    final ChunkMap chunks = new ChunkMap(1);
    final byte[] fsid;
    final byte[] chunkUuid;
    final CsumType csum = CsumType.CRC32C;
    final ExtentBufferCache cache;
    final BTree btree;
    final CowBTree cow;
    final TreeBlockWriter writer;
    final TreeSet<Long> free = new TreeSet<>();
    final List<Long> pinned = new ArrayList<>();
    final Map<Long, ExtentBuffer> dirty = new LinkedHashMap<>();
    long allocated;
    long freedImmediately;

    TestTrees(int nodesize, long chunkBytes, long cacheBytes, Random rnd) throws IOException {
        this.nodesize = nodesize;
        this.device = new MemoryBlockDevice(new byte[(int) (CHUNK_START + 2 * chunkBytes)], false);
        this.fsid = Uuids.random(rnd);
        this.chunkUuid = Uuids.random(rnd);
        chunks.add(CHUNK_START, new ChunkItem(chunkBytes, 2, 65536, BlockGroupItem.METADATA | BlockGroupItem.DUP, 4096, 4096,
                4096, 0, List.of(new ChunkItem.Stripe(1, CHUNK_START, new byte[16]),
                        new ChunkItem.Stripe(1, CHUNK_START + chunkBytes, new byte[16]))));
        for (long b = CHUNK_START; b < CHUNK_START + chunkBytes; b += nodesize) {
            free.add(b);
        }
        cache = new ExtentBufferCache(cacheBytes);
        btree = new BTree(new TreeBlockReader(device, chunks, csum, fsid, nodesize, 4096, cache));
        cow = new CowBTree(btree, this);
        writer = new TreeBlockWriter(device, chunks, csum, 4096);
    }

    /** A new empty tree: one empty root leaf, dirty in transaction {@code transid}. */
    CowRoot createTree(long id, long transid) throws IOException {
        ExtentBuffer leaf = allocTreeBlock(transid, id, 0, null, 0);
        return new CowRoot(id, leaf, null);
    }

    @Override
    public ExtentBuffer allocTreeBlock(long transid, long owner, int level, DiskKey firstKey, long hint) {
        Long b = free.ceiling(hint);
        if (b == null) {
            b = free.first();
        }
        free.remove(b);
        allocated++;
        ExtentBuffer eb = ExtentBuffer.allocate(b, nodesize);
        byte[] d = eb.data();
        Header.setFsid(d, fsid);
        Header.setChunkTreeUuid(d, chunkUuid);
        Header.setOwner(d, owner);
        Header.setLevel(d, level);
        Header.setGeneration(d, transid);
        Header.setFlags(d, (long) Header.MIXED_BACKREF_REV << Header.BACKREF_REV_SHIFT);
        dirty.put(b, eb);
        return cache.insertNew(eb);
    }

    @Override
    public void freeTreeBlock(long transid, long owner, ExtentBuffer eb, long parent) {
        boolean written = (Header.flags(eb.data()) & Header.FLAG_WRITTEN) != 0;
        if (Header.generation(eb.data()) == transid && !written) {
            ExtentBuffer was = dirty.remove(eb.bytenr());
            assert was == eb : "freeing a block of this transaction that is not dirty: " + eb;
            eb.clearDirty();
            cache.forget(eb);
            free.add(eb.bytenr());
            freedImmediately++;
        } else {
            assert !eb.isDirty() : "freeing a dirty block of an older transaction";
            pinned.add(eb.bytenr());
        }
    }

    @Override
    public void updateRefForCow(long transid, long owner, ExtentBuffer buf, ExtentBuffer cow, boolean rootNode) {
    }

    /** Writes every dirty block, publishes the roots as committed, and unpins. */
    void commit(CowRoot... roots) throws IOException {
        for (ExtentBuffer eb : dirty.values()) {
            writer.write(eb);
        }
        dirty.clear();
        for (CowRoot r : roots) {
            r.lock.readLock().lock();
            try {
                r.setCommitRoot(r.current());
            } finally {
                r.lock.readLock().unlock();
            }
        }
        free.addAll(pinned);
        pinned.clear();
    }

    /** A reader over the same device with a cold cache: sees only what is on disk. */
    BTree coldReader() {
        return new BTree(new TreeBlockReader(device, chunks, csum, fsid, nodesize, 4096, new ExtentBufferCache(64L << 20)));
    }
}
