package org.jbtrfs.ctree;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryNotificationInfo;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Logger;
import javax.management.NotificationEmitter;
import javax.management.NotificationListener;

/**
 * Shrinks extent buffer caches when the heap runs low (the kernel's shrinker): the JVM tells us,
 * through the heap pools' collection-usage threshold (the heap still this full right after a
 * collection), and every registered cache then sweeps down to half its limit. The sweep only ever
 * tries the eviction lock and drops clean, idle buffers, so readers never wait for it.
 *
 * <p>One JVM-wide listener, installed with the first cache; caches register while their
 * filesystem is open and unregister when it closes, so a closed filesystem is never kept alive.
 */
public final class MemoryPressure {
    private static final Logger LOG = Logger.getLogger(MemoryPressure.class.getName());
    /** Heap use after a GC, as a share of the pool's maximum, that counts as pressure. */
    static final double THRESHOLD = 0.80;

    private static final Set<ExtentBufferCache> CACHES = ConcurrentHashMap.newKeySet();
    private static volatile boolean installed;

    private MemoryPressure() {
    }

    public static void register(ExtentBufferCache cache) {
        install();
        CACHES.add(cache);
    }

    public static void unregister(ExtentBufferCache cache) {
        CACHES.remove(cache);
    }

    /** Every registered cache sweeps down to half its limit; returns the bytes they hold after. */
    public static long relieve() {
        long held = 0;
        for (ExtentBufferCache c : CACHES) {
            held += c.shrink(c.limitBytes() / 2);
        }
        return held;
    }

    /** Registered caches: for tests. */
    static int registered() {
        return CACHES.size();
    }

    private static synchronized void install() {
        if (installed) {
            return;
        }
        installed = true;
        try {
            for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
                long max = pool.getUsage().getMax();
                if (pool.getType() == MemoryType.HEAP && pool.isCollectionUsageThresholdSupported() && max > 0) {
                    pool.setCollectionUsageThreshold((long) (max * THRESHOLD));
                }
            }
            NotificationListener listener = (n, handback) -> {
                if (MemoryNotificationInfo.MEMORY_COLLECTION_THRESHOLD_EXCEEDED.equals(n.getType())) {
                    long held = relieve();
                    LOG.fine("heap pressure: extent buffer caches shrunk to " + held + " bytes");
                }
            };
            ((NotificationEmitter) ManagementFactory.getMemoryMXBean()).addNotificationListener(listener, null, null);
        } catch (RuntimeException e) {
            // Without the management beans the caches still keep their byte limits.
            LOG.warning("no heap pressure notifications: " + e);
        }
    }
}
