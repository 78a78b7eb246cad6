package org.jbtrfs.tools;

import jnr.ffi.LibraryLoader;
import jnr.ffi.Platform;
import jnr.ffi.Runtime;

/**
 * The few libc calls cp-out and cp-in need and java.nio lacks: xattrs of any namespace on files and
 * symlinks (read and set), ownership and times of symlinks, permission bits with
 * setuid/setgid/sticky, creating device nodes and fifos, and finding the data of sparse files
 * (SEEK_DATA/SEEK_HOLE). Failures come back as an errno in the result.
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

        long llistxattr(String path, byte[] list, long size);

        long lgetxattr(String path, String name, byte[] value, long size);

        int open(String path, int flags);

        long lseek(int fd, long offset, int whence);

        int close(int fd);
    }

    /** open(2) flags and lseek(2) whence values (Linux). */
    static final int O_RDONLY = 0;
    static final int SEEK_DATA = 3;
    static final int SEEK_HOLE = 4;
    /** errno values the copy code tells apart. */
    static final int ENXIO = 6;
    static final int ERANGE = 34;
    static final int ENODATA = 61;
    static final int ENOTSUP = 95;

    private static volatile Lib lib;

    private PosixLibc() {
    }

    static Lib get() {
        Lib l = lib;
        if (l == null) {
            if (Platform.getNativePlatform().getOS() != Platform.OS.LINUX) {
                throw new IllegalStateException("copying xattrs, owners and device nodes works on Linux only");
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
