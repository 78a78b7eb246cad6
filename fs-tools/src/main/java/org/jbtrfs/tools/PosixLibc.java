package org.jbtrfs.tools;

import jnr.ffi.LibraryLoader;
import jnr.ffi.Platform;
import jnr.ffi.Runtime;

/**
 * The few libc calls cp-out needs and java.nio lacks: setting xattrs of any namespace on files and
 * symlinks, ownership and times of symlinks, permission bits with setuid/setgid/sticky, and
 * creating device nodes and fifos. Failures come back as an errno in the result.
 */
final class PosixLibc {
    /** AT_FDCWD and AT_SYMLINK_NOFOLLOW from fcntl.h (Linux values). */
    static final int AT_FDCWD = -100;
    static final int AT_SYMLINK_NOFOLLOW = 0x100;

    /** The libc functions, bound by jnr-ffi. */
    public interface Lib {
        int lsetxattr(String path, String name, byte[] value, long size, int flags);

        int lchown(String path, int uid, int gid);

        int chmod(String path, int mode);

        int mknod(String path, int mode, long dev);

        int utimensat(int dirfd, String path, long[] times, int flags);

        String strerror(int errnum);
    }

    private static volatile Lib lib;

    private PosixLibc() {
    }

    static Lib get() {
        Lib l = lib;
        if (l == null) {
            if (Platform.getNativePlatform().getOS() != Platform.OS.LINUX) {
                throw new IllegalStateException("cp-out keeps xattrs, owners and device nodes on Linux only");
            }
            l = LibraryLoader.create(Lib.class).load("c");
            lib = l;
        }
        return l;
    }

    static int errno() {
        return Runtime.getSystemRuntime().getLastError();
    }

    static String lastError() {
        return get().strerror(errno());
    }
}
