/**
 * Benchmarks that compare jbtrfs with the Linux kernel's btrfs and btrfs-progs: reading the same
 * image ({@link org.jbtrfs.bench.ReadBenchmark}), making an image from a host tree
 * ({@link org.jbtrfs.bench.MkfsBenchmark}) and fio plus a metadata loop on a FUSE mount
 * ({@link org.jbtrfs.bench.FuseBenchmark}), each as a ratio against baselines in the same run.
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
 *
 * <h2>{@link org.jbtrfs.bench.MkfsBenchmark}: {@code mkfs --rootdir}, jbtrfs vs {@code mkfs.btrfs}</h2>
 *
 * <p>Run it as root with {@code bin/bench-mkfs [--small-files N] [--large-mb N] [--runs N] [--keep DIR]
 * [--src DIR] [--jbtrfs PATH]} after {@code mvn -DskipTests package}. Without root, btrfs-progs, a
 * free loop device or the kernel's btrfs it prints {@code skipped: <reason>} and exits 0; it exits 1
 * on any failure and 2 on a usage error. This is the write-core issue's benchmark: "mkfs --rootdir
 * of a tree of 20,000 small files and 500 MiB of large ones, as a ratio to mkfs.btrfs --rootdir of
 * the same tree in the same run; and memory: the same within a 512 MiB heap."
 *
 * <p><b>The tree</b> ({@link org.jbtrfs.bench.SourceTree}, fixed seed, generated on the host in a
 * temporary directory or {@code --keep DIR}/src; {@code --src DIR} reuses any existing tree):
 * {@code --small-files} (default 20,000) files of 0-64 KiB, 100 per directory in two levels of
 * directories, 5% empty and 25% small enough to be stored inline, with varied modes; three random
 * (incompressible) large files and one sparse file (holes at the start, between chunks and at the
 * end), apparent sizes adding up to {@code --large-mb} (default 500) MiB; symlinks (relative, to a
 * directory, dangling, long), hard links (a pair and a triple), an empty directory.
 *
 * <p><b>One run</b> makes two images of the same size (twice the tree's file bytes rounded up to
 * 64 MiB, at least 1 GiB), each a fresh sparse file, alternating which goes first from run to run:
 * <ul>
 *   <li><b>baseline:</b> {@code mkfs.btrfs -f --rootdir SRC IMG} (btrfs-progs defaults);</li>
 *   <li><b>jbtrfs:</b> {@code JBTRFS_HEAP=512m PATH mkfs IMG --size SIZE --rootdir SRC}, where PATH
 *       is {@code --jbtrfs} (default the repository's {@code bin/jbtrfs}, which runs java with
 *       {@code -Xms} = {@code -Xmx} = the heap). JVM start-up is part of the time, as it is part of
 *       what a user waits for.</li>
 * </ul>
 * Before each: {@code sync; echo 3 > /proc/sys/vm/drop_caches}, so both read the source cold from
 * disk (if the caches cannot be dropped the header says so: both then read it warm, since the
 * source was read in full just before). The time is the command's wall clock plus a {@code sync}
 * right after it, so an mkfs that leaves its image dirty in the page cache does not look faster.
 * After each, untimed: {@code btrfs check --readonly --check-data-csum IMG} must exit 0 for both
 * images, and the jbtrfs image, loop-mounted read-only by the kernel, must hold exactly the source
 * ({@link org.jbtrfs.bench.TreeSnapshot}): every path, its type, permission bits, size, CRC32C,
 * symlink target and which names share an inode. Times, owners and directory sizes are not compared.
 *
 * <p><b>Reading the output.</b> A header (host, tree, image size, commands, cache policy), one line
 * per run with both times and their ratio, then the medians as the contract for scripts. The
 * figures below are from the default tree, one run, with a stand-in script (it runs mkfs.btrfs) in
 * place of jbtrfs on a 2-CPU VM, so they show the harness's own noise, not jbtrfs:
 * <pre>
 * RESULT mkfs_btrfs_rootdir_seconds 18.969
 * RESULT jbtrfs_mkfs_rootdir_seconds 17.566
 * RATIO mkfs_rootdir_jbtrfs_vs_mkfs_btrfs 0.93
 * MEMORY jbtrfs_mkfs_rootdir_heap 512m ok
 * </pre>
 * The ratio is median jbtrfs seconds over median mkfs.btrfs seconds: 1.00 is as fast, above 1 is
 * slower (the opposite sense of the read benchmark's throughput ratios). When jbtrfs reports an
 * OutOfMemoryError (bin/jbtrfs prints "jbtrfs: out of memory; raise the heap with JBTRFS_HEAP") the
 * benchmark stops, prints the baseline RESULT and {@code MEMORY jbtrfs_mkfs_rootdir_heap 512m FAILED:
 * <the message>} without jbtrfs figures, and exits 1. A failed command, a failed check or a
 * difference from the source prints {@code bench-mkfs: FAILED: ...} naming the first differences and
 * exits 1, with no RESULT lines. Until {@code jbtrfs mkfs --rootdir} exists, {@code --jbtrfs} can
 * name a stand-in script with the same command line (the tests use one that runs mkfs.btrfs).
 *
 * <h2>{@link org.jbtrfs.bench.FuseBenchmark}: fio and create/stat/unlink on a jbtrfs FUSE mount</h2>
 *
 * <p>Run it as root with {@code bin/bench-fuse [--size-mb N] [--runs N] [--runtime S] [--keep DIR]
 * [--jbtrfs PATH]} after {@code mvn -DskipTests package}. Without root, fio, {@code /dev/fuse},
 * btrfs-progs, a free loop device or the kernel's btrfs it prints {@code skipped: <reason>} and
 * exits 0; it exits 1 on any failure (a command failed, fio reported an error, the jbtrfs image
 * fails {@code btrfs check} after a run) and 2 on a usage error. This is issue 5's benchmark: "fio
 * sequential and random reads and writes and a create/stat/unlink workload on a jbtrfs mount, as
 * ratios against the kernel's btrfs on a loop image and against a minimal jnr-fuse passthrough of
 * a plain directory (the ceiling for any jnr-fuse filesystem), all in the same run."
 *
 * <p><b>The targets</b> ({@link org.jbtrfs.bench.FuseTargets}), each made fresh for every run, all
 * in one work directory on the host filesystem (a temporary directory, or {@code --keep DIR}):
 * <ul>
 *   <li><b>kernel:</b> a sparse image, {@code mkfs.btrfs -f -q}, loop-mounted
 *       ({@link org.jbtrfs.bench.LoopMount});</li>
 *   <li><b>jbtrfs:</b> {@code jbtrfs mkfs -q IMG --size S} of the same size, then
 *       {@code jbtrfs mount --heap 1g IMG MNT} (the background daemon, fixed heap) and after the
 *       workloads {@code jbtrfs umount MNT} (returns after the last commit); then
 *       {@code btrfs check --readonly --check-data-csum IMG} must exit 0;</li>
 *   <li><b>passthrough:</b> {@link org.jbtrfs.bench.PassthroughFuse}, a jnr-fuse filesystem that
 *       forwards each call to a host directory through java.nio, in a JVM of its own with the
 *       daemon's heap flags ({@code -Xms1g -Xmx1g -XX:+AlwaysPreTouch}) and jbtrfs's libfuse
 *       options ({@code hard_remove, big_writes, use_ino, attr_timeout=0}, multithreaded). Whatever
 *       jbtrfs loses against it is jbtrfs's own cost; what the passthrough loses against the
 *       kernel is the price of FUSE and jnr-fuse.</li>
 * </ul>
 * Images are 4 times {@code --size-mb}, at least 1 GiB. Everything mounted is unmounted in a
 * finally block, and by a shutdown hook (lazily) when the JVM is interrupted.
 *
 * <p><b>The workloads</b>, in this order on each target ({@link org.jbtrfs.bench.Fio}): fio, one
 * job and one thread at a time, {@code --ioengine=psync --direct=0} on one file of
 * {@code --size-mb} MiB (default 256), each job ending at the size or at {@code --runtime} seconds
 * (default 30), whichever comes first: {@code seqwrite} (bs 1M), {@code seqread} (1M),
 * {@code randwrite} (4k, overwrites of the file) and {@code randread} (4k). Writes run with
 * {@code --end_fsync=1}, which fio counts in the job's time, so written means on stable storage.
 * fio's JSON report gives bandwidth (MB/s, 10^6 bytes) for the sequential jobs and IOPS for the
 * random ones. Then the metadata workload ({@link org.jbtrfs.bench.MetadataLoop}), a Java loop in
 * the benchmark's JVM rather than fio's filecreate/filestat/filedelete engines: 16 empty files per
 * MiB of {@code --size-mb} (4096 by default) in a fresh directory, {@code create} (open
 * O_CREAT|O_EXCL and close), {@code stat} (lstat) and {@code unlink}, each phase timed in files per
 * second. Before seqread, randread and stat: {@code sync; echo 3 > /proc/sys/vm/drop_caches}. That
 * empties the kernel's caches of all three targets (and the host's cache of the images and the
 * passthrough directory), but not jbtrfs's own cache of tree blocks in its heap; jbtrfs may read a
 * file it has just written from memory where the others go to disk.
 *
 * <p><b>Runs</b> ({@code --runs}, default 3) rotate the target order (kernel, jbtrfs, passthrough;
 * then jbtrfs, passthrough, kernel; ...), so each goes first in turn.
 *
 * <p><b>Reading the output.</b> A header (host, fio and btrfs-progs versions, commands, cache
 * policy), per run one line per target with its seven figures, then the medians:
 * <pre>
 * RESULT seqwrite_kernel 634.6 MB/s
 * RESULT seqwrite_jbtrfs 134.4 MB/s
 * RESULT seqwrite_passthrough 295.0 MB/s
 * ...
 * RATIO seqwrite_jbtrfs_vs_kernel 0.21
 * RATIO seqwrite_jbtrfs_vs_passthrough 0.46
 * ...
 * </pre>
 * (default file size, {@code --runtime 10}, 3 runs, 2-CPU VM, images on ext4).
 * for each workload ({@code seqwrite, seqread, randwrite, randread, create, stat, unlink}) the
 * three RESULT lines, then for each workload the two RATIO lines: median jbtrfs throughput divided
 * by the baseline's median, two decimals; 1.00 is as fast, above 1 faster (the sense of the read
 * benchmark). A ratio against the passthrough near 1 means jbtrfs is as fast as jnr-fuse allows;
 * the ratio against the kernel also contains FUSE's own price. With a short {@code --runtime} or a
 * small {@code --size-mb} the figures are dominated by JIT warm-up of both Java filesystems
 * (each mount is a fresh JVM) and are only a smoke test.
 */
package org.jbtrfs.bench;
