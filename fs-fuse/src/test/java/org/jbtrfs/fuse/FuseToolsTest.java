package org.jbtrfs.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.jbtrfs.check.CheckAssertions;
import org.jbtrfs.testing.KernelImages;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Everyday tools on a jbtrfs FUSE mount, checked three ways: against the same tools run on a host
 * directory, by our checker and btrfs check after the unmount, and by the Linux kernel mounting
 * the image and showing the same tree (same inode numbers too).
 */
class FuseToolsTest {
    @TempDir
    Path tmp;

    /** A source tree: files of many sizes, a sparse file, symlinks, hard links, xattrs, a fifo, special modes. */
    private static final String MAKE_SOURCE = """
            mkdir -p src/a/b/c src/empty src/x
            : > src/zero
            for s in 1 100 2048 4095 4096 4097 8191 65536 131073 1000000 3000001; do head -c $s /dev/urandom > src/a/f$s; done
            seq 1 100000 > src/a/b/numbers
            ln -s ../a/f100 src/x/rel-link
            ln -s /nonexistent/target src/x/dangling
            ln -s a src/dirlink
            ln src/a/f4096 src/x/hard1
            ln src/a/f4096 src/a/b/c/hard2
            setfattr -n user.color -v blue src/a/f100
            setfattr -n user.big -v "$(head -c 1500 /dev/zero | tr '\\0' x)" src/a/b/numbers
            setfattr -n trusted.t -v 1 src/a
            mkfifo src/x/fifo
            truncate -s 10M src/sparse && echo tail >> src/sparse
            chmod 4755 src/a/f1 && chmod 1777 src/x && chmod 2750 src/a/b
            """;

    /** Changes made the same way in the mount and in a host copy ($1 picks how to punch a hole). */
    private static final String CHANGES = """
            mkdir moved
            mv a/b/numbers moved/
            mv x/rel-link moved/
            mv a/b moved/bdir
            rm -rf moved/bdir/c
            ln a/f65536 a/f65536.link
            ln -s f100 a/sym-new
            setfattr -n user.new -v value a/f2048
            setfattr -x user.color a/f100
            truncate -s 5000 a/f1000000
            truncate -s 200000 a/f100
            truncate -s 0 a/f8191
            if [ "$1" = punch ]; then fallocate -p -o 4096 -l 8192 a/f65536;
            else dd if=/dev/zero of=a/f65536 bs=4096 seek=1 count=2 conv=notrunc status=none; fi
            mv a/f131073 x/renamed
            """;

    /**
     * Type, mode, link count, owner, size and symlink target of every path, sorted. Directories
     * without size and link count: btrfs counts them its own way (nlink 1, size = 2 x name bytes).
     */
    private static final String LISTING = "{ find . ! -type d -printf '%p %y %m %n %U %G %s %l\\n';"
            + " find . -type d -printf '%p %m %U %G\\n'; } | sort";
    private static final String LISTING_INO = "find . -printf '%p %i %y %m %n %s %l\\n' | sort";
    private static final String XATTRS = "find . | sort | while read -r f; do getfattr -h -d -m '^user\\.|^trusted\\.' \"$f\" 2>/dev/null; done";

    @Test
    void everydayToolsThenBtrfsCheckAndKernel() throws Exception {
        FuseTesting.assumeFuse();
        KernelImages.assumeAvailable();
        Path img = FuseTesting.mkfs(tmp.resolve("tools.img"), 512L << 20);
        Path mnt = tmp.resolve("mnt");
        FuseTesting.shOk(tmp, MAKE_SOURCE);
        String mountListing;
        try (FuseMount m = FuseTesting.mount(img, mnt)) {
            FuseTesting.shOk(tmp, "cp -a src mnt/tree && cp -a src expect");
            assertSameTree(tmp.resolve("src"), mnt.resolve("tree"), LISTING + "; find . ! -type d -printf '%p %T@\\n' | sort");

            String blocksBefore = FuseTesting.shOk(mnt, "stat -c %b tree/a/f65536").output().strip();
            FuseTesting.shOk(mnt.resolve("tree"), "set -- punch\n" + CHANGES);
            FuseTesting.shOk(tmp.resolve("expect"), "set -- zero\n" + CHANGES);
            String blocksAfter = FuseTesting.shOk(mnt, "stat -c %b tree/a/f65536").output().strip();
            assertEquals(128, Integer.parseInt(blocksBefore), "64 KiB file before the punch");
            assertEquals(112, Integer.parseInt(blocksAfter), "8 KiB punched out of 64 KiB");
            assertEquals("2", FuseTesting.shOk(mnt, "stat -c %h tree/a/f4096").output().strip(), "one of three links removed");
            assertSameTree(tmp.resolve("expect"), mnt.resolve("tree"), LISTING);
            mountListing = FuseTesting.shOk(mnt, LISTING_INO).output();
        }
        assertFalse(MountInfo.isJbtrfsMount(mnt));
        CheckAssertions.assertClean(img);

        Path kdir = tmp.resolve("kernel");
        java.nio.file.Files.createDirectories(kdir);
        try (KernelImages.LoopMount k = KernelImages.mount(img, kdir, "ro")) {
            assertSameTree(tmp.resolve("expect"), kdir.resolve("tree"), LISTING);
            assertEquals(mountListing, k.sh(LISTING_INO).output(), "inode numbers and links as the FUSE mount showed them");
        }
    }

    /** rsync -a, tar extract and git init/add/commit/checkout through the mount, then btrfs check and the kernel. */
    @Test
    void rsyncTarAndGitThroughTheMount() throws Exception {
        FuseTesting.assumeFuse();
        KernelImages.assumeAvailable();
        for (String tool : new String[] {"rsync", "git", "tar"}) {
            org.junit.jupiter.api.Assumptions.assumeTrue(KernelImages.which(tool) != null, "skipped: no " + tool);
        }
        Path img = FuseTesting.mkfs(tmp.resolve("scm.img"), 512L << 20);
        Path mnt = tmp.resolve("mnt");
        FuseTesting.shOk(tmp, MAKE_SOURCE + "\ntar --xattrs --xattrs-include='*' -C src -cf src.tar .\n");
        try (FuseMount m = FuseTesting.mount(img, mnt)) {
            FuseTesting.shOk(tmp, "rsync -aHAX src/ mnt/rsynced/");
            assertSameTree(tmp.resolve("src"), mnt.resolve("rsynced"), LISTING);
            FuseTesting.shOk(mnt, "mkdir untarred && tar -C untarred --xattrs --xattrs-include='*' -xpf ../src.tar");
            assertSameTree(tmp.resolve("src"), mnt.resolve("untarred"), LISTING);
            // git: every object write is create + write + fsync + rename; checkout rewrites the tree.
            FuseTesting.shOk(mnt, String.join("\n",
                    "set -e",
                    "export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@e GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@e",
                    "git init -q repo && cd repo",
                    "seq 1 5000 > a.txt && mkdir -p dir && cp ../rsynced/a/f65536 dir/bin",
                    "git add -A && git commit -qm one",
                    "seq 1 7000 > a.txt && git rm -q dir/bin && echo new > new.txt",
                    "git add -A && git commit -qm two",
                    "git checkout -q HEAD~1 && test -f dir/bin && test ! -e new.txt && test $(wc -l < a.txt) = 5000",
                    "git checkout -q - && test ! -e dir/bin && test -f new.txt",
                    "git fsck --full --strict 2>&1 | (! grep -E 'error|missing|corrupt')",
                    "git log --oneline | wc -l | grep -qx 2"));
        }
        CheckAssertions.assertClean(img);
        Path kdir = java.nio.file.Files.createDirectories(tmp.resolve("kernel"));
        try (KernelImages.LoopMount k = KernelImages.mount(img, kdir, "ro")) {
            assertSameTree(tmp.resolve("src"), kdir.resolve("rsynced"), LISTING);
            k.sh("cd repo && git -c safe.directory='*' fsck --full --strict && test $(git -c safe.directory='*' log --oneline | wc -l) = 2")
                    .orFail();
        }
    }

    /** Many clients at once: eight shell processes working in their own and in a shared directory. */
    @Test
    void manyClientsAtOnce() throws Exception {
        FuseTesting.assumeFuse();
        KernelImages.assumeAvailable();
        Path img = FuseTesting.mkfs(tmp.resolve("clients.img"), 512L << 20);
        Path mnt = tmp.resolve("mnt");
        // Each client: its own tree built deterministically, churn in a shared directory (renames and
        // unlinks racing with the others), then its own tree is left in a known final state.
        String client = String.join("\n",
                "c=$1; mkdir -p own$c shared",
                "for i in $(seq 1 60); do",
                "  seq 1 $((i * 37 + c)) > own$c/f$i",
                "  head -c $((i * 1000)) /dev/zero > shared/s$c-$i",
                "  mv shared/s$c-$i shared/t$(( (c + i) % 13 )) 2>/dev/null || true",
                "  rm -f shared/t$(( (c * i) % 13 ))",
                "  if [ $((i % 10)) = 0 ]; then mkdir -p own$c/d$i && mv own$c/f$((i - 1)) own$c/d$i/; fi",
                "done",
                "for i in $(seq 1 60 | awk 'NR % 3 == 0'); do rm -f own$c/f$i; done");
        java.nio.file.Files.writeString(tmp.resolve("client.sh"), client);
        String expect;
        try (FuseMount m = FuseTesting.mount(img, mnt)) {
            List<Process> ps = new java.util.ArrayList<>();
            for (int c = 0; c < 8; c++) {
                ps.add(new ProcessBuilder("bash", "-e", tmp.resolve("client.sh").toString(), Integer.toString(c))
                        .directory(mnt.toFile()).redirectErrorStream(true).start());
            }
            for (Process p : ps) {
                String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
                assertTrue(p.waitFor(300, java.util.concurrent.TimeUnit.SECONDS), "a client hung");
                assertEquals(0, p.exitValue(), "client failed: " + out);
            }
            // The same clients one after another on a host directory give the expected own trees.
            java.nio.file.Path host = java.nio.file.Files.createDirectories(tmp.resolve("host"));
            for (int c = 0; c < 8; c++) {
                FuseTesting.shOk(host, "bash -e " + tmp.resolve("client.sh") + " " + c);
            }
            expect = FuseTesting.shOk(host, "find . -path ./shared -prune -o -type f -printf '%p %s\\n' | sort").output();
            assertEquals(expect, FuseTesting.shOk(mnt, "find . -path ./shared -prune -o -type f -printf '%p %s\\n' | sort").output(),
                    "each client's own tree");
            FuseTesting.shOk(mnt, "for f in $(find . -path ./shared -prune -o -type f -print); do cmp $f ../host/$f; done");
        }
        CheckAssertions.assertClean(img);
        Path kdir = java.nio.file.Files.createDirectories(tmp.resolve("kernel"));
        try (KernelImages.LoopMount k = KernelImages.mount(img, kdir, "ro")) {
            assertEquals(expect, k.sh("find . -path ./shared -prune -o -type f -printf '%p %s\\n' | sort").output());
        }
    }

    /** Same content (diff -r), same listing by {@code listing}, same user./trusted. xattrs. */
    static void assertSameTree(Path expect, Path actual, String listing) {
        // diff reports every pair of fifos as a difference; anything else it prints is one.
        KernelImages.Result diff = FuseTesting.sh(expect.getParent(), "diff -r --no-dereference " + expect + " " + actual
                + " | grep -v 'is a fifo while file .* is a fifo'");
        assertEquals("", diff.output(), diff.describe());
        assertEquals(FuseTesting.shOk(expect, listing).output(), FuseTesting.shOk(actual, listing).output(), "listing of " + actual);
        assertEquals(FuseTesting.shOk(expect, XATTRS).output(), FuseTesting.shOk(actual, XATTRS).output(), "xattrs of " + actual);
    }
}
