package org.jbtrfs.ctree;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.Lock;

/** The lock of trees nobody writes (the committed roots of a read-only open): it does nothing. */
public final class NoLock implements Lock {
    public static final NoLock INSTANCE = new NoLock();

    private NoLock() {
    }

    @Override
    public void lock() {
    }

    @Override
    public void lockInterruptibly() {
    }

    @Override
    public boolean tryLock() {
        return true;
    }

    @Override
    public boolean tryLock(long time, TimeUnit unit) {
        return true;
    }

    @Override
    public void unlock() {
    }

    @Override
    public Condition newCondition() {
        throw new UnsupportedOperationException("NoLock has no conditions");
    }
}
