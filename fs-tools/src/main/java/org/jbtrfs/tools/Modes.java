package org.jbtrfs.tools;

import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import org.jbtrfs.Attr;
import org.jbtrfs.format.Timespec;

/** Formatting of modes and times the way ls -l shows them. */
final class Modes {
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss").withZone(ZoneId.of("UTC"));

    private Modes() {
    }

    static String modeString(int mode) {
        char type = switch (mode & Attr.S_IFMT) {
            case Attr.S_IFDIR -> 'd';
            case Attr.S_IFLNK -> 'l';
            case Attr.S_IFCHR -> 'c';
            case Attr.S_IFBLK -> 'b';
            case Attr.S_IFIFO -> 'p';
            case Attr.S_IFSOCK -> 's';
            default -> '-';
        };
        StringBuilder sb = new StringBuilder().append(type);
        String rwx = "rwxrwxrwx";
        for (int i = 0; i < 9; i++) {
            sb.append((mode & (1 << (8 - i))) != 0 ? rwx.charAt(i) : '-');
        }
        if ((mode & 04000) != 0) {
            sb.setCharAt(3, sb.charAt(3) == 'x' ? 's' : 'S');
        }
        if ((mode & 02000) != 0) {
            sb.setCharAt(6, sb.charAt(6) == 'x' ? 's' : 'S');
        }
        if ((mode & 01000) != 0) {
            sb.setCharAt(9, sb.charAt(9) == 'x' ? 't' : 'T');
        }
        return sb.toString();
    }

    static String time(Timespec t) {
        return TIME.format(Instant.ofEpochSecond(t.sec(), t.nsec()));
    }
}
