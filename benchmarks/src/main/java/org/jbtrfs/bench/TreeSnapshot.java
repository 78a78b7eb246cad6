package org.jbtrfs.bench;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

/**
 * What a directory tree holds, as seen through the host's (or a kernel mount's) view, for comparing
 * a mkfs {@code --rootdir} image with its source: per path below the root, the type, permission
 * bits, size and CRC32C of a regular file, the target of a symlink, and which paths share an inode
 * (hard links). Times, owners and directory sizes are not compared: directory sizes differ between
 * host filesystems and btrfs by design.
 */
final class TreeSnapshot {
    static final int S_IFMT = 0170000;
    static final int S_IFDIR = 0040000;
    static final int S_IFREG = 0100000;
    static final int S_IFLNK = 0120000;
    /** At most this many differences are listed in a failure message. */
    static final int MAX_LISTED = 20;
    private static final int CHUNK = 1 << 20;

    /**
     * One path. type is 'd', 'f', 'l' or 'o' (other: devices, fifos, sockets); size is 0 for
     * directories; crc only for files; target only for symlinks; hardLinkOf is the first path (in
     * sorted order) of the inode's names inside the tree when it has more than one there, else null.
     */
    record Entry(char type, int mode, long size, int crc, String target, String hardLinkOf) {
        String describe() {
            StringBuilder sb = new StringBuilder();
            sb.append(switch (type) {
                case 'd' -> "directory";
                case 'f' -> "file";
                case 'l' -> "symlink";
                default -> "other";
            });
            sb.append(String.format(Locale.ROOT, " mode %04o", mode));
            if (type == 'f') {
                sb.append(String.format(Locale.ROOT, " %d bytes crc32c %08x", size, crc));
            } else if (type == 'l') {
                sb.append(" -> ").append(target);
            }
            if (hardLinkOf != null) {
                sb.append(" (hard link of ").append(hardLinkOf).append(')');
            }
            return sb.toString();
        }
    }

    private TreeSnapshot() {
    }

    /** Every path below {@code root} (relative, '/'-separated), sorted, with its {@link Entry}. */
    static Map<String, Entry> take(Path root) throws IOException {
        List<Path> paths;
        try (Stream<Path> s = Files.walk(root)) {
            paths = s.filter(p -> !p.equals(root)).sorted().toList();
        }
        Map<String, Entry> out = new TreeMap<>();
        Map<Long, List<String>> byInode = new TreeMap<>();
        ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK);
        for (Path p : paths) {
            String rel = root.relativize(p).toString();
            Map<String, Object> a = Files.readAttributes(p, "unix:mode,ino,nlink,size", LinkOption.NOFOLLOW_LINKS);
            int mode = (Integer) a.get("mode");
            int fmt = mode & S_IFMT;
            char type = fmt == S_IFDIR ? 'd' : fmt == S_IFREG ? 'f' : fmt == S_IFLNK ? 'l' : 'o';
            long size = type == 'd' ? 0 : (Long) a.get("size");
            int crc = type == 'f' ? crc32c(p, buf) : 0;
            String target = type == 'l' ? Files.readSymbolicLink(p).toString() : null;
            if (type != 'd' && (Integer) a.get("nlink") > 1) {
                byInode.computeIfAbsent((Long) a.get("ino"), k -> new ArrayList<>()).add(rel);
            }
            out.put(rel, new Entry(type, mode & 07777, size, crc, target, null));
        }
        for (List<String> names : byInode.values()) {
            if (names.size() > 1) {
                String first = names.stream().sorted().findFirst().orElseThrow();
                for (String n : names) {
                    Entry e = out.get(n);
                    out.put(n, new Entry(e.type(), e.mode(), e.size(), e.crc(), e.target(), first));
                }
            }
        }
        return out;
    }

    /** Every difference between an image's view ({@code got}) and its source ({@code want}); empty when equal. */
    static List<String> diff(Map<String, Entry> want, Map<String, Entry> got) {
        List<String> bad = new ArrayList<>();
        for (Map.Entry<String, Entry> w : want.entrySet()) {
            Entry g = got.get(w.getKey());
            if (g == null) {
                bad.add(w.getKey() + ": missing from the image (source: " + w.getValue().describe() + ")");
            } else if (!g.equals(w.getValue())) {
                bad.add(w.getKey() + ": image has " + g.describe() + ", source has " + w.getValue().describe());
            }
        }
        for (Map.Entry<String, Entry> g : got.entrySet()) {
            if (!want.containsKey(g.getKey())) {
                bad.add(g.getKey() + ": only in the image (" + g.getValue().describe() + ")");
            }
        }
        return bad;
    }

    /** A one-paragraph message naming the first {@link #MAX_LISTED} differences. */
    static String describe(String what, List<String> bad) {
        assert !bad.isEmpty();
        return what + ": " + bad.size() + " difference(s) from the source tree:\n  "
                + String.join("\n  ", bad.subList(0, Math.min(MAX_LISTED, bad.size())))
                + (bad.size() > MAX_LISTED ? "\n  ..." : "");
    }

    /** Total bytes of regular files (apparent sizes, each inode once). */
    static long fileBytes(Map<String, Entry> snap) {
        long sum = 0;
        for (Map.Entry<String, Entry> e : snap.entrySet()) {
            Entry v = e.getValue();
            if (v.type() == 'f' && (v.hardLinkOf() == null || v.hardLinkOf().equals(e.getKey()))) {
                sum += v.size();
            }
        }
        return sum;
    }

    private static int crc32c(Path file, ByteBuffer buf) throws IOException {
        CRC32C crc = new CRC32C();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            while (true) {
                buf.clear();
                if (ch.read(buf) < 0) {
                    break;
                }
                buf.flip();
                crc.update(buf);
            }
        }
        return (int) crc.getValue();
    }
}
