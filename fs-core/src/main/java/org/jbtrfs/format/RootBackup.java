package org.jbtrfs.format;

/**
 * struct btrfs_root_backup (168 bytes): the superblock keeps the roots of the last four commits so
 * that a damaged newest root can be bypassed.
 *
 * <pre>
 * offset size field
 *      0   96 tree_root, tree_root_gen, chunk_root, chunk_root_gen, extent_root, extent_root_gen,
 *             fs_root, fs_root_gen, dev_root, dev_root_gen, csum_root, csum_root_gen
 *     96    8 total_bytes
 *    104    8 bytes_used
 *    112    8 num_devices
 *    120   32 unused_64[4]
 *    152    1 tree_root_level ... 157 csum_root_level (6 x u8)
 *    158   10 unused_8
 * </pre>
 */
public record RootBackup(long treeRoot, long treeRootGen, long chunkRoot, long chunkRootGen, long extentRoot,
        long extentRootGen, long fsRoot, long fsRootGen, long devRoot, long devRootGen, long csumRoot,
        long csumRootGen, long totalBytes, long bytesUsed, long numDevices, int treeRootLevel,
        int chunkRootLevel, int extentRootLevel, int fsRootLevel, int devRootLevel, int csumRootLevel) {
    public static final int SIZE = 168;

    public static RootBackup read(byte[] b, int o) {
        return new RootBackup(Le.u64(b, o), Le.u64(b, o + 8), Le.u64(b, o + 16), Le.u64(b, o + 24),
                Le.u64(b, o + 32), Le.u64(b, o + 40), Le.u64(b, o + 48), Le.u64(b, o + 56), Le.u64(b, o + 64),
                Le.u64(b, o + 72), Le.u64(b, o + 80), Le.u64(b, o + 88), Le.u64(b, o + 96), Le.u64(b, o + 104),
                Le.u64(b, o + 112), Le.u8(b, o + 152), Le.u8(b, o + 153), Le.u8(b, o + 154), Le.u8(b, o + 155),
                Le.u8(b, o + 156), Le.u8(b, o + 157));
    }

    public void write(byte[] b, int o) {
        long[] u = {treeRoot, treeRootGen, chunkRoot, chunkRootGen, extentRoot, extentRootGen, fsRoot, fsRootGen,
            devRoot, devRootGen, csumRoot, csumRootGen, totalBytes, bytesUsed, numDevices};
        for (int i = 0; i < u.length; i++) {
            Le.putU64(b, o + 8 * i, u[i]);
        }
        java.util.Arrays.fill(b, o + 120, o + SIZE, (byte) 0);
        int[] lv = {treeRootLevel, chunkRootLevel, extentRootLevel, fsRootLevel, devRootLevel, csumRootLevel};
        for (int i = 0; i < lv.length; i++) {
            Le.putU8(b, o + 152 + i, lv[i]);
        }
    }
}
