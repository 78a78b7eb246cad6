package org.jbtrfs.fuse.protocol;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Serves one FUSE connection: worker threads read requests from /dev/fuse, hand them to a
 * {@link Handler}, and write the replies; the session itself answers INIT and INTERRUPT.
 *
 * <h2>Lifecycle</h2>
 * <ol>
 *   <li>{@link #start} starts the workers. The kernel's first request is INIT: the session agrees
 *       on the protocol and the capabilities ({@link Config}) and completes {@link #initialized()}:
 *       the mount is live.</li>
 *   <li>Every other request goes to the handler on the worker that read it; workers run
 *       requests in parallel (the handler and fs-core must be thread-safe).</li>
 *   <li>When the filesystem is unmounted the kernel sends DESTROY (the unmount waits for its
 *       reply): {@link Handler#destroy()} runs (the last commit) before the reply. Then every
 *       read(2) ends with ENODEV and the workers stop; the last one out completes {@link #ended()}
 *       (and runs destroy if no DESTROY came: a lazy unmount, an aborted connection).</li>
 * </ol>
 *
 * <h2>Interrupts</h2>
 * When a process waiting for a request gets a signal, the kernel sends INTERRUPT naming that
 * request's unique id. The session keeps the thread serving each request in {@link #inFlight}
 * and interrupts it ({@link Thread#interrupt()}: fs-core's waits that can end early, such as a
 * space reservation ticket, end with EINTR). An INTERRUPT for a request not (yet) registered is
 * answered EAGAIN, and the kernel sends it again later (the protocol's way to close the window
 * between the kernel handing out a request and the worker registering it); one for a request
 * already answered is dropped by the kernel. A worker unregisters before it clears its interrupt
 * flag, both in one step against the interrupter ({@code computeIfPresent} holds the map's bin),
 * so an interrupt never leaks into the thread's next request.
 */
public final class FuseSession {
    static final Logger LOG = Logger.getLogger(FuseSession.class.getName());

    /** What the filesystem behind the session does with each request. */
    public interface Handler {
        /**
         * Serves one request and replies through {@code reply} (exactly once; none for FORGET).
         * May throw: the session then replies EIO (and logs), so one bad request never stops it.
         */
        void serve(FuseRequest request, FuseReply reply) throws Exception;

        /** The connection is gone (unmounted): close the filesystem. Called once. */
        void destroy() throws Exception;
    }

    /**
     * What the session offers the kernel at INIT.
     *
     * @param threads      worker threads reading the device
     * @param maxWrite     the largest write (and read) in bytes; a multiple of 4 KiB up to 1 MiB
     * @param initFlags    FUSE_* capability flags wanted (the kernel keeps those it supports)
     */
    public record Config(int threads, int maxWrite, int initFlags) {
        public Config {
            if (threads < 1 || maxWrite < 4096 || maxWrite > (1 << 20) || maxWrite % 4096 != 0) {
                throw new IllegalArgumentException("bad FUSE session config: " + threads + " threads, max_write " + maxWrite);
            }
        }
    }

    private final DevFuse dev;
    private final Handler handler;
    private final Config config;
    private final CompletableFuture<Void> initialized = new CompletableFuture<>();
    private final CompletableFuture<Void> ended = new CompletableFuture<>();
    /** Requests being served: unique → the worker serving it (for INTERRUPT). */
    private final ConcurrentHashMap<Long, Thread> inFlight = new ConcurrentHashMap<>();
    private final AtomicInteger workersRunning = new AtomicInteger();
    private final EventCounter interruptsDelivered = new EventCounter();
    private final List<Thread> workers = new ArrayList<>();
    /** The flags the kernel accepted at INIT. */
    private volatile int agreedFlags;
    private volatile int kernelMinor;
    /** Guarded by this: the handler's destroy has run (and how it failed). */
    private boolean destroyed;
    private Throwable destroyFailure;

    private FuseSession(DevFuse dev, Handler handler, Config config) {
        this.dev = dev;
        this.handler = handler;
        this.config = config;
    }

    /** Starts serving {@code dev}; see the class comment. */
    public static FuseSession start(DevFuse dev, Handler handler, Config config, String threadName) {
        FuseSession s = new FuseSession(dev, handler, config);
        s.workersRunning.set(config.threads());
        for (int i = 0; i < config.threads(); i++) {
            Thread t = new Thread(s::work, threadName + "-" + i);
            t.setDaemon(true);
            s.workers.add(t);
        }
        s.workers.forEach(Thread::start);
        return s;
    }

    /** Completes when the kernel's INIT has been answered: the mount is live. */
    public CompletableFuture<Void> initialized() {
        return initialized;
    }

    /** Completes when every worker has stopped and the handler's destroy has run (or failed). */
    public CompletableFuture<Void> ended() {
        return ended;
    }

    /** INTERRUPTs that reached the thread serving their request. */
    public EventCounter interruptsDelivered() {
        return interruptsDelivered;
    }

    /** The capability flags agreed at INIT. */
    public int agreedFlags() {
        return agreedFlags;
    }

    private void work() {
        int bufSize = config.maxWrite() + 4096;
        FuseRequest req = new FuseRequest(bufSize);
        FuseReply reply = new FuseReply(dev, bufSize, config.maxWrite());
        ByteBuffer in = req.buffer();
        try {
            while (true) {
                in.clear();
                int n = dev.read(in);
                if (n == -DevFuse.EINTR || n == -DevFuse.EAGAIN || n == -DevFuse.ENOENT) {
                    continue; // a signal, or a request the kernel withdrew while we read: read again
                }
                if (n < 0) {
                    if (n != -DevFuse.ENODEV && !dev.isClosed()) {
                        LOG.severe("reading /dev/fuse failed: " + DevFuse.strerror(-n));
                    }
                    return; // ENODEV: unmounted
                }
                if (!req.load(n)) {
                    LOG.severe("short request from /dev/fuse (" + n + " bytes); ignored");
                    continue;
                }
                dispatch(req, reply);
            }
        } catch (Throwable e) {
            LOG.log(Level.SEVERE, "FUSE worker " + Thread.currentThread().getName() + " died", e);
        } finally {
            if (workersRunning.decrementAndGet() == 0) {
                finish();
            }
        }
    }

    private void dispatch(FuseRequest req, FuseReply reply) {
        long unique = req.unique();
        reply.reset(unique);
        int op = req.opcode();
        switch (op) {
            case FuseAbi.INIT -> init(req, reply);
            case FuseAbi.INTERRUPT -> interrupt(req, reply);
            case FuseAbi.DESTROY -> {
                // The unmount waits for this reply: close first, so that a plain umount returns
                // after the last commit, as with libfuse.
                destroyOnce();
                reply.ok();
            }
            default -> serve(req, reply, unique, op);
        }
        assert reply.isDone() : FuseAbi.opcodeName(op) + " request " + unique + " got no reply";
    }

    private void serve(FuseRequest req, FuseReply reply, long unique, int op) {
        boolean interruptible = op != FuseAbi.FORGET && op != FuseAbi.BATCH_FORGET;
        if (interruptible) {
            inFlight.put(unique, Thread.currentThread());
        }
        try {
            handler.serve(req, reply);
        } catch (FuseRequest.MalformedRequest e) {
            LOG.severe(e.getMessage());
            if (!reply.isDone() && interruptible) {
                reply.error(22); // EINVAL
            }
        } catch (Throwable e) {
            LOG.log(Level.SEVERE, FuseAbi.opcodeName(op) + " on node " + req.nodeid() + ": internal error", e);
            if (!reply.isDone() && interruptible) {
                reply.error(5); // EIO
            }
        } finally {
            if (interruptible) {
                inFlight.remove(unique);
                Thread.interrupted(); // an interrupt meant for this request ends with it
            }
            if (!reply.isDone()) {
                if (interruptible) {
                    LOG.severe(FuseAbi.opcodeName(op) + " on node " + req.nodeid() + " was not answered");
                    reply.error(5); // EIO: the caller must not wait forever
                } else {
                    reply.none();
                }
            }
        }
    }

    /** fuse_interrupt_in: 0 unique u64 (of the request to interrupt). */
    private void interrupt(FuseRequest req, FuseReply reply) {
        long target = req.u64(0);
        Thread t = inFlight.computeIfPresent(target, (u, th) -> {
            th.interrupt();
            return th;
        });
        if (t == null) {
            reply.error(DevFuse.EAGAIN); // not registered yet (or done): the kernel asks again if it still waits
        } else {
            interruptsDelivered.increment();
            reply.none(); // the interrupted request's own reply answers this one
        }
    }

    /**
     * fuse_init_in: 0 major · 4 minor · 8 max_readahead · 12 flags (u32). The reply is a
     * fuse_init_out (see {@link FuseAbi}). A kernel newer than 7.x would take our major and send
     * INIT again; one older than 7.31 is refused.
     */
    private void init(FuseRequest req, FuseReply reply) {
        int major = req.u32(0);
        int minor = req.u32(4);
        int maxReadahead = req.u32(8);
        int flags = req.u32(12);
        if (major < FuseAbi.KERNEL_VERSION || (major == FuseAbi.KERNEL_VERSION && minor < FuseAbi.KERNEL_MINOR_VERSION)) {
            LOG.severe("the kernel speaks FUSE " + major + "." + minor + "; jbtrfs needs "
                    + FuseAbi.KERNEL_VERSION + "." + FuseAbi.KERNEL_MINOR_VERSION + " or later");
            reply.error(71); // EPROTO
            initialized.completeExceptionally(new IllegalStateException("FUSE protocol " + major + "." + minor + " too old"));
            return;
        }
        ByteBuffer b = reply.begin();
        int agreed = flags & config.initFlags();
        b.putInt(FuseAbi.KERNEL_VERSION);
        b.putInt(FuseAbi.KERNEL_MINOR_VERSION);
        b.putInt(maxReadahead);
        b.putInt(agreed);
        b.putShort((short) 64); // max_background: async reads and writeback in flight at once
        b.putShort((short) 48); // congestion_threshold
        b.putInt(config.maxWrite());
        b.putInt(1); // time_gran: nanoseconds
        b.putShort((short) (config.maxWrite() / 4096)); // max_pages (with FUSE_MAX_PAGES)
        b.putShort((short) 0);
        b.putInt(0); // flags2
        for (int i = 0; i < 7; i++) {
            b.putInt(0);
        }
        agreedFlags = agreed;
        kernelMinor = minor;
        reply.send();
        if (major == FuseAbi.KERNEL_VERSION) {
            initialized.complete(null);
        }
    }

    private void finish() {
        initialized.completeExceptionally(new IllegalStateException("the FUSE connection ended before INIT"));
        dev.close();
        Throwable failed = destroyOnce();
        if (failed == null) {
            ended.complete(null);
        } else {
            ended.completeExceptionally(failed);
        }
    }

    /** Runs the handler's destroy the first time (DESTROY, or the end of the connection); its failure. */
    private synchronized Throwable destroyOnce() {
        if (!destroyed) {
            destroyed = true;
            try {
                handler.destroy();
            } catch (Throwable e) {
                LOG.log(Level.SEVERE, "closing the filesystem after unmount failed", e);
                destroyFailure = e;
            }
        }
        return destroyFailure;
    }

    /** The kernel's FUSE minor version (for messages). */
    public int kernelMinor() {
        return kernelMinor;
    }
}
