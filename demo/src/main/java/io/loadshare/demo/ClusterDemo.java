package io.loadshare.demo;

import io.loadshare.testbed.ClusterTestbed;
import io.loadshare.testbed.CpuCores;
import io.loadshare.testbed.LoadGenerator;
import io.loadshare.testbed.Workload;
import io.loadshare.testbed.WorkloadServer;
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
import java.util.BitSet;
import java.util.Comparator;
import java.util.DoubleSummaryStatistics;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;

/**
 * The one-command demo: the paper's cluster in namespaces ({@link ClusterTestbed}), three backends running the
 * project's {@link WorkloadServer} over the paper's workload files, and the project's {@link LoadGenerator} (one
 * request per connection) against a single server, LSMAC and LSNAT with 1, 2 and 3 servers, each dispatcher started
 * from a real configuration file, and the in-kernel nftables dispatchers with 3 servers beside them. Prints a table
 * like the paper's and whether the paper's conclusion holds here. Everything it made is removed when it ends, fails
 * or is interrupted.
 *
 * <p>So that its figures mean something on the machine it runs on, as the paper suite does: the load generator
 * runs on the first core and the cluster (dispatcher, servers) on the others, each host's kernel receive work on its
 * own cores (RPS); each configuration is warmed until its rate is steady before it is measured. On one core, or on a
 * machine busy with other work, it says so instead of printing figures.
 */
public final class ClusterDemo {
    /**
     * @param seconds load per configuration and workload
     * @param concurrency clients at a time (the paper's WebStone ran 42)
     * @param rounds times every configuration is measured, in turn; the table gives the mean and the spread
     */
    public record Settings(List<Workload> workloads, Duration seconds, int concurrency, List<String> modes,
            int rounds) {
    }

    /**
     * One configuration: no dispatcher (a single server), or a mode with a number of backends, run by loadshare or,
     * for the baselines, by the kernel (nftables).
     */
    record Setup(String mode, int backends, boolean kernel) {
        String label() {
            if (mode == null) {
                return "single server";
            }
            String name = kernel ? (mode.equals("l2") ? "nftables L2" : "nftables DNAT")
                    : mode.equals("l2") ? "LSMAC" : "LSNAT";
            return name + " " + backends + (backends == 1 ? " server" : " servers");
        }
    }

    /** Most unmeasured one-second loads a configuration gets before it is measured anyway. */
    private static final int MAX_WARM_UP = 8;
    /** Unmeasured one-second loads, at least, before anything is measured in a fresh JVM. */
    private static final int JVM_WARM_UP = 5;

    /** One measurement. */
    record Row(Setup setup, Workload workload, int round, LoadGenerator.Result result) {
    }

    private final Settings settings;
    private final PrintStream out;
    private final DispatcherStarter starter;
    private final PrintStream progress;

    /** @param starter starts each measured dispatcher in this process, so that it runs on the cluster's cores */
    public ClusterDemo(Settings settings, PrintStream out, PrintStream progress, DispatcherStarter starter) {
        this.settings = settings;
        this.out = out;
        this.progress = progress;
        this.starter = starter;
    }

    /**
     * Starts a dispatcher in this process from a configuration file (the distribution's {@code Dispatcher}), and
     * returns once its first service has {@code backends} backends.
     */
    @FunctionalInterface
    public interface DispatcherStarter {
        /** @throws IllegalStateException when the backends were not resolved in time, saying so */
        Running start(Path config, int backends) throws IOException, InterruptedException;

        /** A started dispatcher: closing it stops it. */
        interface Running extends AutoCloseable {
            @Override
            void close() throws InterruptedException;
        }
    }

    /** Runs the demo; returns the rows it measured. */
    public List<Row> run() throws IOException, InterruptedException {
        ClusterTestbed.requireRoot();
        BitSet all = CpuCores.all();
        String untrusted = all.cardinality() < 2
                ? "this machine has one core, which the load generator and the whole cluster would share" : null;
        if (untrusted == null) {
            progress.print("\rlooking at the machine for a second...");
            progress.flush();
            untrusted = CpuCores.busyReason();
        }
        BitSet client = new BitSet();
        client.set(all.nextSetBit(0));
        BitSet clusterCores = (BitSet) all.clone();
        clusterCores.andNot(client);
        if (clusterCores.isEmpty()) {
            clusterCores = client;
        }
        Path work = Files.createTempDirectory("loadshare-demo");
        List<Row> rows = new ArrayList<>();
        ClusterTestbed cluster = ClusterTestbed.create();
        // Ctrl-C ends the JVM without unwinding this method: the hook removes the namespaces then.
        Thread cleanup = new Thread(() -> {
            progress.println("\nloadshare: interrupted; removing the namespaces");
            cluster.close();
        }, "loadshare-cleanup");
        Runtime.getRuntime().addShutdownHook(cleanup);
        // Every thread made from here on (servers, dispatchers) runs on the cluster's cores.
        CpuCores.pinCurrentThread(clusterCores);
        try {
            cluster.steerReceiveWork(client, clusterCores);
            Workload.writeFiles(work.resolve("www"));
            EventLoopGroup servers = new MultiThreadIoEventLoopGroup(ClusterTestbed.MAX_BACKENDS,
                    EpollIoHandler.newFactory());
            List<WorkloadServer> running = new ArrayList<>();
            try {
                for (int n = 1; n <= ClusterTestbed.MAX_BACKENDS; n++) {
                    running.add(WorkloadServer.start(servers, ClusterTestbed.namespace(cluster.backendNamespace(n)),
                            new InetSocketAddress("0.0.0.0", 80), work.resolve("www")));
                }
                List<Setup> setups = setups();
                int total = settings.rounds() * setups.size() * settings.workloads().size();
                // The JVM itself (servers, load generator) compiles during its first loads: warm it up longer once.
                warmUp(cluster, setups.getFirst(), client, JVM_WARM_UP);
                for (int round = 1; round <= settings.rounds(); round++) {
                    for (Setup setup : setups) {
                        measureSetup(cluster, setup, work, client, round, total, rows);
                    }
                }
            } finally {
                for (WorkloadServer server : running) {
                    server.close();
                }
                servers.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
            }
        } finally {
            CpuCores.pinCurrentThread(all);
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
        out.print(table(rows, untrusted == null));
        if (untrusted != null) {
            out.printf("%nFigures not shown: %s, so they would not say what loadshare can do. Every connection was"
                    + " still made and checked (the failed column). On a machine with two or more idle cores they"
                    + " are shown.%n", untrusted);
        } else {
            out.print(method(client, clusterCores));
            out.print(conclusions(rows));
        }
        return rows;
    }

    /** Starts a configuration (a dispatcher, the kernel's rules, or nothing), warms it, measures each workload. */
    private void measureSetup(ClusterTestbed cluster, Setup setup, Path work, BitSet client, int round, int total,
            List<Row> rows) throws IOException, InterruptedException {
        try (DispatcherStarter.Running dispatcher = setup.mode() == null || setup.kernel() ? null : start(cluster, setup, work)) {
            if (setup.kernel()) {
                cluster.nftables(setup.mode(), setup.backends(), work.resolve("nftables.conf"));
            }
            try {
                warmUp(cluster, setup, client, 2);
                for (Workload workload : settings.workloads()) {
                    rows.add(new Row(setup, workload, round, measure(cluster, setup, workload, rows.size() + 1, total,
                            client)));
                }
            } finally {
                if (setup.kernel()) {
                    cluster.nftablesOff();
                }
            }
        }
    }

    private List<Setup> setups() {
        List<Setup> setups = new ArrayList<>(List.of(new Setup(null, 1, false)));
        for (String mode : settings.modes()) {
            for (int n = 1; n <= ClusterTestbed.MAX_BACKENDS; n++) {
                setups.add(new Setup(mode, n, false));
            }
        }
        if (ClusterTestbed.hasNftables()) {
            for (String mode : settings.modes()) {
                setups.add(new Setup(mode, ClusterTestbed.MAX_BACKENDS, true));
            }
        } else {
            progress.println("nftables is not installed (Debian package nftables): the in-kernel baselines are left"
                    + " out");
        }
        return setups;
    }

    private String method(BitSet client, BitSet clusterCores) {
        return String.format(Locale.ROOT, "%nMethod: the load generator (%d clients, one request per connection) on"
                + " core %s, the dispatcher and every server on cores %s, each host's kernel receive work on its own"
                + " cores (RPS); each configuration warmed by one-second loads until two agreed within 10 %%, then %d"
                + " s per row, %d round(s) in turn; conn/s is their mean, spread how far they lay apart. `loadshare"
                + " bench --suite paper` (docs/BENCHMARKS.md) measures nginx behind the same dispatchers, with CPU"
                + " figures.%n", settings.concurrency(), cores(client), cores(clusterCores),
                settings.seconds().toSeconds(), settings.rounds());
    }

    private static String cores(BitSet cpus) {
        return cpus.stream().mapToObj(Integer::toString).collect(Collectors.joining(","));
    }

    /** The paper's conclusion (LSMAC at least twice LSNAT) checked here, and each mode beside its kernel baseline. */
    static String conclusions(List<Row> rows) {
        StringBuilder lines = new StringBuilder(String.format("%nDoes the paper's conclusion hold here? The paper"
                + " found LSMAC at least twice as fast as LSNAT in every workload but CGI.%n"));
        for (Workload workload : Workload.values()) {
            double lsmac = rate(rows, workload, "LSMAC 3 servers");
            double lsnat = rate(rows, workload, "LSNAT 3 servers");
            if (Double.isNaN(lsmac)) {
                continue;
            }
            lines.append("- ").append(workload.title()).append(':');
            if (!Double.isNaN(lsnat)) {
                lines.append(String.format(Locale.ROOT, " LSMAC/LSNAT with 3 servers = %.2f (%s);", lsmac / lsnat,
                        lsmac >= 2 * lsnat ? "holds" : workload == Workload.CGI ? "the paper expected no gap here"
                                : "does not hold"));
            }
            double kernelL2 = rate(rows, workload, "nftables L2 3 servers");
            double kernelL3 = rate(rows, workload, "nftables DNAT 3 servers");
            if (!Double.isNaN(kernelL2)) {
                lines.append(String.format(Locale.ROOT, " LSMAC = %.2fx nftables L2;", lsmac / kernelL2));
            }
            if (!Double.isNaN(kernelL3) && !Double.isNaN(lsnat)) {
                lines.append(String.format(Locale.ROOT, " LSNAT = %.2fx nftables DNAT;", lsnat / kernelL3));
            }
            lines.setLength(lines.length() - 1);
            lines.append('\n');
        }
        double widest = rows.stream().map(Row::setup).distinct().flatMap(setup -> java.util.Arrays.stream(
                Workload.values()).map(workload -> spreadOf(rows, workload, setup))).mapToDouble(Double::doubleValue)
                .filter(d -> !Double.isNaN(d)).max().orElse(0);
        if (widest > 0.2) {
            lines.append(String.format(Locale.ROOT, "The rounds of one configuration lay up to %.0f %% apart on this"
                    + " machine: read differences smaller than that as noise.%n", 100 * widest));
        }
        return lines.toString();
    }

    /** The mean connection rate of a configuration over the rounds, or NaN when it was not measured. */
    private static double rate(List<Row> rows, Workload workload, String label) {
        return rows.stream().filter(r -> r.workload() == workload && r.setup().label().equals(label))
                .mapToDouble(r -> r.result().connectionsPerSecond()).average().orElse(Double.NaN);
    }

    private DispatcherStarter.Running start(ClusterTestbed cluster, Setup setup, Path work) throws IOException, InterruptedException {
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
        try {
            return starter.start(file, setup.backends());
        } catch (IllegalStateException e) {
            throw new IllegalStateException(setup.label() + ": " + e.getMessage(), e);
        }
    }

    private static InetSocketAddress target(Setup setup) {
        return setup.mode() == null ? ClusterTestbed.backendHttp(1)
                : new InetSocketAddress(setup.mode().equals("l2") ? ClusterTestbed.L2_VIP : ClusterTestbed.L3_VIP, 80);
    }

    private LoadGenerator.Result measure(ClusterTestbed cluster, Setup setup, Workload workload, int step, int total,
            BitSet client) throws InterruptedException {
        LoadGenerator load = new LoadGenerator(new LoadGenerator.Settings(target(setup), workload.requests(),
                settings.concurrency(), settings.seconds(), Duration.ofSeconds(5)));
        long start = System.nanoTime();
        Thread ticker = Thread.ofVirtual().start(() -> {
            try {
                while (!Thread.currentThread().isInterrupted()) {
                    progress.printf(Locale.ROOT, "\r[%2d/%d] %-24s %-40s %4.1f s  %,8d connections ", step, total,
                            setup.label(), workload.title(), (System.nanoTime() - start) / 1e9, load.finished());
                    progress.flush();
                    Thread.sleep(200);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        try {
            return load.run(ClusterTestbed.namespace(cluster.clientNamespace()), 1, client);
        } finally {
            ticker.interrupt();
            ticker.join();
        }
    }

    /**
     * One-second loads of the first workload, unreported, at least {@code minimum} and until two in a row agree
     * within 10 % (at most {@value #MAX_WARM_UP}): a fresh dispatcher is not yet compiled, and its first second is
     * not its rate.
     */
    private void warmUp(ClusterTestbed cluster, Setup setup, BitSet client, int minimum) throws InterruptedException {
        Workload workload = settings.workloads().getFirst();
        double last = 0;
        for (int i = 1; i <= Math.max(minimum, MAX_WARM_UP); i++) {
            progress.printf(Locale.ROOT, "\rwarming up: %-24s (%d s)%40s", setup.label(), i, "");
            progress.flush();
            double rate = new LoadGenerator(new LoadGenerator.Settings(target(setup), workload.requests(),
                    settings.concurrency(), Duration.ofSeconds(1), Duration.ofSeconds(5)))
                    .run(ClusterTestbed.namespace(cluster.clientNamespace()), 1, client).connectionsPerSecond();
            if (i >= minimum && last > 0 && Math.abs(rate - last) <= 0.1 * last) {
                return;
            }
            last = rate;
        }
    }

    /** The paper-like table: connection rate, throughput and response time per configuration and workload. */
    static String table(List<Row> rows, boolean figures) {
        StringBuilder table = new StringBuilder(String.format(Locale.ROOT,
                "%n%-40s %-24s %10s %7s %10s %9s %9s %8s%n", "workload", "configuration", "conn/s", "spread", "Mbit/s",
                "mean ms", "p99 ms", "failed"));
        Workload previous = null;
        for (Workload workload : Workload.values()) {
            for (Setup setup : rows.stream().filter(r -> r.workload() == workload).map(Row::setup).distinct().toList()) {
                List<LoadGenerator.Result> rounds = rows.stream()
                        .filter(r -> r.workload() == workload && r.setup().equals(setup)).map(Row::result).toList();
                String title = workload == previous ? "" : workload.title();
                long failed = rounds.stream().mapToLong(LoadGenerator.Result::failureCount).sum();
                if (figures) {
                    table.append(String.format(Locale.ROOT, "%-40s %-24s %,10.0f %7s %10.1f %9.2f %9.2f %8d%n", title,
                            setup.label(), mean(rounds, LoadGenerator.Result::connectionsPerSecond), spread(rounds),
                            mean(rounds, LoadGenerator.Result::megabitsPerSecond),
                            mean(rounds, LoadGenerator.Result::meanMillis),
                            mean(rounds, LoadGenerator.Result::p99Millis), failed));
                } else {
                    table.append(String.format(Locale.ROOT, "%-40s %-24s %10s %7s %10s %9s %9s %8d%n", title,
                            setup.label(), "-", "-", "-", "-", "-", failed));
                }
                previous = workload;
            }
        }
        return table.toString();
    }

    private static double mean(List<LoadGenerator.Result> rounds, ToDoubleFunction<LoadGenerator.Result> figure) {
        return rounds.stream().mapToDouble(figure).average().orElse(Double.NaN);
    }

    /** How far the rounds' connection rates lie apart, relative to their mean; "-" for one round. */
    private static String spread(List<LoadGenerator.Result> rounds) {
        double spread = spread(rounds.stream().mapToDouble(LoadGenerator.Result::connectionsPerSecond)
                .summaryStatistics());
        return Double.isNaN(spread) ? "-" : String.format(Locale.ROOT, "%.0f%%", 100 * spread);
    }

    private static double spreadOf(List<Row> rows, Workload workload, Setup setup) {
        return spread(rows.stream().filter(r -> r.workload() == workload && r.setup().equals(setup))
                .mapToDouble(r -> r.result().connectionsPerSecond()).summaryStatistics());
    }

    private static double spread(DoubleSummaryStatistics rates) {
        return rates.getCount() < 2 ? Double.NaN : (rates.getMax() - rates.getMin()) / rates.getAverage();
    }
}
