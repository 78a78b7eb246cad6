package org.jbtrfs.ctree;

import java.io.IOException;
import org.jbtrfs.device.BlockDevice;
import org.jbtrfs.device.ChunkMap;
import org.jbtrfs.format.CsumType;
import org.jbtrfs.format.Header;

/**
 * Writes dirty tree blocks (write_one_eb / csum_one_extent_buffer in extent_io.c and disk-io.c):
 * sets the WRITTEN flag, checksums the block, writes every mirror under WRITEBACK and marks the
 * buffer clean. The block is checked the way a reader would check it before it goes out (tree-checker on write), so
 * a bug shows as an exception here rather than as a damaged image.
 */
public final class TreeBlockWriter {
    private final BlockDevice device;
    private final ChunkMap chunks;
    private final CsumType csumType;
    private final int sectorsize;

    public TreeBlockWriter(BlockDevice device, ChunkMap chunks, CsumType csumType, int sectorsize) {
        this.device = device;
        this.chunks = chunks;
        this.csumType = csumType;
        this.sectorsize = sectorsize;
    }

    public void write(ExtentBuffer eb) throws IOException {
        assert eb.isDirty() : "writing a clean buffer " + eb;
        byte[] b = eb.data();
        Header.setFlags(b, Header.flags(b) | Header.FLAG_WRITTEN);
        TreeChecker.check(b, eb.bytenr(), sectorsize);
        Header.updateCsum(b, csumType);
        // Under writeback the buffer stays cached even if it were clean (seed 004's write-side
        // symmetry: the IO bit, not luck, keeps it alive), and only written bytes make it clean.
        eb.startWriteback();
        boolean written = false;
        try {
            for (long physical : chunks.map(eb.bytenr(), b.length)) {
                device.write(physical, b, 0, b.length);
            }
            written = true;
        } finally {
            eb.endWriteback(written);
        }
    }
}
