package org.jbtrfs.kernel;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.UserDefinedFileAttributeView;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.jbtrfs.format.Timespec;
import org.jbtrfs.testing.KernelImages;

/**
 * What stat(2), readdir(3), readlink(2) and getxattr(2) show of a directory tree through the
 * running kernel: of the host source tree (the expected contents) or of the image mounted
 * read-only (the kernel's own reading of the image, which a read-only mount does not change —
 * not even atimes). Recorded once, compared with what jbtrfs reads.
 *
 * <p>Java's unix attribute view gives mode, ids, sizes, links, devices and the three times with
 * nanoseconds; {@code stat} adds st_blocks, st_blksize and the birth time (statx btime, which
 * btrfs fills from otime); {@code getfattr -R} gives every xattr namespace (Java reaches user.*
 * only, which is the fallback without getfattr).
 */
final class TreeView {
    /** One path as the kernel shows it. {@code children} is in readdir order; {@code btime} may be null. */
    record Node(String rel, int mode, int uid, int gid, long size, long nlink, long rdev, long ino, long dev,
            Timespec atime, Timespec mtime, Timespec ctime, Timespec btime, long blocks, int blksize, byte[] link,
            Map<String, byte[]> xattrs, List<String> children) {
        int type() {
            return mode & 0170000;
        }

        boolean isDir() {
            return type() == 0040000;
        }

        boolean isRegular() {
            return type() == 0100000;
        }

        boolean isSymlink() {
            return type() == 0120000;
        }
    }

    private static final DateTimeFormatter STAT_TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSSSSSSSS");

    private TreeView() {
    }

    /** Records every path under {@code root} ("" is the root itself), in walk order. */
    static Map<String, Node> record(Path root) throws IOException {
        Map<String, long[]> stat = statAll(root);
        Map<String, Timespec> btimes = new TreeMap<>();
        for (Map.Entry<String, long[]> e : stat.entrySet()) {
            long[] v = e.getValue();
            if (v[2] != Long.MIN_VALUE) {
                btimes.put(e.getKey(), new Timespec(v[2], (int) v[3]));
            }
        }
        Map<String, Map<String, byte[]>> xattrs = xattrsAll(root);
        Map<String, Node> out = new LinkedHashMap<>();
        walk(root, "", stat, btimes, xattrs, out);
        return out;
    }

    private static void walk(Path root, String rel, Map<String, long[]> stat, Map<String, Timespec> btimes,
            Map<String, Map<String, byte[]>> xattrs, Map<String, Node> out) throws IOException {
        Path p = rel.isEmpty() ? root : root.resolve(rel);
        Map<String, Object> a = Files.readAttributes(p, "unix:*", LinkOption.NOFOLLOW_LINKS);
        int mode = (Integer) a.get("mode");
        List<String> children = new ArrayList<>();
        byte[] link = null;
        if ((mode & 0170000) == 0040000) {
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(p)) {
                for (Path c : ds) {
                    children.add(c.getFileName().toString());
                }
            }
        } else if ((mode & 0170000) == 0120000) {
            link = Files.readSymbolicLink(p).toString().getBytes(StandardCharsets.UTF_8);
        }
        long[] st = stat.get(rel);
        if (st == null) {
            throw new AssertionError("stat did not report " + p);
        }
        out.put(rel, new Node(rel, mode, (Integer) a.get("uid"), (Integer) a.get("gid"), (Long) a.get("size"),
                ((Integer) a.get("nlink")).longValue(), (Long) a.get("rdev"), (Long) a.get("ino"), (Long) a.get("dev"),
                ts((FileTime) a.get("lastAccessTime")), ts((FileTime) a.get("lastModifiedTime")),
                ts((FileTime) a.get("ctime")), btimes.get(rel), st[0], (int) st[1], link,
                xattrs == null ? xattrsJava(p, mode) : xattrs.getOrDefault(rel, Map.of()),
                Collections.unmodifiableList(children)));
        for (String c : children) {
            walk(root, rel.isEmpty() ? c : rel + "/" + c, stat, btimes, xattrs, out);
        }
    }

    static Timespec ts(FileTime t) {
        Instant i = t.toInstant();
        return new Timespec(i.getEpochSecond(), i.getNano());
    }

    /** rel -> {st_blocks, st_blksize, btime sec (MIN_VALUE: none), btime nsec}, from one find|stat run. */
    private static Map<String, long[]> statAll(Path root) {
        KernelImages.Result r = KernelImages.run(KernelImages.COMMAND_TIMEOUT, root,
                List.of("sh", "-ec", "find . -exec stat --printf '%b\\t%o\\t%W\\t%w\\t%n\\n' {} +")).orFail();
        Map<String, long[]> out = new TreeMap<>();
        for (String line : r.output().split("\n")) {
            if (line.isEmpty()) {
                continue;
            }
            String[] f = line.split("\t", 5);
            String rel = f[4].equals(".") ? "" : f[4].substring(2);
            long bsec = Long.MIN_VALUE;
            int bnsec = 0;
            if (!f[3].equals("-") && !f[2].equals("0")) {
                // "%w" is "YYYY-MM-DD hh:mm:ss.nnnnnnnnn +0000" with TZ=UTC.
                LocalDateTime t = LocalDateTime.parse(f[3].substring(0, 29), STAT_TIME);
                bsec = t.toEpochSecond(ZoneOffset.UTC);
                bnsec = t.getNano();
                if (bsec != Long.parseLong(f[2])) {
                    throw new AssertionError("stat %W " + f[2] + " and %w " + f[3] + " disagree for " + rel);
                }
            }
            out.put(new String(rel.getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8),
                    new long[] {Long.parseLong(f[0]), Long.parseLong(f[1]), bsec, bnsec});
        }
        return out;
    }

    /** rel -> (name -> value) for every path with xattrs, from getfattr -R; null when getfattr is missing. */
    private static Map<String, Map<String, byte[]>> xattrsAll(Path root) {
        if (KernelImages.which("getfattr") == null) {
            return null;
        }
        Map<String, Map<String, byte[]>> out = new TreeMap<>();
        KernelImages.Result r = KernelImages.run(KernelImages.COMMAND_TIMEOUT, root,
                List.of("getfattr", "-R", "-P", "-h", "-d", "-m", "-", "-e", "hex", ".")).orFail();
        String current = null;
        for (String line : r.output().split("\n")) {
            if (line.startsWith("# file: ")) {
                String name = unescape(line.substring(8));
                current = name.equals(".") ? "" : name.startsWith("./") ? name.substring(2) : name;
                out.put(current, new TreeMap<>());
            } else if (!line.isEmpty()) {
                int eq = line.indexOf('=');
                String name = unescape(eq < 0 ? line : line.substring(0, eq));
                String hex = eq < 0 ? "" : line.substring(eq + 1);
                byte[] value = hex.startsWith("0x") ? HexFormat.of().parseHex(hex.substring(2))
                        : hex.replace("\"", "").getBytes(StandardCharsets.UTF_8);
                out.get(current).put(name, value);
            }
        }
        return out;
    }

    /** getfattr quotes unprintable bytes and backslashes as \ooo. */
    private static String unescape(String s) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        byte[] raw = s.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < raw.length; i++) {
            if (raw[i] == '\\' && i + 3 < raw.length && isOctal(raw[i + 1]) && isOctal(raw[i + 2])
                    && isOctal(raw[i + 3])) {
                b.write((raw[i + 1] - '0') * 64 + (raw[i + 2] - '0') * 8 + (raw[i + 3] - '0'));
                i += 3;
            } else {
                b.write(raw[i]);
            }
        }
        return b.toString(StandardCharsets.UTF_8);
    }

    private static boolean isOctal(byte c) {
        return c >= '0' && c <= '7';
    }

    /** user.* xattrs through Java (regular files and directories only: Linux refuses user.* elsewhere). */
    private static Map<String, byte[]> xattrsJava(Path p, int mode) throws IOException {
        Map<String, byte[]> out = new TreeMap<>();
        int type = mode & 0170000;
        if (type != 0100000 && type != 0040000) {
            return out;
        }
        UserDefinedFileAttributeView v = Files.getFileAttributeView(p, UserDefinedFileAttributeView.class,
                LinkOption.NOFOLLOW_LINKS);
        for (String name : v.list()) {
            ByteBuffer bb = ByteBuffer.allocate(v.size(name));
            v.read(name, bb);
            out.put("user." + name, bb.array());
        }
        return out;
    }
}
