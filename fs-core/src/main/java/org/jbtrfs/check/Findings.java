package org.jbtrfs.check;

import java.util.ArrayList;
import java.util.List;

/**
 * Where the checks put what they find: problems (which make a report unclean) and warnings
 * (oddities btrfs check also accepts, such as free space entries of block groups that no longer
 * exist). Both lists are bounded: past the limit, findings are counted and dropped, so that a
 * wrecked image cannot fill the heap with messages.
 *
 * <p>Single-threaded: a {@link Checker} run owns one.
 */
final class Findings {
    /** Warnings kept; they are rarer and less interesting than problems. */
    static final int MAX_WARNINGS = 100;

    private final int maxProblems;
    private final List<Problem> problems = new ArrayList<>();
    private final List<Problem> warnings = new ArrayList<>();
    private long problemsFound;
    private long warningsFound;

    Findings(int maxProblems) {
        assert maxProblems > 0 : maxProblems;
        this.maxProblems = maxProblems;
    }

    void problem(String area, String message) {
        problemsFound++;
        if (problems.size() < maxProblems) {
            problems.add(new Problem(area, message));
        }
    }

    void warning(String area, String message) {
        warningsFound++;
        if (warnings.size() < MAX_WARNINGS) {
            warnings.add(new Problem(area, message));
        }
    }

    long problemsFound() {
        return problemsFound;
    }

    long warningsFound() {
        return warningsFound;
    }

    List<Problem> problems() {
        return List.copyOf(problems);
    }

    List<Problem> warnings() {
        return List.copyOf(warnings);
    }
}
