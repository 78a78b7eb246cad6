package org.jbtrfs.tools.inspect;

import static org.jbtrfs.tools.inspect.InspectTestSupport.jbtrfs;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Bad input ends in one line {@code jbtrfs: ...} on stderr and a non-zero exit, never a stack
 * trace: a missing file, a file of random bytes, a directory, a file too small to be an image, an
 * unknown tree name, a block address that is not a block. Needs nothing but the JVM.
 */
class InspectCliErrorTest {
    @TempDir
    static Path dir;

    static Stream<Arguments> badInputs() throws IOException {
        Path random = dir.resolve("random.img");
        byte[] b = new byte[4 << 20];
        new Random(7).nextBytes(b);
        Files.write(random, b);
        Path tiny = dir.resolve("tiny.img");
        Files.write(tiny, new byte[1000]);
        String missing = dir.resolve("missing.img").toString();
        return Stream.of(
                Arguments.of(new String[] {"dump-tree", missing}, "no such file"),
                Arguments.of(new String[] {"dump-super", missing}, "no such file"),
                Arguments.of(new String[] {"dump-tree", random.toString()}, "no valid superblock"),
                Arguments.of(new String[] {"dump-super", random.toString()}, "bad magic"),
                Arguments.of(new String[] {"dump-super", "-a", random.toString()}, "bad magic"),
                Arguments.of(new String[] {"dump-tree", tiny.toString()}, "too small"),
                Arguments.of(new String[] {"dump-super", tiny.toString()}, "too small"),
                Arguments.of(new String[] {"dump-tree", dir.toString()}, "is a directory"),
                Arguments.of(new String[] {"dump-super", dir.toString()}, "is a directory"),
                Arguments.of(new String[] {"dump-tree", "-t", "nosuchtree", random.toString()}, "unrecognized tree id"),
                Arguments.of(new String[] {"dump-tree", "-t", "fs_treex", random.toString()}, "unexpected tree id suffix"),
                Arguments.of(new String[] {"dump-tree", "-t", "0", random.toString()}, "unrecognized tree id"),
                Arguments.of(new String[] {"dump-super", "-s", "3", random.toString()}, "--super must be 0, 1 or 2"),
                Arguments.of(new String[] {"dump-tree", "--bfs", "--dfs", random.toString()}, "exclude each other"));
    }

    @ParameterizedTest
    @MethodSource("badInputs")
    void failsWithOneLine(String[] args, String expect) {
        String[] full = Stream.concat(Stream.of("inspect"), Stream.of(args)).toArray(String[]::new);
        InspectTestSupport.Run r = jbtrfs(full);
        assertNotEquals(0, r.exit(), String.join(" ", full));
        assertEquals(1, r.err().lines().count(), "one line: " + r.err());
        assertTrue(r.err().startsWith("jbtrfs: ") && r.err().contains(expect), r.err());
        assertFalse(r.err().contains("Exception") || r.err().contains("\tat "), "no stack trace: " + r.err());
    }

    @ParameterizedTest
    @MethodSource("badInputs")
    void printsNoTreeOutputForInputThatIsNotAnImage(String[] args, String expect) {
        String[] full = Stream.concat(Stream.of("inspect"), Stream.of(args)).toArray(String[]::new);
        String out = jbtrfs(full).out();
        assertFalse(out.contains("leaf ") || out.contains("csum_type"), out);
    }

    @Test
    void missingSubcommandIsAUsageError() {
        InspectTestSupport.Run r = jbtrfs("inspect");
        assertEquals(2, r.exit());
        assertTrue(r.err().startsWith("jbtrfs: missing command"), r.err());
    }
}
