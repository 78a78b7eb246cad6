/**
 * Named race points (style guide practice 10): places in production code where a documented race
 * from {@code shared/seeds/} needs another thread to act, and where tests hold a thread to force
 * that interleaving deterministically.
 *
 * <p>{@link org.jbtrfs.race.RacePoint} is the whole mechanism: disarmed, a point costs one volatile
 * read; armed by a test, it holds the first (or a chosen) thread on a latch until released. Each
 * constant names its seed and the locks held where it sits.
 *
 * <h2>Invariants</h2>
 * <ol>
 *   <li>Production code never arms a point; only tests do ({@code arm} is called from test sources
 *       only).</li>
 *   <li>A held thread is released within {@link org.jbtrfs.race.RacePoint#HELD_MAX_SECONDS} or
 *       fails with an AssertionError, so a forgotten gate cannot hang a build.</li>
 *   <li>A held thread's interrupt status survives the hold.</li>
 * </ol>
 *
 * <p>Depends on nothing in jbtrfs; every package may call it.
 */
package org.jbtrfs.race;
