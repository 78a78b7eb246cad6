package org.jbtrfs.kernel;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.UserDefinedFileAttributeView;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.jbtrfs.testing.KernelImages;
import org.jbtrfs.testing.KernelImages.LoopMount;

/**
 * The tree a kernel image is filled with, built twice: once on the host (an ordinary directory,
 * the expected contents) and once in the mounted image, mostly by {@code cp -a} from the host and
 * partly by running the same operations in both places, for what cp cannot carry over
 * (preallocated extents, inline extents followed by more data, a compressed extent partly
 * overwritten, subvolumes and snapshots).
 *
 * <h2>Layout</h2>
 * <pre>
 * files/      sizes around every boundary: 0, 1, 100, 2047..2049 (max_inline), 4095..4097, 64K, 1M+3, MiBs random
 * sparse/     holes in the middle, at the start, at the end (truncate up), a file that is all hole
 * ops/        written in place in both trees: fallocate (plain, inside a file, KEEP_SIZE past EOF, in a hole,
 *             unaligned), punched holes, zero range, inline extents then truncate/extend, overwrites, shrinks
 * comp-zlib/, comp-lzo/, comp-zstd/  copied while mounted with compress=TYPE; "partial" is then overwritten
 *             in two places so that file extents point into the middle of compressed extents
 * links/      symlinks: short, relative, absolute, to a directory, dangling, 1000 and 4095 bytes, a loop
 * hard/       hard links across directories; one inode with 100 long names (INODE_EXTREF)
 * xattr/      user.* small, 3 KiB, 30 on one file, empty value, on a directory; security.* and trusted.* with setfattr
 * special/    fifo, character and block devices (one with major/minor above 255), a unix socket
 * deep/       nine levels of directories
 * big/        10,000 entries
 * owners/     other uids and gids (one above 2^31), setuid, setgid, sticky, mode 000, a chowned symlink
 * times/      mtimes and atimes set with touch -d: before 1970, after 2038, whole seconds, one nanosecond
 * names/      unicode, 255 bytes, spaces and quotes, leading dot and dash
 * subvol/     a subvolume with files, links and a nested subvolume subvol/nested/
 * snap/       a snapshot of subvol/ (nested/ shows as an empty placeholder directory)
 * snap-ro/    a read-only snapshot of subvol/
 * </pre>
 * Content is deterministic for a seed.
 */
final class SourceTree {
    static final String[] COMPRESSION = {"zlib", "lzo", "zstd"};
    static final int BIG_DIR_ENTRIES = 10_000;
    /** Top-level entries that one {@code cp -a} carries over unchanged. */
    private static final String[] COPIED = {"files", "sparse", "links", "hard", "xattr", "special", "deep", "big",
        "owners", "times", "names"};
    private static final String[] WORDS = {"btrfs", "extent", "inode", "the", "of", "subvolume", "csum", "tree",
        "leaf", "node", "chunk", "\n", " ", "0000", "delayed", "ref", "transaction", "commit", "kernel", "jbtrfs"};

    /** Times set explicitly (touch -d), as (path, mtime, atime) in the form touch takes. */
    static final String[][] TIMES = {
        {"times/old", "1965-03-04 01:02:03.123456789", "1966-01-01 00:00:00.5"},
        {"times/future", "2200-01-01 00:00:00.999999999", "2201-06-07 08:09:10.111111111"},
        {"times/whole", "2001-02-03 04:05:06", "2001-02-03 04:05:07"},
        {"times/epoch", "1970-01-01 00:00:00", "1970-01-01 00:00:01"},
        {"times/nsec", "2020-02-29 12:34:56.000000001", "2020-02-29 12:34:56.999999999"},
        {"times/dir", "1999-12-31 23:59:59.999999999", "1999-12-31 23:59:58"},
    };

    /** One operation run in both trees: host while building, image while populating. */
    @FunctionalInterface
    interface Op {
        void apply(Path root) throws Exception;
    }

    private final Path host;
    private final long seed;
    private final boolean setfattr;
    /** ops/ entries, run in both trees. */
    private final List<Op> inPlaceOps = new ArrayList<>();
    /** Per compression type, run after comp-TYPE/ is copied and synced. */
    private final List<List<Op>> afterCompressOps = new ArrayList<>();

    SourceTree(Path host, long seed) {
        this.host = host;
        this.seed = seed;
        this.setfattr = KernelImages.which("setfattr") != null || (KernelImages.installOnce("attr")
                && KernelImages.which("setfattr") != null);
    }

    Path root() {
        return host;
    }

    /** Whether security.* and trusted.* xattrs were set (needs setfattr). */
    boolean hasPrivilegedXattrs() {
        return setfattr;
    }

    // ---------------------------------------------------------------- host

    /** Builds the whole host tree (the expected contents), except the comp-TYPE "partial" overwrites. */
    void buildHost() throws Exception {
        Random rnd = new Random(seed);
        Files.createDirectories(host);
        sh(host, "chmod 0755 .");
        files(rnd);
        sparse(rnd);
        ops(rnd);
        for (Op op : inPlaceOps) {
            op.apply(host);
        }
        for (String c : COMPRESSION) {
            compressed(rnd, "comp-" + c);
        }
        links();
        hard(rnd);
        xattrs(rnd);
        special();
        deep(rnd);
        big(rnd);
        owners(rnd);
        names(rnd);
        subvol(rnd);
        times(rnd);
        // Snapshots: copies of subvol/ whose nested subvolume shows as an empty root-owned 0755
        // directory. Emptied in place, so that the snapshot's own directory keeps subvol/'s mtime.
        for (String s : new String[] {"snap", "snap-ro"}) {
            sh(host, "cp -a subvol " + s + " && find " + s + "/nested -mindepth 1 -delete && chmod 0755 " + s
                    + "/nested && chown 0:0 " + s + "/nested");
        }
    }

    private void files(Random rnd) throws IOException {
        int[] sizes = {0, 1, 100, 2047, 2048, 2049, 4095, 4096, 4097, 65536, (1 << 20) + 3};
        for (int s : sizes) {
            write("files/b" + s, random(rnd, s));
        }
        write("files/rand3m", random(rnd, (3 << 20) + 17));
        write("files/rand4m", random(rnd, (4 << 20) + 4097));
        write("files/text-inline", text(rnd, 1800));
        for (int i = 0; i < 40; i++) {
            write(String.format("files/small/s%02d", i), random(rnd, rnd.nextInt(6000)));
        }
    }

    private void sparse(Random rnd) throws IOException {
        pwrite(host, "sparse/mid", 0, random(rnd, 4096));
        pwrite(host, "sparse/mid", 1 << 20, random(rnd, 4096));
        pwrite(host, "sparse/mid", (3 << 20) + 5, random(rnd, 5000));
        pwrite(host, "sparse/end", 0, random(rnd, 8192));
        truncate(host, "sparse/end", 10 << 20);
        truncate(host, "sparse/all", (7 << 20) + 1);
        pwrite(host, "sparse/start", 2 << 20, random(rnd, 100_000));
        pwrite(host, "sparse/tiny", 0, random(rnd, 10));
        pwrite(host, "sparse/tiny", 200_000, random(rnd, 10));
    }

    /** ops/: recorded here, applied to the host now and to the image after the copy. */
    private void ops(Random rnd) {
        byte[] mid = random(rnd, 65536);
        byte[] mid2 = random(rnd, 4096);
        byte[] mid3 = random(rnd, 1000);
        byte[] keep = random(rnd, 10_000);
        byte[] hole1 = random(rnd, 4096);
        byte[] hole2 = random(rnd, 4096);
        byte[] punched = random(rnd, 262_144);
        byte[] zeroed = random(rnd, 131_072);
        byte[] inl = text(rnd, 100);
        byte[] inl2 = text(rnd, 100);
        byte[] far = random(rnd, 4096);
        byte[] inl3 = text(rnd, 2000);
        byte[] shrunk = random(rnd, 1 << 20);
        byte[] over = random(rnd, 262_144);
        byte[] over2 = random(rnd, 4096);
        byte[] over3 = random(rnd, 3);
        inPlaceOps.add(r -> Files.createDirectories(r.resolve("ops")));
        inPlaceOps.add(r -> sh(r, "fallocate -l 1M ops/falloc-full"));
        inPlaceOps.add(r -> {
            pwrite(r, "ops/falloc-mid", 0, mid);
            sh(r, "fallocate -o 65536 -l 131072 ops/falloc-mid");
            pwrite(r, "ops/falloc-mid", 102_400, mid2);
            pwrite(r, "ops/falloc-mid", 150_001, mid3);
        });
        inPlaceOps.add(r -> {
            pwrite(r, "ops/falloc-keep", 0, keep);
            sh(r, "fallocate -n -o 0 -l 1048576 ops/falloc-keep");
        });
        inPlaceOps.add(r -> {
            pwrite(r, "ops/falloc-hole", 0, hole1);
            pwrite(r, "ops/falloc-hole", 1 << 20, hole2);
            fsync(r, "ops/falloc-hole");
            sh(r, "fallocate -o 262144 -l 262144 ops/falloc-hole");
        });
        inPlaceOps.add(r -> sh(r, "touch ops/falloc-unaligned && fallocate -o 1000 -l 5000 ops/falloc-unaligned"));
        inPlaceOps.add(r -> {
            pwrite(r, "ops/punched", 0, punched);
            fsync(r, "ops/punched");
            sh(r, "fallocate -p -o 4096 -l 8192 ops/punched && fallocate -p -o 100000 -l 50000 ops/punched");
        });
        inPlaceOps.add(r -> {
            pwrite(r, "ops/zeroed", 0, zeroed);
            fsync(r, "ops/zeroed");
            sh(r, "fallocate -z -o 16384 -l 32768 ops/zeroed");
        });
        inPlaceOps.add(r -> {
            pwrite(r, "ops/inline-then-truncate", 0, inl);
            fsync(r, "ops/inline-then-truncate");
            truncate(r, "ops/inline-then-truncate", 1 << 20);
        });
        inPlaceOps.add(r -> {
            pwrite(r, "ops/inline-then-far", 0, inl2);
            fsync(r, "ops/inline-then-far");
            pwrite(r, "ops/inline-then-far", 131_072, far);
        });
        inPlaceOps.add(r -> {
            pwrite(r, "ops/inline-shrunk", 0, inl3);
            fsync(r, "ops/inline-shrunk");
            truncate(r, "ops/inline-shrunk", 500);
        });
        inPlaceOps.add(r -> {
            pwrite(r, "ops/shrunk", 0, shrunk);
            fsync(r, "ops/shrunk");
            truncate(r, "ops/shrunk", 300_001);
        });
        inPlaceOps.add(r -> {
            pwrite(r, "ops/overwritten", 0, over);
            fsync(r, "ops/overwritten");
            pwrite(r, "ops/overwritten", 8192, over2);
            fsync(r, "ops/overwritten");
            pwrite(r, "ops/overwritten", 200_000, over3);
        });
    }

    private void compressed(Random rnd, String dir) throws IOException {
        write(dir + "/text", text(rnd, (3 << 20) + 5));
        write(dir + "/small", text(rnd, 1500));
        write(dir + "/tiny", text(rnd, 300));
        write(dir + "/mid", text(rnd, 40_000));
        byte[] mixed = new byte[524_288];
        System.arraycopy(random(rnd, 262_144), 0, mixed, 0, 262_144);
        System.arraycopy(text(rnd, 262_144), 0, mixed, 262_144, 262_144);
        write(dir + "/mixed", mixed);
        write(dir + "/zeros", new byte[1 << 20]);
        write(dir + "/partial", text(rnd, 524_288));
        byte[] a = random(rnd, 4096);
        byte[] b = text(rnd, 100);
        afterCompressOps.add(List.of(r -> {
            pwrite(r, dir + "/partial", 204_800, a);
            pwrite(r, dir + "/partial", 300_001, b);
        }));
    }

    private void links() throws IOException {
        mkdirs("links");
        symlink("links/short", "t");
        symlink("links/to-file", "../files/b100");
        symlink("links/to-dir", "../deep");
        symlink("links/abs", "/files/b100");
        symlink("links/dangling", "no/such/file");
        symlink("links/long1000", longPath(1000));
        symlink("links/long4095", longPath(4095));
        symlink("links/loop1", "loop2");
        symlink("links/loop2", "loop1");
    }

    private static String longPath(int len) {
        StringBuilder sb = new StringBuilder();
        int i = 0;
        while (sb.length() < len) {
            sb.append("component").append(i++).append('/');
        }
        return sb.substring(0, len);
    }

    private void hard(Random rnd) throws IOException {
        write("hard/a", random(rnd, 5000));
        link("hard/a-link", "hard/a");
        link("hard/sub/a-link2", "hard/a");
        link("hard/sub/deeper/a-link3", "hard/a");
        write("hard/inline", text(rnd, 50));
        link("hard/sub/inline-link", "hard/inline");
        write("hard/many/base", random(rnd, 1000));
        for (int i = 0; i < 99; i++) {
            link(String.format("hard/many/l%03d-", i) + "x".repeat(195), "hard/many/base");
        }
    }

    private void xattrs(Random rnd) throws IOException {
        write("xattr/small", text(rnd, 10));
        userXattr("xattr/small", "a", "1".getBytes(StandardCharsets.US_ASCII));
        userXattr("xattr/small", "b", "hello world".getBytes(StandardCharsets.US_ASCII));
        write("xattr/big", text(rnd, 10));
        userXattr("xattr/big", "big", random(rnd, 3072));
        write("xattr/many", new byte[0]);
        // ext4 (the host) keeps all of an inode's xattrs in one 4 KiB block: stay well under it.
        for (int i = 0; i < 30; i++) {
            userXattr("xattr/many", String.format("k%02d", i), random(rnd, rnd.nextInt(40)));
        }
        write("xattr/empty", new byte[0]);
        userXattr("xattr/empty", "empty", new byte[0]);
        mkdirs("xattr/dir");
        userXattr("xattr/dir", "d", "dirval".getBytes(StandardCharsets.US_ASCII));
        if (setfattr) {
            write("xattr/sec", text(rnd, 20));
            sh(host, "setfattr -n security.test -v 0x" + HexFormat.of().formatHex(random(rnd, 64)) + " xattr/sec"
                    + " && setfattr -n trusted.t -v trustedval xattr/sec"
                    + " && setfattr -n user.u -v userval xattr/sec"
                    + " && ln -s sec xattr/seclink && setfattr -h -n security.onlink -v linkval xattr/seclink");
        }
    }

    private void special() throws Exception {
        mkdirs("special");
        sh(host, "mkfifo -m 0640 special/fifo && mknod -m 0600 special/chr c 1 3 && mknod special/blk b 7 200"
                + " && mknod special/bigdev c 300 70000");
        try (ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            s.bind(UnixDomainSocketAddress.of(host.resolve("special/sock")));
        }
    }

    private void deep(Random rnd) throws IOException {
        StringBuilder p = new StringBuilder("deep");
        for (char c = 'a'; c <= 'i'; c++) {
            p.append('/').append(c);
            write(p + "/f" + c, text(rnd, 10 + rnd.nextInt(300)));
        }
        write(p + "/last", random(rnd, 10_000));
    }

    private void big(Random rnd) throws IOException {
        mkdirs("big");
        for (int i = 0; i < BIG_DIR_ENTRIES; i++) {
            String name = String.format("e%05d-", i) + "abcdefghijklmnopqrstuvwxyz".substring(rnd.nextInt(26));
            if (i % 1000 == 999) {
                mkdirs("big/" + name);
            } else if (i % 97 == 0) {
                write("big/" + name, text(rnd, 20));
            } else {
                Files.createFile(host.resolve("big/" + name));
            }
        }
    }

    private void owners(Random rnd) throws IOException {
        write("owners/u1000", text(rnd, 10));
        write("owners/nobody", text(rnd, 10));
        write("owners/huge", text(rnd, 10));
        write("owners/dir/inside", text(rnd, 10));
        write("owners/setuid", text(rnd, 10));
        mkdirs("owners/setgid-dir");
        mkdirs("owners/sticky-dir");
        write("owners/noperm", text(rnd, 10));
        symlink("owners/link", "u1000");
        sh(host, "chown 1000:1000 owners/u1000 && chown 65534:65534 owners/nobody"
                + " && chown 3000000000:3000000001 owners/huge && chown -R 1234:5678 owners/dir"
                + " && chmod 4755 owners/setuid && chmod 2775 owners/setgid-dir && chmod 1777 owners/sticky-dir"
                + " && chmod 000 owners/noperm && chown -h 1000:1001 owners/link");
    }

    private void names(Random rnd) throws IOException {
        if ("UTF-8".equalsIgnoreCase(System.getProperty("sun.jnu.encoding"))) {
            // Java maps file names through sun.jnu.encoding; only UTF-8 carries these bytes faithfully.
            write("names/ünïcødé-名前.txt", text(rnd, 30));
        }
        write("names/" + "n".repeat(255), text(rnd, 30));
        write("names/with space & 'quotes' \"dq\" *?[]", text(rnd, 30));
        write("names/.hidden", text(rnd, 30));
        write("names/-dash", text(rnd, 30));
        write("names/...dots", text(rnd, 30));
    }

    private void subvol(Random rnd) throws IOException {
        write("subvol/file1", random(rnd, 20_000));
        write("subvol/small", text(rnd, 100));
        write("subvol/dir/inner", random(rnd, 5000));
        symlink("subvol/link", "file1");
        write("subvol/hl1", random(rnd, 7000));
        link("subvol/dir/hl2", "subvol/hl1");
        write("subvol/xattr-file", text(rnd, 10));
        userXattr("subvol/xattr-file", "s", "sv".getBytes(StandardCharsets.US_ASCII));
        write("subvol/nested/n1", random(rnd, 3000));
        write("subvol/nested/sub/n2", text(rnd, 200));
        sh(host, "chmod 0750 subvol && chmod 0700 subvol/nested");
    }

    private void times(Random rnd) throws IOException {
        mkdirs("times/dir");
        for (String[] t : TIMES) {
            if (!Files.exists(host.resolve(t[0]))) {
                write(t[0], text(rnd, 10));
            }
        }
        StringBuilder cmd = new StringBuilder("true");
        for (String[] t : TIMES) {
            cmd.append(" && touch -m -d '").append(t[1]).append("' ").append(t[0]);
            cmd.append(" && touch -a -d '").append(t[2]).append("' ").append(t[0]);
        }
        sh(host, cmd.toString());
    }

    // ---------------------------------------------------------------- image

    /**
     * Fills the mounted image: subvolumes, one cp -a of the plain parts, the in-place operations,
     * each comp-TYPE directory under its own compress= remount, snapshots, and finally the
     * attributes of directories the population changed, copied from the host with
     * chmod/chown/touch --reference.
     */
    void populateImage(LoopMount m) throws Exception {
        Path img = m.dir();
        String h = host.toString();
        m.sh("btrfs subvolume create subvol && btrfs subvolume create subvol/nested");
        StringBuilder cp = new StringBuilder("cp -a");
        for (String e : COPIED) {
            cp.append(" '").append(h).append('/').append(e).append('\'');
        }
        m.sh(cp + " . && cp -a '" + h + "/subvol/.' subvol/");
        for (Op op : inPlaceOps) {
            op.apply(img);
        }
        m.sync();
        for (int i = 0; i < COMPRESSION.length; i++) {
            String dir = "comp-" + COMPRESSION[i];
            m.remount("compress=" + COMPRESSION[i]);
            m.sh("cp -a '" + h + "/" + dir + "' .");
            m.sync();
            for (Op op : afterCompressOps.get(i)) {
                op.apply(img);
                op.apply(host);
            }
            m.sync();
        }
        m.remount("compress=no");
        // Everything written in place takes the host's attributes, so the trees compare equal.
        List<String> fix = new ArrayList<>();
        try (var s = Files.list(host.resolve("ops"))) {
            s.forEach(p -> fix.add("ops/" + p.getFileName()));
        }
        for (String c : COMPRESSION) {
            fix.add("comp-" + c + "/partial");
            fix.add("comp-" + c);
        }
        fix.add("ops");
        fix.add("subvol/nested");
        fix.add("subvol");
        copyAttributes(m, fix);
        m.sh("btrfs subvolume snapshot subvol snap && btrfs subvolume snapshot -r subvol snap-ro");
        copyAttributes(m, List.of(""));
        m.sync();
    }

    /** chmod, chown and touch (atime and mtime) each image path from its host twin. */
    private void copyAttributes(LoopMount m, List<String> paths) {
        StringBuilder sb = new StringBuilder("true");
        for (String p : paths) {
            String from = "'" + host.resolve(p) + "'";
            String to = p.isEmpty() ? "." : "'" + p + "'";
            sb.append(" && chmod --reference=").append(from).append(' ').append(to);
            sb.append(" && chown --reference=").append(from).append(' ').append(to);
            sb.append(" && touch -r ").append(from).append(' ').append(to);
        }
        m.sh(sb.toString());
    }

    // ---------------------------------------------------------------- helpers

    private static byte[] random(Random rnd, int n) {
        byte[] b = new byte[n];
        rnd.nextBytes(b);
        return b;
    }

    /** Compressible bytes: words from a small vocabulary. */
    static byte[] text(Random rnd, int n) {
        byte[] b = new byte[n];
        int p = 0;
        while (p < n) {
            byte[] w = WORDS[rnd.nextInt(WORDS.length)].getBytes(StandardCharsets.US_ASCII);
            int k = Math.min(w.length, n - p);
            System.arraycopy(w, 0, b, p, k);
            p += k;
            if (p < n) {
                b[p++] = ' ';
            }
        }
        return b;
    }

    private void write(String rel, byte[] data) throws IOException {
        Path p = host.resolve(rel);
        Files.createDirectories(p.getParent());
        Files.write(p, data);
    }

    private void mkdirs(String rel) throws IOException {
        Files.createDirectories(host.resolve(rel));
    }

    private void symlink(String rel, String target) throws IOException {
        Path p = host.resolve(rel);
        Files.createDirectories(p.getParent());
        Files.createSymbolicLink(p, Path.of(target));
    }

    private void link(String rel, String existing) throws IOException {
        Path p = host.resolve(rel);
        Files.createDirectories(p.getParent());
        Files.createLink(p, host.resolve(existing));
    }

    private void userXattr(String rel, String name, byte[] value) throws IOException {
        UserDefinedFileAttributeView v = Files.getFileAttributeView(host.resolve(rel), UserDefinedFileAttributeView.class,
                LinkOption.NOFOLLOW_LINKS);
        v.write(name, ByteBuffer.wrap(value));
    }

    static void pwrite(Path root, String rel, long pos, byte[] data) throws IOException {
        Path p = root.resolve(rel);
        Files.createDirectories(p.getParent());
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            ByteBuffer bb = ByteBuffer.wrap(data);
            long at = pos;
            while (bb.hasRemaining()) {
                at += ch.write(bb, at);
            }
        }
    }

    /** ftruncate, up or down. */
    static void truncate(Path root, String rel, long size) throws IOException {
        Path p = root.resolve(rel);
        Files.createDirectories(p.getParent());
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(size);
        }
    }

    /** fsync: on btrfs this writes the data back now, which decides inline versus regular extents. */
    static void fsync(Path root, String rel) throws IOException {
        try (FileChannel ch = FileChannel.open(root.resolve(rel), StandardOpenOption.WRITE)) {
            ch.force(true);
        }
    }

    static void sh(Path dir, String script) {
        KernelImages.run(KernelImages.COMMAND_TIMEOUT, dir, List.of("sh", "-ec", script)).orFail();
    }
}
