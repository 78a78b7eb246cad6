package org.jbtrfs.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The fio side of the FUSE benchmark: the command line of each job and the figure it yields, read
 * from fio's {@code --output-format=json} report.
 *
 * <p>Every job is one process, one thread, {@code --ioengine=psync --direct=0} on one file
 * ({@code fio.dat}) of {@code --size-mb} MiB, stopped by whichever comes first of the size and
 * {@code --runtime} ({@code --time_based} is off). Writes end with {@code --end_fsync=1}, and fio
 * counts that fsync in the job's runtime, so write bandwidth is "on stable storage", not "in the
 * page cache". A read job finds the file the write job left; if the write stopped at the runtime
 * before the end, fio lays the rest out first, untimed.
 */
final class Fio {
    /** A job: its name (also the workload's name), fio's rw mode, block size, and the side reported. */
    enum Job {
        SEQWRITE("seqwrite", "write", "1M", true),
        SEQREAD("seqread", "read", "1M", false),
        RANDWRITE("randwrite", "randwrite", "4k", true),
        RANDREAD("randread", "randread", "4k", false);

        final String workload;
        final String rw;
        final String blockSize;
        final boolean write;

        Job(String workload, String rw, String blockSize, boolean write) {
            this.workload = workload;
            this.rw = rw;
            this.blockSize = blockSize;
            this.write = write;
        }

        /** Sequential jobs report bandwidth, random ones operations per second. */
        boolean sequential() {
            return blockSize.equals("1M");
        }

        String unit() {
            return sequential() ? "MB/s" : "IOPS";
        }
    }

    /** What one job reports: bytes moved, their rate, operations per second and fio's runtime. */
    record Figures(long ioBytes, double bwBytesPerSecond, double iops, long runtimeMs) {
        /** The figure the benchmark compares: MB/s (10^6 bytes) for sequential jobs, IOPS for random ones. */
        double value(Job job) {
            return job.sequential() ? bwBytesPerSecond / 1e6 : iops;
        }
    }

    /** Seconds fio may take beyond --runtime (layout of the file, the end fsync) before it is killed. */
    static final long SLACK_S = 600;

    private Fio() {
    }

    /** fio's command line for {@code job} on {@code file}. */
    static List<String> argv(Job job, Path file, int sizeMb, int runtimeS) {
        List<String> a = new ArrayList<>(List.of("fio", "--name=" + job.workload, "--filename=" + file, "--rw=" + job.rw,
                "--bs=" + job.blockSize, "--size=" + sizeMb + "M", "--ioengine=psync", "--direct=0", "--numjobs=1",
                "--runtime=" + runtimeS, "--randrepeat=1", "--output-format=json"));
        if (job.write) {
            a.add("--end_fsync=1");
        }
        return a;
    }

    /** Runs {@code job}; throws with fio's message when it fails or reports an error. */
    static Figures run(Job job, Path file, int sizeMb, int runtimeS) throws IOException {
        List<String> argv = argv(job, file, sizeMb, runtimeS);
        Cmd.Result r = Cmd.tryRun(runtimeS + SLACK_S, argv.toArray(String[]::new));
        if (!r.ok()) {
            throw new MkfsBenchmark.BenchmarkFailure("fio " + job.workload + " on " + file + " failed: " + r.describe());
        }
        try {
            return parse(r.out(), job);
        } catch (IllegalArgumentException e) {
            throw new MkfsBenchmark.BenchmarkFailure("fio " + job.workload + " on " + file + ": " + e.getMessage() + "\n" + r.describe());
        }
    }

    /**
     * Reads the figures of {@code job} from fio's JSON report: the first job's "read" or "write"
     * object. fio may print a warning line before the JSON; it is skipped. Throws
     * IllegalArgumentException when the report is malformed, names an error, or moved no bytes.
     */
    static Figures parse(String output, Job job) {
        int start = output.indexOf('{');
        if (start < 0) {
            throw new IllegalArgumentException("no JSON object in fio's output");
        }
        Map<String, Object> root = Json.object(Json.parse(output.substring(start)), "report");
        List<Object> jobs = Json.list(root.get("jobs"), "jobs");
        if (jobs.isEmpty()) {
            throw new IllegalArgumentException("fio reported no jobs");
        }
        Map<String, Object> j = Json.object(jobs.get(0), "jobs[0]");
        long error = Json.number(j.get("error"), "error").longValue();
        if (error != 0) {
            throw new IllegalArgumentException("fio job " + j.get("jobname") + " reports error " + error);
        }
        String side = job.write ? "write" : "read";
        Map<String, Object> s = Json.object(j.get(side), side);
        Figures f = new Figures(Json.number(s.get("io_bytes"), side + ".io_bytes").longValue(),
                Json.number(s.get("bw_bytes"), side + ".bw_bytes").doubleValue(), Json.number(s.get("iops"), side + ".iops").doubleValue(),
                Json.number(s.get("runtime"), side + ".runtime").longValue());
        if (f.ioBytes() <= 0 || f.runtimeMs() <= 0) {
            throw new IllegalArgumentException(String.format(Locale.ROOT, "fio job %s moved %d bytes in %d ms", job.workload,
                    f.ioBytes(), f.runtimeMs()));
        }
        return f;
    }

    /**
     * Just enough JSON for fio's report (RFC 8259 values; numbers become Double or Long): the
     * benchmark module has no JSON library, and this is the only JSON it reads.
     */
    static final class Json {
        /** Deepest nesting accepted; fio's report nests about 5 deep. */
        static final int MAX_DEPTH = 64;

        private final String s;
        private int pos;

        private Json(String s) {
            this.s = s;
        }

        /** Parses one value; trailing text after it (fio's stdout may go on) is ignored. */
        static Object parse(String text) {
            return new Json(text).value(0);
        }

        @SuppressWarnings("unchecked")
        static Map<String, Object> object(Object o, String what) {
            if (!(o instanceof Map)) {
                throw new IllegalArgumentException("fio report: " + what + " is not an object: " + o);
            }
            return (Map<String, Object>) o;
        }

        @SuppressWarnings("unchecked")
        static List<Object> list(Object o, String what) {
            if (!(o instanceof List)) {
                throw new IllegalArgumentException("fio report: " + what + " is not a list: " + o);
            }
            return (List<Object>) o;
        }

        static Number number(Object o, String what) {
            if (!(o instanceof Number n)) {
                throw new IllegalArgumentException("fio report: " + what + " is not a number: " + o);
            }
            return n;
        }

        private Object value(int depth) {
            if (depth > MAX_DEPTH) {
                throw error("nested deeper than " + MAX_DEPTH);
            }
            skipSpace();
            if (pos >= s.length()) {
                throw error("unexpected end");
            }
            char c = s.charAt(pos);
            switch (c) {
                case '{' -> {
                    pos++;
                    Map<String, Object> m = new LinkedHashMap<>();
                    skipSpace();
                    if (peek('}')) {
                        return m;
                    }
                    do {
                        skipSpace();
                        String k = string();
                        skipSpace();
                        expect(':');
                        m.put(k, value(depth + 1));
                        skipSpace();
                    } while (peek(','));
                    expect('}');
                    return m;
                }
                case '[' -> {
                    pos++;
                    List<Object> l = new ArrayList<>();
                    skipSpace();
                    if (peek(']')) {
                        return l;
                    }
                    do {
                        l.add(value(depth + 1));
                        skipSpace();
                    } while (peek(','));
                    expect(']');
                    return l;
                }
                case '"' -> {
                    return string();
                }
                default -> {
                    return literal();
                }
            }
        }

        private Object literal() {
            int start = pos;
            while (pos < s.length() && "{}[],: \t\r\n".indexOf(s.charAt(pos)) < 0) {
                pos++;
            }
            String t = s.substring(start, pos);
            switch (t) {
                case "true":
                    return Boolean.TRUE;
                case "false":
                    return Boolean.FALSE;
                case "null":
                    return null;
                default:
                    try {
                        return t.matches("-?\\d+") ? (Object) Long.parseLong(t) : (Object) Double.parseDouble(t);
                    } catch (NumberFormatException e) {
                        throw error("bad literal '" + t + "'");
                    }
            }
        }

        private String string() {
            expect('"');
            StringBuilder b = new StringBuilder();
            while (pos < s.length()) {
                char c = s.charAt(pos++);
                if (c == '"') {
                    return b.toString();
                }
                if (c != '\\') {
                    b.append(c);
                    continue;
                }
                if (pos >= s.length()) {
                    break;
                }
                char e = s.charAt(pos++);
                switch (e) {
                    case 'n' -> b.append('\n');
                    case 't' -> b.append('\t');
                    case 'r' -> b.append('\r');
                    case 'b' -> b.append('\b');
                    case 'f' -> b.append('\f');
                    case 'u' -> {
                        if (pos + 4 > s.length()) {
                            throw error("short \\u escape");
                        }
                        b.append((char) Integer.parseInt(s.substring(pos, pos + 4), 16));
                        pos += 4;
                    }
                    default -> b.append(e);
                }
            }
            throw error("unterminated string");
        }

        private void skipSpace() {
            while (pos < s.length() && Character.isWhitespace(s.charAt(pos))) {
                pos++;
            }
        }

        private boolean peek(char c) {
            if (pos < s.length() && s.charAt(pos) == c) {
                pos++;
                return true;
            }
            return false;
        }

        private void expect(char c) {
            if (!peek(c)) {
                throw error("expected '" + c + "'");
            }
        }

        private IllegalArgumentException error(String what) {
            return new IllegalArgumentException("fio report is not valid JSON at offset " + pos + ": " + what);
        }
    }
}
