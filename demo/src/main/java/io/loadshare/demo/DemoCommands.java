package io.loadshare.demo;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import io.loadshare.testbed.Workload;
import io.loadshare.testbed.WorkloadServer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The demo's commands of {@code loadshare}: {@code demo} (the paper's cluster measured, or the scale-out tier),
 * {@code serve} (the workload server) and {@code workload} (its files). The distribution adds them when this module
 * is on the class path.
 */
public final class DemoCommands {
    private DemoCommands() {
    }

    /**
     * Adds the commands to the {@code loadshare} command line.
     *
     * @param starter starts a dispatcher in this process, for the demo's measured configurations
     */
    public static void addTo(CommandLine cli, ClusterDemo.DispatcherStarter starter) {
        cli.addSubcommand(new Demo(starter));
        cli.addSubcommand(new Serve());
        cli.addSubcommand(new WorkloadFiles());
    }

    @Command(name = "serve", mixinStandardHelpOptions = true,
            description = "Run the project's small web server (the demo's and the benchmark's backend): the files"
                    + " under --root from memory, one request per connection, /cgi/PATH forking `cat ROOT/PATH`.")
    public static final class Serve implements Callable<Integer> {
        @Option(names = "--root", required = true, description = "The directory to serve.")
        Path root;

        @Option(names = "--address", defaultValue = "0.0.0.0", description = "The address to listen on.")
        String address;

        @Option(names = "--port", defaultValue = "80", description = "The port to listen on.")
        int port;

        @Override
        public Integer call() throws Exception {
            EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
            try (WorkloadServer server = WorkloadServer.start(group, null, new InetSocketAddress(address, port),
                    root)) {
                System.out.println("serving " + root + " on " + server.address());
                Thread.currentThread().join();
            } finally {
                group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            }
            return 0;
        }
    }

    @Command(name = "workload", mixinStandardHelpOptions = true,
            description = "Write the paper's workload files (0 KB, 2 KB, the 108.5 KB mix and its request sequence)"
                    + " under a directory, and print what they hold.")
    public static final class WorkloadFiles implements Callable<Integer> {
        @Option(names = "--write", required = true, description = "The directory to write to.")
        Path directory;

        @Override
        public Integer call() throws Exception {
            Workload.writeFiles(directory);
            for (Workload workload : Workload.values()) {
                System.out.printf(Locale.ROOT, "%-40s %6d requests in its sequence, mean %,.0f bytes%n",
                        workload.title(), workload.requests().size(), workload.meanBytes());
            }
            return 0;
        }
    }

    @Command(name = "demo", mixinStandardHelpOptions = true,
            description = "Build the paper's cluster in network namespaces (a client, this dispatcher, three backends"
                    + " running the project's web server) and measure a single server, LSMAC and LSNAT with 1, 2 and 3"
                    + " servers and the in-kernel nftables dispatchers under the project's load generator, on cores of"
                    + " their own, each configuration warmed first; print whether the paper's conclusion holds here."
                    + " Needs root and two cores; removes everything it made.")
    public static final class Demo implements Callable<Integer> {
        private final ClusterDemo.DispatcherStarter starter;

        Demo(ClusterDemo.DispatcherStarter starter) {
            this.starter = starter;
        }

        @Option(names = "--seconds", defaultValue = "5", description = "Load per configuration and workload.")
        int seconds;

        @Option(names = "--workloads", defaultValue = "2kb,mix", split = ",",
                description = "Any of 0kb, 2kb, mix, cgi (the paper's section 4).")
        List<String> workloads;

        @Option(names = "--modes", defaultValue = "l2,l3", split = ",", description = "l2 (LSMAC), l3 (LSNAT).")
        List<String> modes;

        @Option(names = "--concurrency", defaultValue = "32", description = "Clients at a time.")
        int concurrency;

        @Option(names = "--rounds", defaultValue = "2", description = "Times every configuration is measured, in"
                + " turn; the table shows the mean and how far the rounds lay apart.")
        int rounds;

        @Option(names = "--embedded", description = "Instead, run 300 connections through the LSMAC pipeline on an"
                + " embedded channel: no network, no privileges.")
        boolean embedded;

        @Option(names = "--scale-out", description = "Instead, build a scale-out tier (a router running BIRD 2 with"
                + " ECMP, three dispatchers announcing the VIP over BGP, three backends) for each of --modes, kill one"
                + " dispatcher and drain another (LSMAC) under slow downloads, and print what each cost. Needs root,"
                + " bird and curl (docs/scale-out.md).")
        boolean scaleOut;

        @Option(names = "--downloads", defaultValue = "100", description = "With --scale-out: downloads of 400 KB at"
                + " 50 KB/s running through each event.")
        int downloads;

        @Override
        public Integer call() throws Exception {
            if (embedded) {
                PipelineDemo.main(new String[] {"300"});
                return 0;
            }
            List<Workload> chosen;
            try {
                if (scaleOut) {
                    checkModes();
                    if (downloads < 1) {
                        throw new IllegalArgumentException("--downloads must be at least 1");
                    }
                    ((Logger) LoggerFactory.getLogger("io.loadshare")).setLevel(Level.WARN);
                    ((Logger) LoggerFactory.getLogger("io.netty")).setLevel(Level.ERROR);
                    new ScaleOutDemo(new ScaleOutDemo.Settings(modes, downloads), System.out).run();
                    return 0;
                }
                chosen = workloads.stream().map(Workload::byId).toList();
                if (rounds < 1 || seconds < 1) {
                    throw new IllegalArgumentException("--rounds and --seconds must be at least 1");
                }
                checkModes();
                // The progress line and the table tell the story; the dispatchers' INFO lines would break it up.
                ((Logger) LoggerFactory.getLogger("io.loadshare")).setLevel(Level.WARN);
                ((Logger) LoggerFactory.getLogger("io.netty")).setLevel(Level.ERROR);
                new ClusterDemo(new ClusterDemo.Settings(chosen, Duration.ofSeconds(seconds), concurrency, modes,
                        rounds),
                        System.out, System.err, starter).run();
            } catch (IllegalArgumentException | IllegalStateException e) {
                System.err.println("loadshare demo: " + e.getMessage());
                return 1;
            }
            return 0;
        }

        private void checkModes() {
            for (String mode : modes) {
                if (!mode.equals("l2") && !mode.equals("l3")) {
                    throw new IllegalArgumentException("unknown mode '" + mode + "'; expected l2 or l3");
                }
            }
        }
    }
}
