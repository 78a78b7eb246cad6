package org.jbtrfs.fuse.protocol;

/**
 * The kernel's FUSE wire format (include/uapi/linux/fuse.h), the subset jbtrfs speaks: protocol
 * 7.31 and later (Linux 5.4+). Every number here is from that header; all fields are
 * little-endian on the machines we run on (the host's byte order, in fact).
 *
 * <h2>Messages</h2>
 * A request read from /dev/fuse is {@code fuse_in_header} (40 bytes) followed by the opcode's
 * argument struct and, for some opcodes, NUL-terminated names or raw data:
 * <pre>
 *   fuse_in_header   0 len u32 (whole request) · 4 opcode u32 · 8 unique u64 · 16 nodeid u64
 *                    24 uid u32 · 28 gid u32 · 32 pid u32 · 36 total_extlen u16 · 38 padding u16
 * </pre>
 * A reply written back is {@code fuse_out_header} (16 bytes) and the opcode's reply struct:
 * <pre>
 *   fuse_out_header  0 len u32 (whole reply) · 4 error i32 (0 or -errno) · 8 unique u64
 * </pre>
 * An error reply is the header alone. FORGET and BATCH_FORGET get no reply; an INTERRUPT is
 * answered only by the reply to the request it interrupts (or EAGAIN: "not found yet, send again").
 *
 * <h2>Reply structs jbtrfs writes</h2>
 * <pre>
 *   fuse_attr (88)       0 ino · 8 size · 16 blocks · 24 atime · 32 mtime · 40 ctime (u64 each)
 *                        48 atimensec · 52 mtimensec · 56 ctimensec · 60 mode · 64 nlink · 68 uid
 *                        72 gid · 76 rdev · 80 blksize · 84 flags (u32 each)
 *   fuse_entry_out (128) 0 nodeid · 8 generation · 16 entry_valid · 24 attr_valid (u64)
 *                        32 entry_valid_nsec · 36 attr_valid_nsec (u32) · 40 fuse_attr
 *   fuse_attr_out (104)  0 attr_valid u64 · 8 attr_valid_nsec u32 · 12 dummy · 16 fuse_attr
 *   fuse_open_out (16)   0 fh u64 · 8 open_flags u32 · 12 padding
 *   fuse_write_out (8)   0 size u32 · 4 padding
 *   fuse_kstatfs (80)    0 blocks · 8 bfree · 16 bavail · 24 files · 32 ffree (u64)
 *                        40 bsize · 44 namelen · 48 frsize · 52 padding · 56 spare[6] (u32)
 *   fuse_getxattr_out(8) 0 size u32 · 4 padding
 *   fuse_lseek_out (8)   0 offset u64
 *   fuse_dirent          0 ino u64 · 8 off u64 · 16 namelen u32 · 20 type u32 · 24 name,
 *                        padded to 8 bytes; fuse_direntplus is a fuse_entry_out then a fuse_dirent
 *   fuse_init_out (64)   0 major · 4 minor · 8 max_readahead · 12 flags (u32) · 16 max_background
 *                        · 18 congestion_threshold (u16) · 20 max_write · 24 time_gran (u32)
 *                        · 28 max_pages · 30 map_alignment (u16) · 32 flags2 u32 · 36 unused[7]
 * </pre>
 * Argument structs are described where {@code JbtrfsFuse} decodes them.
 */
public final class FuseAbi {
    private FuseAbi() {
    }

    public static final int KERNEL_VERSION = 7;
    /** The minor version we speak; the kernel uses the lower of its own and ours. */
    public static final int KERNEL_MINOR_VERSION = 31;

    public static final int IN_HEADER_SIZE = 40;
    public static final int OUT_HEADER_SIZE = 16;
    /** The nodeid of the mount's root directory. */
    public static final long ROOT_ID = 1;
    /** The bit the kernel sets in an INTERRUPT request's own unique (FUSE_INT_REQ_BIT). */
    public static final long INT_REQ_BIT = 1;
    /** /dev/fuse refuses reads into a buffer smaller than this (FUSE_MIN_READ_BUFFER). */
    public static final int MIN_READ_BUFFER = 8192;

    // enum fuse_opcode
    public static final int LOOKUP = 1;
    public static final int FORGET = 2;
    public static final int GETATTR = 3;
    public static final int SETATTR = 4;
    public static final int READLINK = 5;
    public static final int SYMLINK = 6;
    public static final int MKNOD = 8;
    public static final int MKDIR = 9;
    public static final int UNLINK = 10;
    public static final int RMDIR = 11;
    public static final int RENAME = 12;
    public static final int LINK = 13;
    public static final int OPEN = 14;
    public static final int READ = 15;
    public static final int WRITE = 16;
    public static final int STATFS = 17;
    public static final int RELEASE = 18;
    public static final int FSYNC = 20;
    public static final int SETXATTR = 21;
    public static final int GETXATTR = 22;
    public static final int LISTXATTR = 23;
    public static final int REMOVEXATTR = 24;
    public static final int FLUSH = 25;
    public static final int INIT = 26;
    public static final int OPENDIR = 27;
    public static final int READDIR = 28;
    public static final int RELEASEDIR = 29;
    public static final int FSYNCDIR = 30;
    public static final int GETLK = 31;
    public static final int SETLK = 32;
    public static final int SETLKW = 33;
    public static final int ACCESS = 34;
    public static final int CREATE = 35;
    public static final int INTERRUPT = 36;
    public static final int BMAP = 37;
    public static final int DESTROY = 38;
    public static final int IOCTL = 39;
    public static final int POLL = 40;
    public static final int NOTIFY_REPLY = 41;
    public static final int BATCH_FORGET = 42;
    public static final int FALLOCATE = 43;
    public static final int READDIRPLUS = 44;
    public static final int RENAME2 = 45;
    public static final int LSEEK = 46;
    public static final int COPY_FILE_RANGE = 47;
    public static final int SYNCFS = 50;
    public static final int TMPFILE = 51;

    // fuse_init_in/out flags
    public static final int ASYNC_READ = 1 << 0;
    public static final int ATOMIC_O_TRUNC = 1 << 3;
    public static final int BIG_WRITES = 1 << 5;
    public static final int DONT_MASK = 1 << 6;
    public static final int DO_READDIRPLUS = 1 << 13;
    public static final int READDIRPLUS_AUTO = 1 << 14;
    public static final int ASYNC_DIO = 1 << 15;
    public static final int PARALLEL_DIROPS = 1 << 18;
    public static final int POSIX_ACL = 1 << 20;
    public static final int ABORT_ERROR = 1 << 21;
    public static final int MAX_PAGES = 1 << 22;
    public static final int CACHE_SYMLINKS = 1 << 23;

    // fuse_setattr_in.valid
    public static final int FATTR_MODE = 1 << 0;
    public static final int FATTR_UID = 1 << 1;
    public static final int FATTR_GID = 1 << 2;
    public static final int FATTR_SIZE = 1 << 3;
    public static final int FATTR_ATIME = 1 << 4;
    public static final int FATTR_MTIME = 1 << 5;
    public static final int FATTR_FH = 1 << 6;
    public static final int FATTR_ATIME_NOW = 1 << 7;
    public static final int FATTR_MTIME_NOW = 1 << 8;
    public static final int FATTR_CTIME = 1 << 10;

    /** fuse_getattr_in.getattr_flags: fh is valid. */
    public static final int GETATTR_FH = 1 << 0;
    /** fuse_open_out.open_flags: keep the page cache of the file across opens. */
    public static final int FOPEN_KEEP_CACHE = 1 << 1;

    /** Size of each struct jbtrfs writes (see the class comment). */
    public static final int ATTR_SIZE = 88;
    public static final int ENTRY_OUT_SIZE = 40 + ATTR_SIZE;
    public static final int ATTR_OUT_SIZE = 16 + ATTR_SIZE;
    public static final int OPEN_OUT_SIZE = 16;
    public static final int KSTATFS_SIZE = 80;
    public static final int INIT_OUT_SIZE = 64;
    public static final int DIRENT_HEADER_SIZE = 24;

    /** The opcode's name for messages. */
    public static String opcodeName(int opcode) {
        return switch (opcode) {
            case LOOKUP -> "LOOKUP";
            case FORGET -> "FORGET";
            case GETATTR -> "GETATTR";
            case SETATTR -> "SETATTR";
            case READLINK -> "READLINK";
            case SYMLINK -> "SYMLINK";
            case MKNOD -> "MKNOD";
            case MKDIR -> "MKDIR";
            case UNLINK -> "UNLINK";
            case RMDIR -> "RMDIR";
            case RENAME -> "RENAME";
            case LINK -> "LINK";
            case OPEN -> "OPEN";
            case READ -> "READ";
            case WRITE -> "WRITE";
            case STATFS -> "STATFS";
            case RELEASE -> "RELEASE";
            case FSYNC -> "FSYNC";
            case SETXATTR -> "SETXATTR";
            case GETXATTR -> "GETXATTR";
            case LISTXATTR -> "LISTXATTR";
            case REMOVEXATTR -> "REMOVEXATTR";
            case FLUSH -> "FLUSH";
            case INIT -> "INIT";
            case OPENDIR -> "OPENDIR";
            case READDIR -> "READDIR";
            case RELEASEDIR -> "RELEASEDIR";
            case FSYNCDIR -> "FSYNCDIR";
            case ACCESS -> "ACCESS";
            case CREATE -> "CREATE";
            case INTERRUPT -> "INTERRUPT";
            case DESTROY -> "DESTROY";
            case BATCH_FORGET -> "BATCH_FORGET";
            case FALLOCATE -> "FALLOCATE";
            case READDIRPLUS -> "READDIRPLUS";
            case RENAME2 -> "RENAME2";
            case LSEEK -> "LSEEK";
            case COPY_FILE_RANGE -> "COPY_FILE_RANGE";
            case SYNCFS -> "SYNCFS";
            case TMPFILE -> "TMPFILE";
            default -> "opcode " + opcode;
        };
    }
}
