package io.loadshare.testbed;

import static org.junit.jupiter.api.Assertions.fail;

import io.loadshare.testbed.Testbed;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;

/**
 * The {@link Testbed} of a test. Needs root. Without it the test is skipped, except when {@code CI=true}: there it fails, saying why, so
 * that CI never passes by skipping the tests that matter.
 */
public final class NetnsTestbed extends Testbed {
    private NetnsTestbed(String prefix) {
        super(prefix);
    }

    /** A new, empty testbed; skips (or, under CI, fails) the calling test without root. */
    public static NetnsTestbed create() {
        requireRoot();
        return new NetnsTestbed(randomPrefix());
    }

    /** Skips the test without root and the ip tool, or fails it when CI=true. */
    public static void requireRoot() {
        String problem = null;
        if (!Testbed.isRoot()) {
            problem = "this test creates network namespaces and needs root (run ./dev/test as root)";
        } else if (!Files.isExecutable(Path.of("/usr/sbin/ip")) && !Files.isExecutable(Path.of("/sbin/ip"))
                && !Files.isExecutable(Path.of("/usr/bin/ip"))) {
            problem = "this test needs the ip tool (Debian package iproute2)";
        }
        if (problem == null) {
            return;
        }
        if ("true".equals(System.getenv("CI"))) {
            fail("CI=true and " + problem + "; CI must run the namespace tests, not skip them");
        }
        Assumptions.abort(problem);
    }

    /** Skips the test when a command is not installed, or fails it when CI=true. */
    public static void requireTool(String command) {
        for (String dir : new String[] {"/usr/sbin", "/usr/bin", "/sbin", "/bin"}) {
            if (Files.isExecutable(Path.of(dir, command))) {
                return;
            }
        }
        String problem = "this test needs " + command + " (./dev/test installs it)";
        if ("true".equals(System.getenv("CI"))) {
            fail("CI=true and " + problem);
        }
        Assumptions.abort(problem);
    }

}
