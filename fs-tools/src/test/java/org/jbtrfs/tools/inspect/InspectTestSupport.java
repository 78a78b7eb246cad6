package org.jbtrfs.tools.inspect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jbtrfs.tools.Main;

/**
 * What the inspect tests share: running our CLI in-process and btrfs-progs as a process, and
 * cutting a dump-tree listing into trees and items so that two listings can be compared item by
 * item with a message that names the tree and the item that differ.
 */
final class InspectTestSupport {
    /** A whole external command (mkfs, mount, progs' dump) must finish within this. */
    static final long PROCESS_TIMEOUT_SECONDS = 120;

    /** The item types whose field lines must equal progs' (the brief's list). */
    static final List<String> FIELD_CHECKED_TYPES = List.of("INODE_ITEM", "DIR_ITEM", "EXTENT_DATA", "EXTENT_ITEM",
            "METADATA_ITEM", "CHUNK_ITEM", "ROOT_ITEM", "BLOCK_GROUP_ITEM", "DEV_EXTENT");

    private static final Pattern ITEM_TYPE = Pattern.compile("^\\titem \\d+ key \\(\\S+ (\\S+) ");

    private InspectTestSupport() {
    }

    /** What an in-process run of the CLI printed and returned. */
    record Run(int exit, String out, String err) {
    }

    static Run jbtrfs(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int rc = Main.run(args, new PrintWriter(out), new PrintWriter(err));
        return new Run(rc, out.toString(), err.toString());
    }

    static boolean haveProgs() {
        try {
            return exec(List.of("btrfs", "--version"), false).exit == 0;
        } catch (IOException e) {
            return false;
        }
    }

    /** Root with loop devices: what a kernel mount of an image file needs. */
    static boolean canLoopMount() {
        return "root".equals(System.getProperty("user.name")) && Files.exists(Path.of("/dev/loop-control"));
    }

    /** Runs a command; with {@code check}, a non-zero exit fails the test showing stderr. */
    static Run exec(List<String> cmd, boolean check) throws IOException {
        Path outFile = Files.createTempFile("jbtrfs-exec", ".out");
        Path errFile = Files.createTempFile("jbtrfs-exec", ".err");
        try {
            Process p = new ProcessBuilder(cmd).redirectOutput(outFile.toFile()).redirectError(errFile.toFile()).start();
            if (!p.waitFor(PROCESS_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                fail(cmd + " did not finish in " + PROCESS_TIMEOUT_SECONDS + " s");
            }
            Run r = new Run(p.exitValue(), Files.readString(outFile, StandardCharsets.UTF_8),
                    Files.readString(errFile, StandardCharsets.UTF_8));
            if (check && r.exit != 0) {
                fail(cmd + " exited " + r.exit + ": " + r.err);
            }
            return r;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted running " + cmd, e);
        } finally {
            Files.deleteIfExists(outFile);
            Files.deleteIfExists(errFile);
        }
    }

    static String sh(String script) throws IOException {
        return exec(List.of("sh", "-ec", script), true).out;
    }

    /** One leaf item of a listing: its "item N key (...)" line and the field lines below it. */
    record Item(String keyLine, List<String> fields) {
        String type() {
            Matcher m = ITEM_TYPE.matcher(keyLine);
            return m.find() ? m.group(1) : "?";
        }
    }

    /** One tree of a listing: its heading, block header lines and items, in order. */
    record Tree(String heading, List<String> blockLines, List<Item> items) {
    }

    /**
     * Cuts a dump-tree listing into trees. A heading is any unindented line that is not a block
     * header, the first (version) line, or the totals; "file tree key (...)" headings of
     * different subvolumes stay apart because the key is part of the heading.
     */
    static Map<String, Tree> parseDump(String text) {
        Map<String, Tree> trees = new LinkedHashMap<>();
        Tree cur = null;
        Item item = null;
        String[] lines = text.split("\n", -1);
        for (int i = 1; i < lines.length; i++) {
            String l = lines[i];
            if (l.startsWith("\t\t")) {
                if (item != null) {
                    item.fields.add(normalize(l));
                }
                continue;
            }
            item = null;
            if (l.startsWith("\titem ")) {
                item = new Item(normalize(l), new ArrayList<>());
                cur.items.add(item);
            } else if (l.startsWith("leaf ") || l.startsWith("node ") || l.startsWith("\tkey (")) {
                cur.blockLines.add(normalize(l));
            } else if (!l.isEmpty() && !l.startsWith("\t") && !l.startsWith("fs uuid ") && !l.startsWith("chunk uuid ")
                    && !l.startsWith("total bytes ") && !l.startsWith("bytes used ") && !l.matches("uuid [0-9a-f-]{36}")) {
                cur = new Tree(l.trim(), new ArrayList<>(), new ArrayList<>());
                trees.put(cur.heading, cur);
            }
        }
        return trees;
    }

    static String normalize(String line) {
        return line.trim().replaceAll("\\s+", " ");
    }

    /**
     * The comparison the brief asks for: same trees in the same order; in each, the same sequence
     * of item key lines; for {@link #FIELD_CHECKED_TYPES} the same field lines; and the same block
     * header and key pointer lines. Returns the number of items compared.
     */
    static int assertSameDump(String progs, String ours) {
        Map<String, Tree> p = parseDump(progs);
        Map<String, Tree> o = parseDump(ours);
        assertEquals(List.copyOf(p.keySet()), List.copyOf(o.keySet()), "trees and their order");
        int compared = 0;
        for (Tree pt : p.values()) {
            Tree ot = o.get(pt.heading);
            assertEquals(pt.items.stream().map(Item::keyLine).toList(), ot.items.stream().map(Item::keyLine).toList(),
                    "item key lines of " + pt.heading);
            for (int i = 0; i < pt.items.size(); i++) {
                Item pi = pt.items.get(i);
                if (FIELD_CHECKED_TYPES.contains(pi.type())) {
                    assertEquals(pi.fields, ot.items.get(i).fields, pt.heading + ": fields of " + pi.keyLine);
                }
                compared++;
            }
            assertEquals(pt.blockLines, ot.blockLines, "block headers and key pointers of " + pt.heading);
        }
        return compared;
    }

    /** The "name value" lines of a dump-super listing, whitespace normalized, in order. */
    static List<String> superLines(String dump) {
        List<String> out = new ArrayList<>();
        for (String l : dump.split("\n")) {
            if (!l.isBlank()) {
                out.add(normalize(l));
            }
        }
        return out;
    }
}
