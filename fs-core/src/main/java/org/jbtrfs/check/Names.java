package org.jbtrfs.check;

/** How names from disk appear in messages: quoted, printable ASCII kept, the rest escaped, long ones cut. */
final class Names {
    /** Characters of a name shown before it is cut. */
    static final int SHOWN_MAX = 80;

    private Names() {
    }

    static String show(byte[] name) {
        StringBuilder sb = new StringBuilder(Math.min(name.length, SHOWN_MAX) + 2).append('\'');
        for (int i = 0; i < name.length && i < SHOWN_MAX; i++) {
            int c = name[i] & 0xff;
            if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'') {
                sb.append((char) c);
            } else {
                sb.append(String.format("\\x%02x", c));
            }
        }
        if (name.length > SHOWN_MAX) {
            sb.append("...(").append(name.length).append(" bytes)");
        }
        return sb.append('\'').toString();
    }
}
