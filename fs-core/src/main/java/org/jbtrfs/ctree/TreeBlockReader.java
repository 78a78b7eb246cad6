package org.jbtrfs.ctree;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Executor;
import org.jbtrfs.CorruptImageException;
import org.jbtrfs.device.BlockDevice;
import org.jbtrfs.device.ChunkMap;
import org.jbtrfs.format.CsumType;
import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.Header;
import org.jbtrfs.format.Le;

/**
 * Reads tree blocks (read_extent_buffer_pages() and btree_read_extent_buffer_pages() in
 * disk-io.c): maps the logical address to each mirror, verifies a copy and falls back to the next
 * mirror (the DUP copy) when one is bad. A block is handed out only after:
 * <ol>
 *   <li>its checksum matches (csum_tree_block),</li>
 *   <li>its header names the address it was read from and this filesystem's fsid,</li>
 *   <li>the tree checker accepts its structure,</li>
 *   <li>its level, generation and first key are what the parent pointer promised
 *       (btrfs_verify_level_key, verify_parent_transid) — which is also what stops a pointer
 *       loop: a child's level is always one less than its parent's.</li>
 * </ol>
 * The error for a block whose copies are all bad names the block and each mirror's problem.
 */
public final class TreeBlockReader {
    /**
     * What a parent pointer says about the child; fields that are unknown are -1 or null.
     * {@code nextKey} is the parent's key for the next child: every key of this child must be
     * below it, or keys would repeat or go backwards across siblings (a readdir that never ends).
     */
    public record Expect(int level, long generation, DiskKey firstKey, DiskKey nextKey) {
        public Expect(int level, long generation, DiskKey firstKey) {
            this(level, generation, firstKey, null);
        }

        public static Expect level(int level) {
            return new Expect(level, -1, null, null);
        }

        /** What {@code parent}'s pointer at {@code slot} promises. */
        public static Expect child(ExtentBuffer parent, int slot) {
            return new Expect(parent.level() - 1, parent.ptrGeneration(slot), parent.key(slot),
                    slot + 1 < parent.nritems() ? parent.key(slot + 1) : null);
        }
    }

    private final BlockDevice device;
    private final ChunkMap chunks;
    private final CsumType csumType;
    private final byte[] fsid;
    private final int nodesize;
    private final int sectorsize;
    private final ExtentBufferCache cache;
    private final Executor readaheadExecutor;
    /** The readahead workers this reader made and must stop; null when given an executor. */
    private final Readahead ownReadahead;

    /** A reader with readahead workers of its own, which {@link #stopReadahead()} stops. */
    public TreeBlockReader(BlockDevice device, ChunkMap chunks, CsumType csumType, byte[] headerFsid, int nodesize,
            int sectorsize, ExtentBufferCache cache) {
        this(device, chunks, csumType, headerFsid, nodesize, sectorsize, cache, new Readahead(), true);
    }

    /** As above, with the executor that runs readahead reads (tests pass their own; not stopped here). */
    public TreeBlockReader(BlockDevice device, ChunkMap chunks, CsumType csumType, byte[] headerFsid, int nodesize,
            int sectorsize, ExtentBufferCache cache, Executor readaheadExecutor) {
        this(device, chunks, csumType, headerFsid, nodesize, sectorsize, cache, readaheadExecutor, false);
    }

    private TreeBlockReader(BlockDevice device, ChunkMap chunks, CsumType csumType, byte[] headerFsid, int nodesize,
            int sectorsize, ExtentBufferCache cache, Executor readaheadExecutor, boolean owned) {
        this.readaheadExecutor = readaheadExecutor;
        this.ownReadahead = owned ? (Readahead) readaheadExecutor : null;
        this.device = device;
        this.chunks = chunks;
        this.csumType = csumType;
        this.fsid = headerFsid.clone();
        this.nodesize = nodesize;
        this.sectorsize = sectorsize;
        this.cache = cache;
    }

    public int nodesize() {
        return nodesize;
    }

    public ExtentBufferCache cache() {
        return cache;
    }

    /**
     * Stops this reader's own readahead workers (after the reads queued or in flight end); later
     * readahead requests start nothing. Part of the filesystem's close, before the device closes.
     */
    public void stopReadahead() {
        if (ownReadahead != null) {
            ownReadahead.stop();
        }
    }

    /** This reader's own readahead workers, or null when it was given an executor. */
    public Readahead ownReadahead() {
        return ownReadahead;
    }

    /** Returns the verified block with a user reference the caller must release. */
    public ExtentBuffer read(long bytenr, Expect expect) throws IOException {
        ExtentBuffer eb = cache.get(bytenr, nodesize, (bn, into) -> load(bn, into, expect));
        try {
            verifyExpected(eb.data(), bytenr, expect);
        } catch (CorruptImageException e) {
            eb.release();
            throw e;
        }
        return eb;
    }

    /**
     * Starts background reads of the children of {@code node} in slots {@code [fromSlot, toSlot)}
     * that are neither cached nor in flight (reada_for_search); a later {@link #read} of one of
     * them shares the read. The caller holds a reference on {@code node}. Returns the reads started.
     */
    public int readahead(ExtentBuffer node, int fromSlot, int toSlot) {
        assert !node.isLeaf() && node.users() > 0 : node;
        int started = 0;
        int end = Math.min(toSlot, node.nritems());
        for (int slot = Math.max(0, fromSlot); slot < end; slot++) {
            Expect expect = Expect.child(node, slot);
            if (cache.readahead(node.blockptr(slot), nodesize, (bn, into) -> load(bn, into, expect), readaheadExecutor)) {
                started++;
            }
        }
        return started;
    }

    private void load(long bytenr, byte[] b, Expect expect) throws IOException {
        assert b.length == nodesize : b.length;
        if (Long.remainderUnsigned(bytenr, sectorsize) != 0) {
            throw new CorruptImageException("tree block " + Le.u64s(bytenr) + " is not aligned to sectorsize " + sectorsize);
        }
        long[] physical = chunks.map(bytenr, nodesize);
        List<String> problems = new ArrayList<>(physical.length);
        for (int mirror = 0; mirror < physical.length; mirror++) {
            try {
                device.read(physical[mirror], b, 0, nodesize);
                verifyCopy(b, bytenr);
                verifyExpected(b, bytenr, expect);
                return;
            } catch (CorruptImageException | java.io.EOFException e) {
                problems.add("mirror " + (mirror + 1) + ": " + e.getMessage());
            }
        }
        throw new CorruptImageException("tree block " + Le.u64s(bytenr) + " has no good copy: " + String.join("; ", problems));
    }

    private void verifyCopy(byte[] b, long bytenr) throws CorruptImageException {
        if (!Header.csumMatches(b, csumType)) {
            throw new CorruptImageException(csumType.displayName() + " checksum mismatch, have " + csumType.hex(b, 0)
                    + " expect " + csumType.hex(csumType.compute(b, 32, b.length - 32), 0));
        }
        if (Header.bytenr(b) != bytenr) {
            throw new CorruptImageException("header bytenr is " + Le.u64s(Header.bytenr(b)) + ", expect " + Le.u64s(bytenr));
        }
        if (!Arrays.equals(b, Header.OFF_FSID, Header.OFF_FSID + 16, fsid, 0, 16)) {
            throw new CorruptImageException("header fsid does not match the filesystem");
        }
        TreeChecker.check(b, bytenr, sectorsize);
    }

    private static void verifyExpected(byte[] b, long bytenr, Expect e) throws CorruptImageException {
        if (e == null) {
            return;
        }
        String where = "tree block " + Le.u64s(bytenr);
        if (e.level() >= 0 && Header.level(b) != e.level()) {
            throw new CorruptImageException(where + ": level " + Header.level(b) + ", expect " + e.level());
        }
        if (e.generation() >= 0 && Header.generation(b) != e.generation()) {
            throw new CorruptImageException(where + ": generation " + Le.u64s(Header.generation(b)) + ", parent expects "
                    + Le.u64s(e.generation()));
        }
        if (e.firstKey() != null) {
            if (Header.nritems(b) == 0) {
                throw new CorruptImageException(where + ": empty, but its parent expects first key " + e.firstKey());
            }
            int keyOff = Header.level(b) == 0 ? Header.itemOffset(0) : Header.keyPtrOffset(0);
            if (DiskKey.compare(b, keyOff, e.firstKey()) != 0) {
                throw new CorruptImageException(where + ": first key " + DiskKey.read(b, keyOff) + ", parent expects "
                        + e.firstKey());
            }
        }
        long n = Header.nritems(b);
        if (e.nextKey() != null && n > 0) {
            int lastOff = Header.level(b) == 0 ? Header.itemOffset((int) n - 1) : Header.keyPtrOffset((int) n - 1);
            if (DiskKey.compare(b, lastOff, e.nextKey()) >= 0) {
                throw new CorruptImageException(where + ": last key " + DiskKey.read(b, lastOff)
                        + " is not below the parent's next key " + e.nextKey());
            }
        }
    }
}
