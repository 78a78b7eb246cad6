package org.jbtrfs.tools;

import java.io.PrintWriter;
import java.io.StringWriter;

/** One command line run in-process for tests: its exit status and what it printed on stdout and stderr. */
record Run(int status, String out, String err) {
    static Run of(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int status = Main.run(args, new PrintWriter(out), new PrintWriter(err));
        return new Run(status, out.toString(), err.toString());
    }
}
