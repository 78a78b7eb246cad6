package org.jbtrfs.format;

import org.jbtrfs.CorruptImageException;

/** Size checks every item decoder makes before it reads: an item is never trusted to be long enough. */
final class ItemBounds {
    private ItemBounds() {
    }

    static void need(int have, int expect, String what) throws CorruptImageException {
        if (have < expect) {
            throw new CorruptImageException(what + " item too small: have " + have + " bytes, expect at least " + expect);
        }
    }

    static void exact(int have, int expect, String what) throws CorruptImageException {
        if (have != expect) {
            throw new CorruptImageException(what + " item has wrong size: have " + have + " bytes, expect " + expect);
        }
    }
}
