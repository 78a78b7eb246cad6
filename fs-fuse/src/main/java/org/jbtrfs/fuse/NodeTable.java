package org.jbtrfs.fuse;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.jbtrfs.Errno;
import org.jbtrfs.FsException;
import org.jbtrfs.InodeId;

/**
 * FUSE node ids for the inodes the kernel knows, with the kernel's lookup count of each.
 *
 * <p>The kernel names an inode by a 64-bit node id that we choose when we first reply with it
 * (LOOKUP, CREATE, MKNOD, MKDIR, SYMLINK, LINK, READDIRPLUS), and forgets it with FORGET once its
 * lookup count (one per such reply) is down to zero. jbtrfs inodes are (subvolume, inode number)
 * pairs, so ids are handed out from a counter and never reused: a node id:generation pair must
 * never name two inodes in the connection's life, and with unique ids generation 0 is enough.
 * The root directory is node 1 and never forgotten.
 *
 * <p>Lookups by node id (every request) are lock-free; counting and forgetting take this table's
 * lock, so that a FORGET dropping the last count and a LOOKUP adding one cannot interleave.
 */
final class NodeTable {
    private static final class Node {
        final long nodeid;
        final InodeId inode;
        /** The kernel's lookup count; guarded by the table. */
        long lookups;

        Node(long nodeid, InodeId inode) {
            this.nodeid = nodeid;
            this.inode = inode;
        }
    }

    private final ConcurrentHashMap<Long, Node> byNodeid = new ConcurrentHashMap<>();
    /** Guarded by this. */
    private final Map<InodeId, Node> byInode = new HashMap<>();
    /** Guarded by this. */
    private long nextNodeid = 2;

    NodeTable(InodeId root) {
        Node r = new Node(1, root);
        r.lookups = 1;
        byNodeid.put(1L, r);
        byInode.put(root, r);
    }

    /** The inode behind a node id the kernel sent; ESTALE if the kernel forgot it (a kernel bug). */
    InodeId inode(long nodeid) throws FsException {
        Node n = byNodeid.get(nodeid);
        if (n == null) {
            throw new FsException(Errno.ESTALE, "no FUSE node " + Long.toUnsignedString(nodeid));
        }
        return n.inode;
    }

    /** The node id for {@code inode}, its lookup count one higher: call once per reply that names it. */
    synchronized long remember(InodeId inode) {
        Node n = byInode.get(inode);
        if (n == null) {
            n = new Node(nextNodeid++, inode);
            byInode.put(inode, n);
            byNodeid.put(n.nodeid, n);
        }
        n.lookups++;
        return n.nodeid;
    }

    /** Takes back {@code count} lookups (FORGET, or a reply the kernel never took). */
    synchronized void forget(long nodeid, long count) {
        Node n = byNodeid.get(nodeid);
        if (n == null || nodeid == 1) {
            return;
        }
        assert count > 0 && count <= n.lookups : "forget " + count + " of node " + nodeid + " with " + n.lookups + " lookups";
        n.lookups -= Math.min(count, n.lookups);
        if (n.lookups == 0) {
            byNodeid.remove(nodeid);
            byInode.remove(n.inode);
        }
    }

    /** Nodes the kernel holds, the root included. */
    int size() {
        return byNodeid.size();
    }
}
