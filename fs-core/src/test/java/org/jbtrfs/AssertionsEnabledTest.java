package org.jbtrfs;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * The engine's invariants are asserts, so a test run without -ea would prove nothing about them
 * (Lucene's TestRuleAssertionsRequired does the same).
 */
class AssertionsEnabledTest {
    @Test
    void assertionsAreOn() {
        boolean on = false;
        assert on = true;
        assertTrue(on, "tests must run with -ea: the engine's invariants are Java asserts");
    }
}
