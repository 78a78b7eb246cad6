package org.jbtrfs.check;

import java.util.List;

/**
 * The outcome of a {@link Checker} run: the problems found (at most
 * {@link CheckOptions#maxProblems()} of them kept, all counted), warnings, and what was looked at.
 * Immutable.
 */
public final class CheckReport {
    private final List<Problem> problems;
    private final long problemsFound;
    private final List<Problem> warnings;
    private final long warningsFound;
    private final String counts;
    private final long elapsedMs;

    CheckReport(Findings f, Counters c, long elapsedMs) {
        this.problems = f.problems();
        this.problemsFound = f.problemsFound();
        this.warnings = f.warnings();
        this.warningsFound = f.warningsFound();
        this.elapsedMs = elapsedMs;
        this.counts = describe(c);
        assert problemsFound >= problems.size() : problemsFound + " < " + problems.size();
    }

    private static String describe(Counters c) {
        StringBuilder sb = new StringBuilder();
        sb.append(c.trees).append(" trees, ").append(c.treeBlocks).append(" tree blocks (").append(c.treeBytes)
                .append(" bytes), ").append(c.items).append(" items, ").append(c.inodes).append(" inodes, ")
                .append(c.names).append(" names, ").append(c.fileExtents).append(" file extents, ")
                .append(c.dataExtents).append(" data and ").append(c.metadataExtents).append(" metadata extents, ")
                .append(c.chunks).append(" chunks, ").append(c.blockGroups).append(" block groups, ")
                .append(c.csumBytes).append(" bytes with data csums");
        if (c.dataBytesVerified > 0) {
            sb.append(", ").append(c.dataBytesVerified).append(" data bytes verified");
        }
        if (c.treesSkipped > 0) {
            sb.append(", ").append(c.treesSkipped).append(" trees skipped");
        }
        return sb.toString();
    }

    /** No problem was found (warnings do not count). */
    public boolean clean() {
        return problemsFound == 0;
    }

    /** The problems kept, in the order found. */
    public List<Problem> problems() {
        return problems;
    }

    /** All problems found, including those beyond the limit that were not kept. */
    public long problemsFound() {
        return problemsFound;
    }

    /** Oddities that btrfs check accepts too; they do not make the report unclean. */
    public List<Problem> warnings() {
        return warnings;
    }

    public long warningsFound() {
        return warningsFound;
    }

    public long elapsedMs() {
        return elapsedMs;
    }

    /** One line: what was checked, how long it took, and the verdict. */
    public String summary() {
        String verdict = clean() ? "no problems found"
                : problemsFound + (problemsFound == 1 ? " problem found" : " problems found")
                        + (problemsFound > problems.size() ? " (" + problems.size() + " listed)" : "");
        String warn = warningsFound == 0 ? "" : ", " + warningsFound + (warningsFound == 1 ? " warning" : " warnings");
        return "checked " + counts + " in " + elapsedMs + " ms: " + verdict + warn;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(summary());
        for (Problem p : problems) {
            sb.append('\n').append(p);
        }
        return sb.toString();
    }
}
