package io.loadshare.core.testing;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Network namespaces, veth pairs and bridges that a test creates and removes itself, for real traffic between
 * real hosts on one machine. Only documentation addresses (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24) are
 * used, and only inside these namespaces.
 *
 * <p>Needs root. Without it the test is skipped, except when {@code CI=true}: there it fails, saying why, so
 * that CI never passes by skipping the tests that matter.
 */
public final class NetnsTestbed implements AutoCloseable {
    private final String prefix;
    private final List<String> namespaces = new ArrayList<>();
    private final List<Process> processes = new ArrayList<>();

    private NetnsTestbed(String prefix) {
        this.prefix = prefix;
    }

    /** A new, empty testbed; skips (or, under CI, fails) the calling test without root. */
    public static NetnsTestbed create() {
        requireRoot();
        String prefix = "ls" + Integer.toString(ThreadLocalRandom.current().nextInt(36 * 36 * 36), 36) + "-";
        return new NetnsTestbed(prefix);
    }

    /** Skips the test without root and the ip tool, or fails it when CI=true. */
    public static void requireRoot() {
        String problem = null;
        if (!isRoot()) {
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

    private static boolean isRoot() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Uid:")) {
                    return line.split("\\s+")[2].equals("0");
                }
            }
        } catch (IOException e) {
            return false;
        }
        return false;
    }

    /** Creates a namespace with its loopback up; returns its full name. */
    public String namespace(String name) {
        String full = prefix + name;
        run("ip", "netns", "add", full);
        namespaces.add(full);
        exec(full, "ip", "link", "set", "lo", "up");
        return full;
    }

    /** A veth pair between two namespaces, both ends up; offloads stay at their defaults. */
    public void veth(String namespaceA, String interfaceA, String namespaceB, String interfaceB) {
        run("ip", "link", "add", interfaceA, "netns", namespaceA, "type", "veth", "peer", "name", interfaceB, "netns",
                namespaceB);
        exec(namespaceA, "ip", "link", "set", interfaceA, "up");
        exec(namespaceB, "ip", "link", "set", interfaceB, "up");
    }

    /** Adds an address (CIDR) to an interface. */
    public void address(String namespace, String interfaceName, String cidr) {
        exec(namespace, "ip", "addr", "add", cidr, "dev", interfaceName);
    }

    /** A bridge with the given ports, in its own namespace. */
    public void bridge(String namespace, String bridge, String... ports) {
        exec(namespace, "ip", "link", "add", bridge, "type", "bridge");
        exec(namespace, "ip", "link", "set", bridge, "up");
        for (String port : ports) {
            exec(namespace, "ip", "link", "set", port, "master", bridge);
        }
    }

    /** The MAC address of an interface, as aa:bb:cc:dd:ee:ff. */
    public String mac(String namespace, String interfaceName) {
        return exec(namespace, "cat", "/sys/class/net/" + interfaceName + "/address").trim();
    }

    /** Writes a sysctl inside a namespace. */
    public void sysctl(String namespace, String key, String value) {
        exec(namespace, "sysctl", "-q", "-w", key + "=" + value);
    }

    /** Runs a command inside a namespace and returns its standard output; fails the test if it fails. */
    public String exec(String namespace, String... command) {
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", namespace));
        full.addAll(List.of(command));
        return run(full.toArray(String[]::new));
    }

    /** Starts a command inside a namespace in the background; it is killed when the testbed closes. */
    public Process start(String namespace, String... command) {
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", namespace));
        full.addAll(List.of(command));
        try {
            Process process = new ProcessBuilder(full).redirectErrorStream(true).start();
            processes.add(process);
            return process;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Runs a command in the test's own namespace; fails the test if it fails. */
    public static String run(String... command) {
        try {
            Process process = new ProcessBuilder(command).start();
            byte[] out = process.getInputStream().readAllBytes();
            byte[] err = process.getErrorStream().readAllBytes();
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new AssertionError("timed out: " + String.join(" ", command));
            }
            if (process.exitValue() != 0) {
                throw new AssertionError("'" + String.join(" ", command) + "' exited " + process.exitValue() + ": "
                        + new String(err, StandardCharsets.UTF_8).trim());
            }
            return new String(out, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted: " + String.join(" ", command), e);
        }
    }

    @Override
    public void close() {
        for (Process process : processes) {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
        }
        for (Process process : processes) {
            try {
                process.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        for (String namespace : namespaces.reversed()) {
            try {
                run("ip", "netns", "delete", namespace);
            } catch (AssertionError e) {
                System.err.println("could not delete namespace " + namespace + ": " + e.getMessage());
            }
        }
    }
}
