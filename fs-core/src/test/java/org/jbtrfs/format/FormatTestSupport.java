package org.jbtrfs.format;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * Helpers for the format tests that compare our codecs with btrfs-progs: running mkfs.btrfs and
 * btrfs inspect-internal on image files (neither needs root on a regular file), and the edge
 * values every codec is fed.
 */
final class FormatTestSupport {
    static final long PROCESS_TIMEOUT_SECONDS = 120;
    /** u32 max, the largest value of a u32 field (read back widened, never negative). */
    static final long U32_MAX = 0xffffffffL;
    static final int U16_MAX = 0xffff;

    private FormatTestSupport() {
    }

    static boolean haveProgs() {
        try {
            return run(List.of("mkfs.btrfs", "--version")) != null && run(List.of("btrfs", "--version")) != null;
        } catch (IOException e) {
            return false;
        }
    }

    /** Runs a command and returns its stdout, or null when it exits non-zero. */
    static String run(List<String> cmd) throws IOException {
        Path out = Files.createTempFile("jbtrfs-format", ".out");
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(false).redirectOutput(out.toFile())
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            if (!p.waitFor(PROCESS_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                fail(cmd + " did not finish in " + PROCESS_TIMEOUT_SECONDS + " s");
            }
            return p.exitValue() == 0 ? Files.readString(out, StandardCharsets.UTF_8) : null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        } finally {
            Files.deleteIfExists(out);
        }
    }

    static String runOrFail(List<String> cmd) throws IOException {
        String out = run(cmd);
        if (out == null) {
            fail(cmd + " failed");
        }
        return out;
    }

    /** A fresh image made by mkfs.btrfs with the given extra options, e.g. "--csum", "xxhash". */
    static Path mkfs(Path dir, String name, String... options) throws IOException {
        Path img = dir.resolve(name);
        try (var ch = java.nio.channels.FileChannel.open(img, java.nio.file.StandardOpenOption.CREATE_NEW,
                java.nio.file.StandardOpenOption.WRITE)) {
            ch.truncate(0);
            ch.write(java.nio.ByteBuffer.wrap(new byte[1]), (256L << 20) - 1);
        }
        List<String> cmd = new ArrayList<>(List.of("mkfs.btrfs", "-f", "-q"));
        cmd.addAll(List.of(options));
        cmd.add(img.toString());
        runOrFail(cmd);
        return img;
    }

    /** Bytes 65536..69631 of an image: its primary superblock. */
    static byte[] primarySuper(Path img) throws IOException {
        try (var ch = java.nio.channels.FileChannel.open(img)) {
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(Superblock.SIZE);
            while (b.hasRemaining()) {
                if (ch.read(b, Superblock.MIRROR_OFFSETS[0] + b.position()) < 0) {
                    fail(img + " is too short for a superblock");
                }
            }
            return b.array();
        }
    }

    static byte[] bytes(Random r, int n) {
        byte[] b = new byte[n];
        r.nextBytes(b);
        return b;
    }

    static byte[] name(int len, char c) {
        byte[] b = new byte[len];
        java.util.Arrays.fill(b, (byte) c);
        return b;
    }
}
