package io.loadshare.distribution;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.util.List;

/** A {@code loadshare} command run in this JVM, with its exit status and what it printed. */
record CliRun(int exit, String out, String err) {
    static CliRun of(String... args) {
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream outBytes = new ByteArrayOutputStream();
        ByteArrayOutputStream errBytes = new ByteArrayOutputStream();
        System.setOut(new PrintStream(outBytes, true));
        System.setErr(new PrintStream(errBytes, true));
        try {
            int exit = Loadshare.execute(args);
            return new CliRun(exit, outBytes.toString(), errBytes.toString());
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
    }

    /** The lines after the first: a table's rows under its header. */
    List<String> rows() {
        return out.lines().skip(1).toList();
    }
}
