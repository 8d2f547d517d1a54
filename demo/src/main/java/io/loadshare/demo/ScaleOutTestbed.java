package io.loadshare.demo;

import io.loadshare.testbed.LoadGenerator;
import io.loadshare.core.netns.NetworkNamespace;
import io.loadshare.testbed.Testbed;
import io.loadshare.testbed.WorkloadServer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;

/**
 * A scale-out tier in network namespaces, as docs/scale-out.md draws it: a router running BIRD 2 that spreads the
 * flows to the VIP over the dispatchers by ECMP with a layer-4 hash, a client behind the router, and on one LAN
 * three backends running the project's web server and three dispatchers, each a {@code loadshare run} process (a
 * JVM of its own, so that it can be killed) announcing the VIP over BGP through a BIRD of its own. The backends
 * hold the VIP on lo (for LSMAC) and route the client's network via the router. For {@code loadshare demo
 * --scale-out} and ScaleOutTest. Needs root and {@code bird}; closing it stops and removes everything.
 */
public final class ScaleOutTestbed implements AutoCloseable {
    public static final String VIP = "198.51.100.10";
    public static final int DISPATCHERS = 3;
    /** Bytes of {@code /download}; {@code /long-download} has four times as many, {@code /small} a few. */
    public static final int DOWNLOAD_BYTES = 400_000;
    private static final int FIRST_ADMIN_PORT = 19920;
    /** The packaged dispatcher's command line, which each dispatcher runs from this process's class path. */
    private static final String CLI = "io.loadshare.distribution.Loadshare";

    private final Testbed testbed = Testbed.create();
    private final Path dir;
    private final String router;
    private final String client;
    private final String[] dispatchers = new String[DISPATCHERS + 1];
    private final Path[] configs = new Path[DISPATCHERS + 1];
    private final Process[] runs = new Process[DISPATCHERS + 1];
    private final List<Process> processes = new ArrayList<>();
    private final EventLoopGroup servers = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
    private final List<WorkloadServer> backends = new ArrayList<>();
    private final List<String> backendNamespaces = new ArrayList<>();

    /**
     * Builds the tier and waits until the router has a next hop through every dispatcher.
     *
     * @param dir where the configuration files, BIRD's sockets and the dispatchers' logs go
     * @param settings what dispatcher n's {@code loadshare} block holds besides its interface, namespace, admin
     *     port and announcement: the mode and the services
     */
    public ScaleOutTestbed(Path dir, IntFunction<String> settings) throws IOException, InterruptedException {
        this.dir = dir;
        try {
            // INFO on standard error, whatever logging the caller's class path holds: the run logs tell what sync did.
            Files.writeString(dir.resolve("logback.xml"), """
                    <configuration>
                      <appender name="ERR" class="ch.qos.logback.core.ConsoleAppender">
                        <target>System.err</target>
                        <encoder><pattern>%d{HH:mm:ss.SSS} %-5level %logger{24} - %msg%n</pattern></encoder>
                      </appender>
                      <root level="INFO"><appender-ref ref="ERR"/></root>
                    </configuration>
                    """);
            Path www = Files.createDirectories(dir.resolve("www"));
            Files.writeString(www.resolve("small"), "hello\n");
            Files.write(www.resolve("download"), pattern(DOWNLOAD_BYTES));
            Files.write(www.resolve("long-download"), pattern(4 * DOWNLOAD_BYTES));
            String lan = testbed.namespace("lan");
            testbed.bridge(lan, "br0");
            router = host(lan, "rt", "r0", "192.0.2.1");
            client = testbed.namespace("cli");
            testbed.veth(client, "c0", router, "rc");
            testbed.address(client, "c0", "203.0.113.100/24");
            testbed.address(router, "rc", "203.0.113.1/24");
            testbed.exec(client, "ip", "route", "add", "default", "via", "203.0.113.1");
            testbed.sysctl(client, "net.ipv4.ip_local_port_range", "1024 65535");
            testbed.sysctl(router, "net.ipv4.ip_forward", "1");
            testbed.sysctl(router, "net.ipv4.fib_multipath_hash_policy", "1");
            for (int n = 1; n <= 3; n++) {
                String backend = host(lan, "b" + n, "e0", "192.0.2.1" + n);
                backendNamespaces.add(backend);
                testbed.address(backend, "lo", VIP + "/32");
                testbed.sysctl(backend, "net.ipv4.conf.all.arp_ignore", "1");
                testbed.sysctl(backend, "net.ipv4.conf.all.arp_announce", "2");
                testbed.exec(backend, "ip", "route", "add", "203.0.113.0/24", "via", "192.0.2.1");
                backends.add(WorkloadServer.start(servers, NetworkNamespace.named(backend),
                        new InetSocketAddress("0.0.0.0", 80), www));
            }
            Files.write(syncKey(dir), new byte[0]);
            Files.setPosixFilePermissions(syncKey(dir), PosixFilePermissions.fromString("rw-------"));
            byte[] key = new byte[32];
            new SecureRandom().nextBytes(key);
            Files.write(syncKey(dir), key);
            List<String> neighbors = new ArrayList<>();
            for (int n = 1; n <= DISPATCHERS; n++) {
                dispatchers[n] = host(lan, "d" + n, "d0", "192.0.2." + (1 + n));
                neighbors.add("192.0.2." + (1 + n));
            }
            processes.add(bird(router, "router", routerBird(neighbors)));
            String announce = null;
            for (int n = 1; n <= DISPATCHERS; n++) {
                configs[n] = dir.resolve("d" + n + ".conf");
                Files.writeString(configs[n], """
                        loadshare {
                          interfaces.client = d0
                          network-namespace = "%s"
                          admin.port = %d
                          announce { enabled = true, interval = 50ms, drain-timeout = 3s }
                        %s}
                        io.loadshare.dispatch.l2.arp.interval = 200ms
                        io.loadshare.dispatch.l3.arp.interval = 200ms
                        # The downloads keep this machine busy: no backend may flap down while flows move.
                        io.loadshare.dispatch.l2.arp.miss-limit = 25
                        io.loadshare.dispatch.l3.arp.miss-limit = 25
                        """.formatted(dispatchers[n], adminPort(n), settings.apply(n).indent(2)));
                if (announce == null) {
                    announce = cli("announce-config", "--config", configs[n].toString());
                }
                processes.add(bird(dispatchers[n], "d" + n, dispatcherBird(n, announce)));
            }
            for (int n = 1; n <= DISPATCHERS; n++) {
                start(n, "run-d" + n + ".log");
            }
            try {
                awaitNextHops(DISPATCHERS, Duration.ofSeconds(30));
            } catch (IllegalStateException e) {
                throw new IllegalStateException(e.getMessage() + "\nrouter's BIRD:\n" + birdc(router, "router",
                        "show protocols") + birdc(router, "router", "show route") + "d1's log:\n"
                        + Files.readString(dir.resolve("run-d1.log")), e);
            }
        } catch (IOException | InterruptedException | RuntimeException e) {
            close();
            throw e;
        }
    }

    /**
     * Dispatcher n's mode, service and session sync, as the demo and the tests run them: l2 (LSMAC) or l3 (LSNAT full
     * NAT, each dispatcher with a source-NAT address of its own, 192.0.2.10N+1), the scheduler over the three
     * backends, listed as {@code backends = [ "192.0.2.11", "192.0.2.12", "192.0.2.13" ]}, and sync with the two
     * other dispatchers under the tier's key ({@link #syncKey}).
     */
    public static String services(String mode, String scheduler, int n, Path dir) {
        String backends = "backends = [ \"192.0.2.11\", \"192.0.2.12\", \"192.0.2.13\" ]";
        StringBuilder peers = new StringBuilder();
        for (int m = 1; m <= DISPATCHERS; m++) {
            if (m != n) {
                peers.append(peers.isEmpty() ? "" : ", ").append("\"192.0.2.").append(1 + m).append(":7680\"");
            }
        }
        String sync = """
                sync { enabled = true, listen-address = "192.0.2.%d", peers = [ %s ], key-file = "%s" }
                """.formatted(1 + n, peers, syncKey(dir));
        return (mode.equals("l2") ? """
                mode = l2
                services = [ { name = web, address = "%s", port = 80, scheduler = %s, %s } ]
                """.formatted(VIP, scheduler, backends) : """
                mode = l3-fullnat
                services = [ { name = web, address = "%s", port = 80, scheduler = %s,
                  source-nat-address = "192.0.2.10%d", %s } ]
                """.formatted(VIP, scheduler, 1 + n, backends)) + sync;
    }

    /** The tier's session-sync key, which building the tier writes (32 random bytes, mode 0600). */
    public static Path syncKey(Path dir) {
        return dir.resolve("sync.key");
    }

    /** The admin port of dispatcher n (1 to 3). */
    public static int adminPort(int n) {
        return FIRST_ADMIN_PORT + n;
    }

    /** Dispatcher n's configuration file, which a reload re-reads. */
    public Path config(int n) {
        return configs[n];
    }

    /** Dispatcher n's {@code loadshare run} process, as last started. */
    public Process run(int n) {
        return runs[n];
    }

    /** Starts dispatcher n's {@code loadshare run}, logging to {@code log} in the directory. */
    public void start(int n, String log) throws IOException {
        runs[n] = new ProcessBuilder(command("run", "--config", configs[n].toString())).redirectErrorStream(true)
                .redirectOutput(dir.resolve(log).toFile()).start();
        processes.add(runs[n]);
    }

    /** What {@code loadshare ARGS} prints (the BIRD protocol of {@code announce-config}, say). */
    private String cli(String... args) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command(args)).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String printed = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (process.waitFor() != 0) {
            throw new IllegalStateException("loadshare " + String.join(" ", args) + " failed: " + printed);
        }
        return printed;
    }

    /** A JVM running the packaged dispatcher's command line from this process's class path. */
    private List<String> command(String... args) {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString(), "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow"));
        command.add("-Dlogback.configurationFile=" + dir.resolve("logback.xml"));
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), CLI));
        command.addAll(List.of(args));
        return command;
    }

    /** Kills dispatcher n with SIGKILL; returns the milliseconds until the router withdrew its next hop. */
    public long kill(int n) throws InterruptedException {
        long killed = System.nanoTime();
        runs[n].destroyForcibly();
        awaitNextHops(DISPATCHERS - 1, Duration.ofSeconds(10));
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killed);
    }

    /** Waits until the router's route to the VIP has {@code count} next hops. */
    public void awaitNextHops(int count, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        String route = "";
        while (System.nanoTime() < deadline) {
            route = testbed.exec(router, "ip", "route", "show", VIP);
            long hops = route.lines().filter(l -> l.contains("nexthop")).count();
            if (hops == 0 && !route.isBlank()) {
                hops = 1;
            }
            if (hops == count) {
                return;
            }
            Thread.sleep(20);
        }
        throw new IllegalStateException("the router never had " + count + " next hops for " + VIP + ": " + route);
    }

    /**
     * Starts {@code count} downloads of {@code path} from the client at once, each read at 50 KB/s; the process
     * prints each one's size when it ends.
     */
    public Process downloads(int count, String path) {
        return testbed.start(client, "sh", "-c", "for i in $(seq " + count + "); do curl -s -o /dev/null"
                + " -w '%{size_download}\\n' --max-time 60 --limit-rate 50k http://" + VIP + path + " & done; wait");
    }

    /** Something done to the tier, such as a kill, returning what it found. */
    public interface Event<T> {
        T happen() throws IOException, InterruptedException;
    }

    /**
     * What an event under load cost.
     *
     * @param found what the event returned
     * @param broken downloads that did not get all their bytes
     * @param shortOnes the short connections that ran meanwhile
     */
    public record UnderLoad<T>(T found, long broken, LoadGenerator.Result shortOnes) {
    }

    /**
     * Starts {@code downloads} of {@code /download} and 6 s of short connections, lets the event happen 2.5 s
     * later, and returns once the downloads have ended.
     */
    public <T> UnderLoad<T> underLoad(int downloads, Event<T> event) throws IOException, InterruptedException {
        Process running = downloads(downloads, "/download");
        CompletableFuture<LoadGenerator.Result> shortOnes = CompletableFuture.supplyAsync(() -> {
            try {
                return shortConnections(Duration.ofSeconds(6));
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        Thread.sleep(2500);
        T found = event.happen();
        long broken = broken(running, downloads, DOWNLOAD_BYTES);
        return new UnderLoad<>(found, broken, shortOnes.join());
    }

    /** How many of the downloads did not get all {@code bytes}, once they have all ended. */
    public static long broken(Process downloads, int count, int bytes) throws IOException, InterruptedException {
        if (!downloads.waitFor(90, TimeUnit.SECONDS)) {
            throw new IllegalStateException("the downloads did not end within 90 s");
        }
        List<String> sizes = new String(downloads.getInputStream().readAllBytes()).lines().map(String::strip)
                .toList();
        return sizes.stream().filter(s -> !s.equals(String.valueOf(bytes))).count() + (count - sizes.size());
    }

    /** Short connections from the client for {@code duration}, four at a time, each failing after 3 s. */
    public LoadGenerator.Result shortConnections(Duration duration) throws InterruptedException {
        return new LoadGenerator(new LoadGenerator.Settings(new InetSocketAddress(VIP, 80), List.of("/small"), 4,
                duration, Duration.ofSeconds(3))).run(NetworkNamespace.named(client), 1);
    }

    /**
     * What a failed event needs looked at: the router's route to the VIP, each backend's neighbours (where its
     * replies to the source-NAT addresses go), the dispatchers' MACs, what their logs say of sync and drains, and
     * the drops each running dispatcher counted, by reason.
     */
    public String diagnosis() {
        StringBuilder out = new StringBuilder("\nrouter: ").append(testbed.exec(router, "ip", "route", "show", VIP));
        for (int n = 1; n <= backendNamespaces.size(); n++) {
            out.append("b").append(n).append("'s neighbours:\n")
                    .append(testbed.exec(backendNamespaces.get(n - 1), "ip", "neigh", "show"));
        }
        for (int n = 1; n <= DISPATCHERS; n++) {
            out.append("d").append(n).append(": ").append(testbed.exec(dispatchers[n], "ip", "-br", "link", "show",
                    "d0"));
        }
        try (var logs = Files.list(dir)) {
            for (Path log : logs.filter(p -> p.getFileName().toString().startsWith("run-d")).sorted().toList()) {
                out.append(log.getFileName()).append(":\n");
                Files.readAllLines(log).stream().filter(l -> l.contains("session sync") || l.contains("drain"))
                        .forEach(l -> out.append("  ").append(l).append('\n'));
            }
        } catch (IOException e) {
            out.append(e).append('\n');
        }
        for (int n = 1; n <= DISPATCHERS; n++) {
            if (runs[n] != null && runs[n].isAlive()) {
                try (var http = java.net.http.HttpClient.newHttpClient()) {
                    String metrics = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(
                            "http://127.0.0.1:" + adminPort(n) + "/metrics")).build(),
                            java.net.http.HttpResponse.BodyHandlers.ofString()).body();
                    out.append("d").append(n).append("'s drops and sync:\n");
                    metrics.lines().filter(l -> l.startsWith("loadshare_drops") || l.startsWith("loadshare_sync"))
                            .forEach(l -> out.append("  ").append(l).append('\n'));
                } catch (IOException | InterruptedException e) {
                    out.append("d").append(n).append(": ").append(e).append('\n');
                }
            }
        }
        return out.toString();
    }

    private static byte[] pattern(int size) {
        byte[] bytes = new byte[size];
        for (int i = 0; i < size; i++) {
            bytes[i] = (byte) (i * 31 + (i >>> 8) * 7);
        }
        return bytes;
    }

    private String host(String lan, String name, String inside, String address) {
        String namespace = testbed.namespace(name);
        testbed.veth(namespace, inside, lan, "p" + name);
        testbed.exec(lan, "ip", "link", "set", "p" + name, "master", "br0");
        testbed.address(namespace, inside, address + "/24");
        return namespace;
    }

    private static String routerBird(List<String> neighbors) {
        StringBuilder out = new StringBuilder("""
                router id 192.0.2.1;
                protocol device { scan time 1; }
                protocol kernel { ipv4 { export all; }; merge paths on; }
                """);
        for (int i = 0; i < neighbors.size(); i++) {
            out.append("""
                    protocol bgp d%d {
                      local 192.0.2.1 as 65000;
                      neighbor %s as 65001;
                      hold time 3; keepalive time 1; connect retry time 1;
                      ipv4 { import all; export none; };
                    }
                    """.formatted(i + 1, neighbors.get(i)));
        }
        return out.toString();
    }

    private static String dispatcherBird(int n, String announce) {
        return """
                router id 192.0.2.%d;
                protocol device { scan time 1; }
                %s
                protocol bgp uplink {
                  local 192.0.2.%d as 65001;
                  neighbor 192.0.2.1 as 65000;
                  hold time 3; keepalive time 1; connect retry time 1;
                  ipv4 { import none; export where proto = "loadshare"; };
                }
                """.formatted(1 + n, announce, 1 + n);
    }

    private Process bird(String namespace, String name, String config) throws IOException {
        Path file = dir.resolve("bird-" + name + ".conf");
        Files.writeString(file, config);
        return testbed.start(namespace, "bird", "-f", "-c", file.toString(), "-s",
                dir.resolve("bird-" + name + ".ctl").toString());
    }

    private String birdc(String namespace, String name, String command) {
        try {
            return testbed.exec(namespace, "birdc", "-s", dir.resolve("bird-" + name + ".ctl").toString(), command);
        } catch (RuntimeException e) {
            return e.getMessage() + "\n";
        }
    }

    /** Stops the dispatchers, the BIRDs and the backends, and removes the namespaces. */
    @Override
    public void close() throws InterruptedException {
        for (Process process : processes) {
            process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
        for (WorkloadServer backend : backends) {
            backend.close();
        }
        servers.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        testbed.close();
    }
}
