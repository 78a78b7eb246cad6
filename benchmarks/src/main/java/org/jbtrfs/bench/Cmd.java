package org.jbtrfs.bench;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * Runs external commands for the benchmark: with a timeout, with their output captured, and with
 * their stderr in the exception when they fail. The PATH given to children always includes the sbin
 * directories, since mkfs.btrfs, losetup and mount live there.
 */
final class Cmd {
    /** What a command left behind: exit status, output, and wall time from start to exit. */
    record Result(List<String> argv, int exit, String out, String err, long nanos) {
        boolean ok() {
            return exit == 0;
        }

        String describe() {
            StringBuilder sb = new StringBuilder();
            sb.append('\'').append(String.join(" ", argv)).append("' exited with ").append(exit);
            if (!err.isBlank()) {
                sb.append("; stderr:\n").append(err.strip());
            }
            if (!out.isBlank()) {
                sb.append("\nstdout:\n").append(out.strip());
            }
            return sb.toString();
        }
    }

    static final String PATH;

    static {
        Set<String> dirs = new LinkedHashSet<>();
        String env = System.getenv("PATH");
        if (env != null) {
            dirs.addAll(Arrays.asList(env.split(":")));
        }
        dirs.addAll(List.of("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"));
        dirs.remove("");
        PATH = String.join(":", dirs);
    }

    private Cmd() {
    }

    /** The absolute path of {@code name} on the augmented PATH, or null if there is none. */
    static Path which(String name) {
        for (String d : PATH.split(":")) {
            Path p = Path.of(d, name);
            if (Files.isRegularFile(p) && Files.isExecutable(p)) {
                return p;
            }
        }
        return null;
    }

    /** Those of {@code commands} not found in PATH (empty when all are there). */
    static List<String> missing(String... commands) {
        List<String> out = new java.util.ArrayList<>();
        for (String c : commands) {
            if (which(c) == null) {
                out.add(c);
            }
        }
        return out;
    }

    /** Runs {@code argv} and returns its result whatever the exit status; throws only on timeout or exec failure. */
    static Result tryRun(long timeoutSeconds, String... argv) throws IOException {
        return tryRun(timeoutSeconds, Map.of(), argv);
    }

    /** As {@link #tryRun(long, String...)}, with {@code extraEnv} added to the child's environment. */
    static Result tryRun(long timeoutSeconds, Map<String, String> extraEnv, String... argv) throws IOException {
        List<String> cmd = List.of(argv);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        Map<String, String> env = pb.environment();
        env.put("PATH", PATH);
        env.put("LC_ALL", "C");
        env.putAll(extraEnv);
        long t0 = System.nanoTime();
        Process p = pb.start();
        CompletableFuture<String> out = drain(p.getInputStream());
        CompletableFuture<String> err = drain(p.getErrorStream());
        boolean done;
        try {
            done = p.waitFor(timeoutSeconds, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            kill(p);
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running '" + String.join(" ", cmd) + "'", e);
        }
        long nanos = System.nanoTime() - t0;
        if (!done) {
            kill(p);
            throw new IOException("'" + String.join(" ", cmd) + "' did not finish within " + timeoutSeconds
                    + " s and was killed; stderr so far:\n" + join(err).strip());
        }
        return new Result(cmd, p.exitValue(), join(out), join(err), nanos);
    }

    /** Runs {@code argv} and throws, with its stderr, unless it exits 0. */
    static Result run(long timeoutSeconds, String... argv) throws IOException {
        Result r = tryRun(timeoutSeconds, argv);
        if (!r.ok()) {
            throw new IOException(r.describe());
        }
        return r;
    }

    private static void kill(Process p) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        try {
            p.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static CompletableFuture<String> drain(InputStream in) {
        CompletableFuture<String> f = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try (in) {
                ByteArrayOutputStream bos = new ByteArrayOutputStream();
                in.transferTo(bos);
                f.complete(bos.toString(StandardCharsets.UTF_8));
            } catch (IOException e) {
                f.complete("(could not read: " + e + ")");
            } catch (RuntimeException e) {
                f.completeExceptionally(e);
            }
        }, "cmd-drain");
        t.setDaemon(true);
        t.start();
        return f;
    }

    private static String join(CompletableFuture<String> f) {
        try {
            return f.get(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "";
        } catch (ExecutionException e) {
            throw new UncheckedIOException(new IOException(e.getCause()));
        } catch (java.util.concurrent.TimeoutException e) {
            return "(output still open: a child process kept the pipe)";
        }
    }
}
