package org.jbtrfs;

import java.io.IOException;

/**
 * A valid btrfs image that uses something jbtrfs does not handle: several devices, a RAID profile,
 * an incompat feature bit we do not know. Refusing is the safe answer; the message names the
 * feature so that a user knows why.
 */
public class UnsupportedImageException extends IOException {
    private static final long serialVersionUID = 1L;

    public UnsupportedImageException(String message) {
        super(message);
    }
}
