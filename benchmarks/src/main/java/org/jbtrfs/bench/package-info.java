/**
 * Benchmarks that compare the jbtrfs engine with the Linux kernel's btrfs on the same image.
 * (JMH micro-benchmarks of the hot paths will also live in this module; the JMH annotation processor
 * is already on the module's compile path.)
 *
 * <h2>{@link org.jbtrfs.bench.ReadBenchmark}: cold-cache sequential reads, jbtrfs vs kernel {@code cat}</h2>
 *
 * <p>Run it as root with {@code bin/bench-read [--size-mb N] [--runs N] [--keep DIR]} after
 * {@code mvn -DskipTests package}. Without root, a free loop device, the kernel's btrfs or a
 * writable {@code /proc/sys/vm/drop_caches} it prints {@code skipped: <reason>} and exits 0.
 *
 * <p><b>The image.</b> A fresh sparse file (1 GiB, more for big workloads), {@code mkfs.btrfs -f}
 * with btrfs-progs defaults, loop-mounted and filled <em>by the kernel</em>: a "large" set of four
 * big files (three of random data, one compressible text file written after
 * {@code mount -o remount,compress=zstd}, so it is stored as zstd extents) and a "small" set of
 * random files of 1-64 KiB, 100 per directory (the smallest become inline extents). The large set
 * takes 3/4 of {@code --size-mb} (default 256 MiB), the small set 1/4 (about 2000 files at 256 MiB).
 * The content comes from a fixed seed.
 *
 * <p><b>Correctness.</b> Once, untimed, the benchmark reads every file through a read-only kernel
 * mount and records its size and CRC32C. Every jbtrfs pass (the warm-up and each timed run) computes
 * the same per file and must match exactly, or the benchmark fails (exit 1) instead of reporting.
 *
 * <p><b>One run</b> measures each set with both readers, alternating which reader goes first from
 * run to run. Before every timed pass: {@code sync; echo 3 > /proc/sys/vm/drop_caches}, so both
 * readers start from a cold page cache and read the image file from its backing disk.
 * <ul>
 *   <li><b>kernel:</b> {@code losetup -r -f --show} + {@code mount -o ro} (untimed), drop caches,
 *       then the wall time of the subprocess
 *       {@code find MNT/SET -type f -print0 | xargs -0 cat > /dev/null}; unmount and detach.</li>
 *   <li><b>jbtrfs:</b> {@code Filesystem.open} on the image file (untimed, the counterpart of the
 *       mount), drop caches, then the time to walk the set with {@code list}/{@code getattr} and
 *       {@code read} every file from start to end in 1 MiB calls, computing its CRC32C (a small cost
 *       the kernel side does not pay); close. By default the engine verifies data checksums, as the
 *       kernel always does ({@code --no-verify-data-csums} turns that off). Before the first timed
 *       pass one untimed pass over everything warms up the JIT, so the figures are steady-state
 *       Java, not interpreter.</li>
 * </ul>
 *
 * <p><b>Reading the output.</b> Throughput is bytes of file content per second (MB = 10^6 bytes)
 * per set, and for "all" the total bytes over the summed time of both sets. After the per-run lines
 * come the medians, then
 * <pre>
 * RATIO read_large_jbtrfs_vs_kernel_cat 0.87
 * RATIO read_small_jbtrfs_vs_kernel_cat 0.42
 * RATIO read_jbtrfs_vs_kernel_cat 0.71
 * </pre>
 * each the median jbtrfs throughput divided by the median kernel throughput, the overall one last.
 * 1.00 means as fast as the kernel; 0.50 means jbtrfs takes twice as long for the same files;
 * above 1 means faster. The large ratio is mostly I/O pattern (request sizes, readahead) and
 * decompression speed; the small ratio is mostly per-file cost (tree searches, metadata reads,
 * allocation). Both readers are single-threaded. The kernel reads through the loop driver with
 * its readahead; jbtrfs reads the image file with positional reads. If the image sits on tmpfs the
 * benchmark warns: dropping caches does not evict tmpfs, so both sides then read memory and the
 * ratio compares CPU paths only. Figures from different machines or disks are not comparable; the
 * ratio from one run, on one machine, is the point.
 */
package org.jbtrfs.bench;
