package io.loadshare.testbed;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * Network namespaces, veth pairs and bridges that a test, the demo or a benchmark creates and removes itself, for
 * real traffic between real hosts on one machine, with the {@code ip} tool. Only documentation addresses
 * (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24) belong inside. Needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN).
 * {@link #close} kills what was started in it and deletes every namespace it made.
 */
public class Testbed implements AutoCloseable {
    private final String prefix;
    private final List<String> namespaces = new ArrayList<>();
    private final List<Process> processes = new ArrayList<>();

    /** @param prefix begins every namespace's name, so that several testbeds can coexist */
    protected Testbed(String prefix) {
        this.prefix = prefix;
    }

    /** A new, empty testbed whose namespaces are named {@code ls<random>-NAME}. */
    public static Testbed create() {
        return new Testbed(randomPrefix());
    }

    /** Whether this process runs as root (uid 0), as namespaces need. */
    public static boolean isRoot() {
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

    protected static String randomPrefix() {
        return "ls" + Integer.toString(ThreadLocalRandom.current().nextInt(36 * 36 * 36), 36) + "-";
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

    /** Runs a command inside a namespace and returns its standard output. */
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

    /** Runs a command in this process's namespace and returns its standard output. */
    public static String run(String... command) {
        try {
            Process process = new ProcessBuilder(command).start();
            byte[] out = process.getInputStream().readAllBytes();
            byte[] err = process.getErrorStream().readAllBytes();
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IllegalStateException("timed out: " + String.join(" ", command));
            }
            if (process.exitValue() != 0) {
                throw new IllegalStateException("'" + String.join(" ", command) + "' exited " + process.exitValue() + ": "
                        + new String(err, StandardCharsets.UTF_8).trim());
            }
            return new String(out, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted: " + String.join(" ", command), e);
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
            } catch (IllegalStateException e) {
                System.err.println("could not delete namespace " + namespace + ": " + e.getMessage());
            }
        }
    }
}
