package org.jbtrfs.fuse.protocol;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import jnr.ffi.LibraryLoader;
import jnr.ffi.annotations.In;
import jnr.ffi.annotations.Out;
import jnr.ffi.annotations.SaveError;
import jnr.ffi.types.size_t;
import jnr.ffi.types.ssize_t;
import jnr.posix.CmsgHdr;
import jnr.posix.MsgHdr;
import jnr.posix.POSIX;
import jnr.posix.POSIXFactory;

/**
 * The kernel end of a FUSE connection: an open {@code /dev/fuse} and the mount made on it, through
 * libc (jnr-ffi; no native code of our own).
 *
 * <p>Two ways to mount, as libfuse has them:
 * <ul>
 *   <li>root: open /dev/fuse and call mount(2) with {@code fd=N,rootmode=...,user_id=,group_id=}
 *       in the data string and {@code fuse.jbtrfs} as the type;</li>
 *   <li>anyone else: run the setuid helper {@code fusermount3} (or {@code fusermount}) with
 *       {@code _FUSE_COMMFD} naming one end of a socket pair; it opens /dev/fuse, mounts, and
 *       sends the descriptor back over the socket (SCM_RIGHTS).</li>
 * </ul>
 * Several threads may read the same descriptor at once: the kernel hands each request to one
 * reader. A request must be read whole in one read(2), a reply written whole in one write(2).
 */
public final class DevFuse implements AutoCloseable {
    /** The libc calls we need; errno is saved for each. */
    public interface LibC {
        @SaveError
        int open(String path, int flags);

        @SaveError
        int close(int fd);

        @SaveError
        @ssize_t
        long read(int fd, @Out ByteBuffer buf, @size_t long count);

        @SaveError
        @ssize_t
        long write(int fd, @In ByteBuffer buf, @size_t long count);

        @SaveError
        int mount(String source, String target, String fstype, long flags, String data);

        int getuid();

        int getgid();
    }

    private static final int O_RDWR = 2;
    private static final int O_CLOEXEC = 02000000;
    private static final int AF_UNIX = 1;
    private static final int SOCK_STREAM = 1;
    private static final int SOL_SOCKET = 1;
    private static final int SCM_RIGHTS = 1;

    // errno values read(2)/write(2) on /dev/fuse give, with their meaning there.
    /** The connection is gone: unmounted (or aborted). */
    public static final int ENODEV = 19;
    /** A signal interrupted the read: try again. */
    public static final int EINTR = 4;
    /** The request was interrupted and is gone: its reply is not wanted (write). */
    public static final int ENOENT = 2;
    /** Non-blocking read with nothing queued (not used: reads block). */
    public static final int EAGAIN = 11;

    private static volatile LibC libc;

    public static LibC libc() {
        LibC l = libc;
        if (l == null) {
            synchronized (DevFuse.class) {
                if (libc == null) {
                    libc = LibraryLoader.create(LibC.class).failImmediately().load("c");
                }
                l = libc;
            }
        }
        return l;
    }

    static int errno() {
        return jnr.ffi.Runtime.getRuntime(libc()).getLastError();
    }

    private final int fd;
    private volatile boolean closed;

    private DevFuse(int fd) {
        this.fd = fd;
    }

    public int fd() {
        return fd;
    }

    /**
     * Mounts a new FUSE connection at {@code mountPoint}: mount(2) when we are root, else through
     * fusermount3/fusermount. {@code flags} are MS_* mount flags; {@code options} the FUSE
     * options in mount(2)'s data string besides fd/rootmode/user_id/group_id (e.g.
     * default_permissions, allow_other, max_read=N).
     */
    public static DevFuse mount(String source, String mountPoint, String type, long flags, List<String> options)
            throws IOException {
        LibC c = libc();
        if (c.getuid() == 0) {
            int fd = c.open("/dev/fuse", O_RDWR | O_CLOEXEC);
            if (fd < 0) {
                throw new IOException("cannot open /dev/fuse: " + strerror(errno()) + " (is the fuse module loaded?)");
            }
            List<String> data = new ArrayList<>(List.of("fd=" + fd, "rootmode=40000", "user_id=" + c.getuid(),
                    "group_id=" + c.getgid()));
            data.addAll(options);
            if (c.mount(source, mountPoint, type, flags, String.join(",", data)) != 0) {
                int e = errno();
                c.close(fd);
                throw new IOException("mount(2) of " + source + " at " + mountPoint + " failed: " + strerror(e));
            }
            return new DevFuse(fd);
        }
        return new DevFuse(viaFusermount(source, mountPoint, type, flags, options));
    }

    /**
     * The unprivileged mount: fusermount3 (or fusermount) -o OPTS -- MNT with _FUSE_COMMFD set to
     * our end of a socket pair; the helper sends back the /dev/fuse descriptor it mounted.
     */
    private static int viaFusermount(String source, String mountPoint, String type, long flags, List<String> options)
            throws IOException {
        POSIX posix = POSIXFactory.getNativePOSIX();
        int[] pair = new int[2];
        if (posix.socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0) {
            throw new IOException("socketpair: " + strerror(posix.errno()));
        }
        try {
            List<String> opts = new ArrayList<>(options);
            opts.addAll(MountFlags.names(flags));
            String subtype = type.startsWith("fuse.") ? type.substring(5) : type;
            opts.add("fsname=" + source.replace(",", "\\,"));
            opts.add("subtype=" + subtype);
            IOException last = null;
            for (String helper : List.of("fusermount3", "fusermount")) {
                List<String> argv = List.of(helper, "-o", String.join(",", opts), "--", mountPoint);
                List<String> env = new ArrayList<>();
                for (Map.Entry<String, String> e : System.getenv().entrySet()) {
                    env.add(e.getKey() + "=" + e.getValue());
                }
                env.add("_FUSE_COMMFD=" + pair[1]);
                long pid = posix.posix_spawnp(helper, List.of(), argv, env);
                if (pid <= 0) {
                    last = new IOException("cannot run " + helper + ": " + strerror(posix.errno()));
                    continue;
                }
                // Only the helper may hold the other end now: when it exits without sending, our
                // read must see end of file instead of waiting for ourselves.
                posix.close(pair[1]);
                pair[1] = -1;
                int[] status = new int[1];
                // The helper sends the descriptor and then exits; read first, it may block on a full socket otherwise.
                int fd = receiveFd(posix, pair[0]);
                posix.waitpid(pid, status, 0);
                int exit = (status[0] >> 8) & 0xff;
                if (fd >= 0 && exit == 0) {
                    return fd;
                }
                if (fd >= 0) {
                    posix.close(fd);
                }
                last = new IOException(helper + " could not mount " + mountPoint + " (exit status " + exit
                        + "; its message is above)");
                break; // the helper ran and refused: a second helper would refuse the same way
            }
            throw last;
        } finally {
            posix.close(pair[0]);
            if (pair[1] >= 0) {
                posix.close(pair[1]);
            }
        }
    }

    private static int receiveFd(POSIX posix, int sock) {
        MsgHdr msg = posix.allocateMsgHdr();
        msg.setIov(new ByteBuffer[] {ByteBuffer.allocateDirect(1)});
        msg.allocateControl(4);
        if (posix.recvmsg(sock, msg, 0) <= 0) {
            return -1;
        }
        for (CmsgHdr c : msg.getControls()) {
            if (c.getLevel() == SOL_SOCKET && c.getType() == SCM_RIGHTS) {
                ByteBuffer d = c.getData();
                d.order(java.nio.ByteOrder.nativeOrder());
                return d.getInt(0);
            }
        }
        return -1;
    }

    /**
     * Reads one request into {@code buf} (from position 0); returns its length, or -errno
     * (ENODEV once the mount is gone, EINTR to retry).
     */
    public int read(ByteBuffer buf) {
        long n = libc().read(fd, buf, buf.capacity());
        return n < 0 ? -errno() : (int) n;
    }

    /** Writes one reply of {@code len} bytes from {@code buf}'s start; returns 0 or -errno. */
    public int write(ByteBuffer buf, int len) {
        long n = libc().write(fd, buf, len);
        if (n < 0) {
            return -errno();
        }
        assert n == len : "short write to /dev/fuse: " + n + " of " + len;
        return 0;
    }

    public boolean isClosed() {
        return closed;
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            libc().close(fd);
        }
    }

    static String strerror(int errno) {
        for (org.jbtrfs.Errno e : org.jbtrfs.Errno.values()) {
            if (e.code() == errno) {
                return e.name() + " (" + e.description() + ")";
            }
        }
        return "errno " + errno;
    }
}
