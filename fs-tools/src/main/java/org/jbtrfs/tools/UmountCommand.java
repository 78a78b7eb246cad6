package org.jbtrfs.tools;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import org.jbtrfs.fuse.FuseDaemon;
import org.jbtrfs.fuse.FuseMount;
import org.jbtrfs.fuse.MountInfo;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code jbtrfs umount MNT}: unmounts a jbtrfs FUSE mount (fusermount -u, or umount as root) and
 * returns once its daemon has made the last commit, closed the image and released its lock, so
 * the image can be mounted or checked again at once.
 */
@Command(name = "umount", mixinStandardHelpOptions = true,
        description = "Unmount a jbtrfs mount and wait until everything is committed and the image is free.")
final class UmountCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "MNT", description = "The mount point.")
    Path mountPoint;

    @Option(names = "--timeout", paramLabel = "SECONDS", description = "How long to wait for the last commit (default ${DEFAULT-VALUE}).")
    long timeoutSeconds = FuseMount.CLOSE_TIMEOUT.toSeconds();

    @Override
    public Integer call() throws IOException {
        Path mnt = mountPoint.toAbsolutePath().normalize();
        MountInfo.Mount m = MountInfo.at(mnt).orElseThrow(() -> new IOException(mnt + " is not mounted"));
        if (!m.fsType().equals(FuseMount.FS_TYPE)) {
            throw new IOException(mnt + " is a " + m.fsType() + " mount, not a jbtrfs one");
        }
        Path image = Path.of(m.source());
        FuseMount.unmount(mnt, false);
        if (!Files.isRegularFile(image)) {
            return 0; // a source we cannot lock-check (renamed or removed image): the unmount is done
        }
        boolean free = MountInfo.await(Duration.ofSeconds(timeoutSeconds), () -> {
            try {
                return !FuseDaemon.isLocked(image);
            } catch (IOException e) {
                return true;
            }
        });
        if (!free) {
            throw new IOException("unmounted " + mnt + ", but " + image + " is still locked after " + timeoutSeconds
                    + " s (the daemon is still writing, or hangs)");
        }
        return 0;
    }
}
