package org.jbtrfs.check;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * Images mkfs.btrfs makes from a host tree (--rootdir, no root needed) check clean with ours and
 * with btrfs check, across the mkfs options that change the on-disk shape.
 */
class CleanImagesTest {
    @TempDir
    static Path tmp;
    private static Path src;

    @BeforeAll
    static void hostTree() throws Exception {
        TestImages.assumeMkfs();
        src = TestImages.hostTree(tmp.resolve("src"));
    }

    @ParameterizedTest(name = "mkfs.btrfs {0}")
    @ValueSource(strings = {"", "-n 4096", "-O ^no-holes", "-R ^free-space-tree", "--csum xxhash", "--csum blake2",
        "-O ^skinny-metadata", "-m single -d dup"})
    void rootdirImageChecksClean(String options) throws Exception {
        String[] args = options.isEmpty() ? new String[0] : options.split(" ");
        Path img = TestImages.rootdirImage(tmp.resolve("img-" + options.replaceAll("[^a-z0-9]", "_") + ".img"), src,
                TestImages.ROOTDIR_IMAGE_BYTES, args);
        CheckReport r = CheckAssertions.check(img, true);
        System.out.println("CleanImagesTest [" + options + "]: " + r.summary());
        assertTrue(r.clean(), r.toString());
        CheckAssertions.assertBtrfsCheckClean(img);
        java.nio.file.Files.delete(img);
    }
}
