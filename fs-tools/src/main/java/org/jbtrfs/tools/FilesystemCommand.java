package org.jbtrfs.tools;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.jbtrfs.fuse.MountInfo;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code jbtrfs filesystem ...}: commands on a mounted jbtrfs filesystem. */
@Command(name = "filesystem", mixinStandardHelpOptions = true, subcommands = FilesystemCommand.Remount.class,
        description = "Commands on a mounted jbtrfs filesystem.")
final class FilesystemCommand implements Runnable {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(), "missing command (remount)");
    }

    /**
     * {@code jbtrfs filesystem remount -o ro|rw MNT}: the same as {@code mount -o remount,ro MNT}:
     * the mount's flag changes at once (the kernel refuses writes from then on) and the daemon
     * follows it — to read-only it runs the pending evictions, commits and starts no transaction
     * afterwards; back to read-write it cleans orphans and commits on its interval again.
     */
    @Command(name = "remount", mixinStandardHelpOptions = true, description = "Remount a jbtrfs mount read-only or read-write.")
    static final class Remount implements Callable<Integer> {
        @Option(names = "-o", required = true, paramLabel = "ro|rw", description = "ro or rw.")
        String mode;

        @Parameters(index = "0", paramLabel = "MNT", description = "The mount point.")
        Path mountPoint;

        @Override
        public Integer call() throws Exception {
            if (!mode.equals("ro") && !mode.equals("rw")) {
                throw new IllegalArgumentException("-o takes ro or rw, not " + mode);
            }
            Path mnt = mountPoint.toAbsolutePath().normalize();
            if (!MountInfo.isJbtrfsMount(mnt)) {
                throw new IOException(mnt + " is not a jbtrfs mount");
            }
            // -i: the remount is the flag change alone; no mount helper (which would mount again).
            Process p = new ProcessBuilder(List.of("mount", "-i", "-o", "remount," + mode, mnt.toString()))
                    .redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IOException("remount of " + mnt + " failed: " + (out.isEmpty() ? "mount exited " + p.exitValue() : out));
            }
            return 0;
        }
    }
}
