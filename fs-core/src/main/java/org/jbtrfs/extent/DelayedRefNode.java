package org.jbtrfs.extent;

/**
 * struct btrfs_delayed_ref_node (delayed-ref.h): one pending change of one backref of one extent,
 * after merging — "add {@link #refMod} references of {@link #key}" or "drop that many". Lives in
 * its head's map until a runner takes it out; from then on only that runner reads it.
 *
 * <p>{@link #action} and {@link #refMod} are guarded by {@link DelayedRefs#lock} while the node is
 * in a head; {@code refMod} is always positive there (a node merged down to zero is removed).
 */
final class DelayedRefNode {
    final DelayedRefKey key;
    /** ADD or DROP. Guarded by {@link DelayedRefs#lock} while queued. */
    DelayedRefs.Action action;
    /** References to add or drop, always &gt; 0 while queued. Guarded by {@link DelayedRefs#lock}. */
    long refMod;

    DelayedRefNode(DelayedRefKey key, DelayedRefs.Action action, long refMod) {
        assert refMod > 0 : "node " + key + " with ref_mod " + refMod;
        this.key = key;
        this.action = action;
        this.refMod = refMod;
    }

    /** The signed change: +refMod for an add, -refMod for a drop. */
    long signedMod() {
        return action == DelayedRefs.Action.ADD ? refMod : -refMod;
    }

    @Override
    public String toString() {
        return action + " " + refMod + " x " + key;
    }
}
