package io.loadshare.distribution.bench;

import io.loadshare.core.scheduler.SchedulerRegistry;
import io.loadshare.distribution.Dispatcher;
import io.loadshare.distribution.DispatcherConfig;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;

/**
 * The one-command demo: the paper's cluster in namespaces ({@link ClusterTestbed}), three backends running the
 * project's {@link WorkloadServer} over the paper's workload files, and the project's {@link LoadGenerator} (one
 * request per connection) against a single server and against LSMAC and LSNAT with 1, 2 and 3 servers, each
 * dispatcher started from a real configuration file. Prints a table like the paper's. Everything it made is removed
 * when it ends, fails or is interrupted.
 */
public final class ClusterDemo {
    /**
     * @param seconds load per configuration and workload
     * @param concurrency clients at a time (the paper's WebStone ran 42)
     */
    public record Settings(List<Workload> workloads, Duration seconds, int concurrency, List<String> modes) {
    }

    /** One configuration: no dispatcher (a single server), or a mode with a number of backends. */
    record Setup(String mode, int backends) {
        String label() {
            return mode == null ? "single server" : (mode.equals("l2") ? "LSMAC" : "LSNAT") + " " + backends
                    + (backends == 1 ? " server" : " servers");
        }
    }

    /** One measured row. */
    record Row(Setup setup, Workload workload, LoadGenerator.Result result) {
    }

    private final Settings settings;
    private final PrintStream out;
    private final PrintStream progress;

    public ClusterDemo(Settings settings, PrintStream out, PrintStream progress) {
        this.settings = settings;
        this.out = out;
        this.progress = progress;
    }

    /** Runs the demo; returns the rows it measured. */
    public List<Row> run() throws IOException, InterruptedException {
        ClusterTestbed.requireRoot();
        Path work = Files.createTempDirectory("loadshare-demo");
        List<Row> rows = new ArrayList<>();
        ClusterTestbed cluster = ClusterTestbed.create();
        // Ctrl-C ends the JVM without unwinding this method: the hook removes the namespaces then.
        Thread cleanup = new Thread(() -> {
            progress.println("\nloadshare: interrupted; removing the namespaces");
            cluster.close();
        }, "loadshare-cleanup");
        Runtime.getRuntime().addShutdownHook(cleanup);
        try {
            Workload.writeFiles(work.resolve("www"));
            EventLoopGroup servers = new MultiThreadIoEventLoopGroup(ClusterTestbed.MAX_BACKENDS,
                    EpollIoHandler.newFactory());
            List<WorkloadServer> running = new ArrayList<>();
            try {
                for (int n = 1; n <= ClusterTestbed.MAX_BACKENDS; n++) {
                    running.add(WorkloadServer.start(servers, ClusterTestbed.namespace(cluster.backendNamespace(n)),
                            new InetSocketAddress("0.0.0.0", 80), work.resolve("www")));
                }
                List<Setup> setups = new ArrayList<>(List.of(new Setup(null, 1)));
                for (String mode : settings.modes()) {
                    for (int n = 1; n <= ClusterTestbed.MAX_BACKENDS; n++) {
                        setups.add(new Setup(mode, n));
                    }
                }
                int total = setups.size() * settings.workloads().size();
                warmUp(cluster);
                for (Setup setup : setups) {
                    try (Dispatcher dispatcher = setup.mode() == null ? null : start(cluster, setup, work)) {
                        for (Workload workload : settings.workloads()) {
                            rows.add(new Row(setup, workload, measure(cluster, setup, workload, rows.size() + 1,
                                    total)));
                        }
                    }
                }
            } finally {
                for (WorkloadServer server : running) {
                    server.close();
                }
                servers.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
            }
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(cleanup);
                cluster.close();
            } catch (IllegalStateException shuttingDown) {
                // The hook is already removing the namespaces.
            }
            try (Stream<Path> files = Files.walk(work)) {
                files.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
            }
        }
        progress.print("\r" + " ".repeat(100) + "\r");
        out.print(table(rows));
        return rows;
    }

    private Dispatcher start(ClusterTestbed cluster, Setup setup, Path work) throws IOException, InterruptedException {
        String backends = IntStream.rangeClosed(1, setup.backends()).mapToObj(n -> "\"" + ClusterTestbed
                .backendAddress(n) + "\"").collect(Collectors.joining(", "));
        Path file = Files.writeString(work.resolve(setup.mode() + "-" + setup.backends() + ".conf"), """
                loadshare {
                  mode = %s
                  interfaces.client = d0
                  network-namespace = "%s"
                  admin.enabled = false
                  services = [ { name = web, address = "%s", port = 80, scheduler = round-robin,
                                 backends = [%s] } ]
                }
                io.loadshare.dispatch.l2.arp.interval = 200ms
                io.loadshare.dispatch.l3.arp.interval = 200ms
                """.formatted(setup.mode(), cluster.dispatcherNamespace(),
                setup.mode().equals("l2") ? ClusterTestbed.L2_VIP : ClusterTestbed.L3_VIP, backends));
        Dispatcher dispatcher = Dispatcher.start(DispatcherConfig.load(file, SchedulerRegistry.load()));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (dispatcher.services().getFirst().pool().availableCount() < setup.backends()) {
            if (System.nanoTime() > deadline) {
                dispatcher.close();
                throw new IllegalStateException(setup.label() + ": the dispatcher did not resolve its backends by ARP"
                        + " within 10 s");
            }
            Thread.sleep(50);
        }
        return dispatcher;
    }

    private LoadGenerator.Result measure(ClusterTestbed cluster, Setup setup, Workload workload, int step, int total)
            throws InterruptedException {
        InetSocketAddress target = setup.mode() == null ? ClusterTestbed.backendHttp(1)
                : new InetSocketAddress(setup.mode().equals("l2") ? ClusterTestbed.L2_VIP : ClusterTestbed.L3_VIP, 80);
        LoadGenerator load = new LoadGenerator(new LoadGenerator.Settings(target, workload.requests(),
                settings.concurrency(), settings.seconds(), Duration.ofSeconds(5)));
        long start = System.nanoTime();
        Thread ticker = Thread.ofVirtual().start(() -> {
            try {
                while (!Thread.currentThread().isInterrupted()) {
                    progress.printf(Locale.ROOT, "\r[%2d/%d] %-16s %-40s %4.1f s  %,8d connections ", step, total,
                            setup.label(), workload.title(), (System.nanoTime() - start) / 1e9, load.finished());
                    progress.flush();
                    Thread.sleep(200);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        try {
            return load.run(ClusterTestbed.namespace(cluster.clientNamespace()), 1);
        } finally {
            ticker.interrupt();
            ticker.join();
        }
    }

    /** A second of each workload against a server, unreported, so that the first row is not measured cold. */
    private void warmUp(ClusterTestbed cluster) throws InterruptedException {
        for (Workload workload : settings.workloads()) {
            progress.print("\rwarming up: " + workload.title() + "      ");
            progress.flush();
            new LoadGenerator(new LoadGenerator.Settings(ClusterTestbed.backendHttp(1), workload.requests(),
                    settings.concurrency(), Duration.ofSeconds(1), Duration.ofSeconds(5)))
                    .run(ClusterTestbed.namespace(cluster.clientNamespace()), 1);
        }
    }

    /** The paper-like table: connection rate, throughput and response time per configuration and workload. */
    static String table(List<Row> rows) {
        StringBuilder table = new StringBuilder(String.format(Locale.ROOT, "%n%-40s %-16s %10s %10s %9s %9s %8s%n",
                "workload", "configuration", "conn/s", "Mbit/s", "mean ms", "p99 ms", "failed"));
        Workload previous = null;
        for (Workload workload : Workload.values()) {
            for (Row row : rows) {
                if (row.workload() != workload) {
                    continue;
                }
                LoadGenerator.Result r = row.result();
                table.append(String.format(Locale.ROOT, "%-40s %-16s %,10.0f %10.1f %9.2f %9.2f %8d%n",
                        workload == previous ? "" : workload.title(), row.setup().label(), r.connectionsPerSecond(),
                        r.megabitsPerSecond(), r.meanMillis(), r.p99Millis(), r.failureCount()));
                previous = workload;
            }
        }
        return table.toString();
    }
}
