package org.jbtrfs.ctree;

import org.jbtrfs.format.DiskKey;
import org.jbtrfs.format.Header;

/** In-place changes of one node (insert_ptr, del_ptr and the pointer moves of ctree.c). */
final class NodeOps {
    private NodeOps() {
    }

    static void insertPtr(ExtentBuffer node, int slot, DiskKey key, long bytenr, long gen) {
        assert node.isDirty() && !node.isLeaf() : node;
        int n = node.nritems();
        assert slot >= 0 && slot <= n && n < Header.maxKeyPtrs(node.length()) : "insert ptr " + slot + " into " + n;
        byte[] d = node.data();
        System.arraycopy(d, Header.keyPtrOffset(slot), d, Header.keyPtrOffset(slot + 1), (n - slot) * Header.KEY_PTR_SIZE);
        node.setNritems(n + 1);
        node.setKey(slot, key);
        node.setBlockptr(slot, bytenr);
        node.setPtrGeneration(slot, gen);
    }

    static void deletePtr(ExtentBuffer node, int slot) {
        assert node.isDirty() && !node.isLeaf() : node;
        int n = node.nritems();
        assert slot >= 0 && slot < n : "delete ptr " + slot + " of " + n;
        byte[] d = node.data();
        System.arraycopy(d, Header.keyPtrOffset(slot + 1), d, Header.keyPtrOffset(slot), (n - slot - 1) * Header.KEY_PTR_SIZE);
        java.util.Arrays.fill(d, Header.keyPtrOffset(n - 1), Header.keyPtrOffset(n), (byte) 0);
        node.setNritems(n - 1);
    }

    /** Moves pointers [from, n) of {@code src} to the front of {@code dst}. */
    static void moveTailTo(ExtentBuffer src, int from, ExtentBuffer dst) {
        int n = src.nritems();
        int k = n - from;
        int dn = dst.nritems();
        assert dn + k <= Header.maxKeyPtrs(dst.length()) : "node overflow";
        byte[] s = src.data();
        byte[] d = dst.data();
        System.arraycopy(d, Header.keyPtrOffset(0), d, Header.keyPtrOffset(k), dn * Header.KEY_PTR_SIZE);
        System.arraycopy(s, Header.keyPtrOffset(from), d, Header.keyPtrOffset(0), k * Header.KEY_PTR_SIZE);
        java.util.Arrays.fill(s, Header.keyPtrOffset(from), Header.keyPtrOffset(n), (byte) 0);
        dst.setNritems(dn + k);
        src.setNritems(from);
    }

    /** Moves all pointers of {@code src} to the end of {@code dst}. */
    static void appendAll(ExtentBuffer src, ExtentBuffer dst) {
        int k = src.nritems();
        int dn = dst.nritems();
        assert dn + k <= Header.maxKeyPtrs(dst.length()) : "node overflow";
        System.arraycopy(src.data(), Header.keyPtrOffset(0), dst.data(), Header.keyPtrOffset(dn), k * Header.KEY_PTR_SIZE);
        dst.setNritems(dn + k);
        java.util.Arrays.fill(src.data(), Header.keyPtrOffset(0), Header.keyPtrOffset(k), (byte) 0);
        src.setNritems(0);
    }
}
