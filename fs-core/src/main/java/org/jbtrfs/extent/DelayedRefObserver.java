package org.jbtrfs.extent;

import java.io.IOException;
import java.util.List;

/**
 * Told about every delayed ref head that {@link ExtentRefsRunner} applied: the hook quota groups
 * will use (the kernel records each changed extent as a btrfs_qgroup_extent_record while refs are
 * queued and, at commit, compares the roots referring to it before and after with a backref walk;
 * btrfs_qgroup_account_extents in qgroup.c).
 *
 * <p>What it gets is what the run knows without extra IO: the backref changes actually applied
 * (after merging) and the extent item's total reference count before and after. Working out the
 * roots behind shared backrefs needs a backref walk, which is the observer's business and is best
 * done at commit against the commit roots.
 *
 * <p>Called once per head run, by the runner thread, after the head has been applied and with no
 * lock held. An exception aborts the transaction, like any failure of a run.
 */
@FunctionalInterface
public interface DelayedRefObserver {
    /** The default: nobody listens. */
    DelayedRefObserver NONE = run -> { };

    /** One applied change of one backref: {@code delta} references added (&gt; 0) or dropped (&lt; 0). */
    record AppliedRef(DelayedRefKey ref, long delta) {
    }

    /**
     * One head's run. {@code refsBefore} is 0 when the run created the extent item, {@code refsAfter}
     * 0 when it deleted it (or when a reserved extent was never inserted because its refs cancelled
     * out; then {@code changes} is empty).
     */
    record HeadRun(long transid, long bytenr, long numBytes, boolean metadata, long refsBefore, long refsAfter,
            List<AppliedRef> changes) {
    }

    void headRun(HeadRun run) throws IOException;
}
