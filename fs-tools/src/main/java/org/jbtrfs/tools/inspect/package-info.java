/**
 * {@code jbtrfs inspect}: dump-super and dump-tree, printing an image the way btrfs-progs 6.2
 * {@code btrfs inspect-internal} does, line for line, so that a disagreement between jbtrfs and
 * the kernel about an image can be found with {@code diff}.
 *
 * <h2>Map</h2>
 * <ul>
 *   <li>{@link org.jbtrfs.tools.inspect.InspectCommand} — the {@code inspect} command group.</li>
 *   <li>{@link org.jbtrfs.tools.inspect.DumpSuperCommand} and
 *       {@link org.jbtrfs.tools.inspect.SuperPrinter} — raw superblock copies, print_superblock().</li>
 *   <li>{@link org.jbtrfs.tools.inspect.DumpTreeCommand} — which trees, in progs' order and with
 *       its headings and filters; {@link org.jbtrfs.tools.inspect.TreeNames} — {@code -t} names.</li>
 *   <li>{@link org.jbtrfs.tools.inspect.TreePrinter} — block headers, key pointers, breadth- or
 *       depth-first walks that skip and record damaged blocks.</li>
 *   <li>{@link org.jbtrfs.tools.inspect.ItemPrinter} and
 *       {@link org.jbtrfs.tools.inspect.ProgsFormat} — public: the per-item printers and the key,
 *       flag and time formats, for every tool that prints items (check, send).</li>
 * </ul>
 *
 * <h2>Invariants</h2>
 * <ol>
 *   <li>Read only: images are opened read-only and nothing here writes (FileBlockDevice opened
 *       with readOnly, dump-super reads through a READ channel).</li>
 *   <li>Items are decoded only through the {@code org.jbtrfs.format} codecs, so a dump that
 *       matches progs also vouches for the codecs (checked by the tests that diff against progs).</li>
 *   <li>Damage never hides the rest: an unreadable block or undecodable item is recorded, the
 *       dump goes on, and the command fails at the end with one line
 *       ({@link org.jbtrfs.tools.inspect.TreePrinter#errors()}).</li>
 *   <li>Deviations from progs 6.2 are deliberate and listed where they are made: a hex line
 *       for item types progs cannot print, {@code --hide-names} also hiding subvolume
 *       names, an error (not an empty dump) for a {@code -t} tree the image does not have, and
 *       names for feature bits newer than progs 6.2.</li>
 * </ol>
 *
 * <p>Uses {@code org.jbtrfs.disk}, {@code ctree} and {@code format} of fs-core; it needs no
 * subvolume or inode layer, so that it works on images too damaged to mount.
 */
package org.jbtrfs.tools.inspect;
