package io.loadshare.distribution;

import com.typesafe.config.ConfigException;
import io.loadshare.core.netns.NetworkNamespace;
import io.loadshare.core.packet.Ipv4Address;
import io.loadshare.core.packet.MacAddress;
import io.loadshare.core.pipeline.DispatchContext;
import io.loadshare.core.scheduler.SchedulerRegistry;
import io.loadshare.dispatch.l3.L3Dispatcher;
import io.loadshare.distribution.announce.Announcer;
import io.loadshare.offload.OffloadSettings;
import io.loadshare.offload.TcFlowOffload;
import io.loadshare.offload.XdpFlowOffload;
import io.loadshare.offload.bpf.BpfException;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.function.UnaryOperator;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/** The {@code loadshare} command line. */
@Command(name = "loadshare", mixinStandardHelpOptions = true, version = "loadshare 0.1.0",
        description = "A user-space cluster dispatcher: LSMAC (layer 2) and LSNAT (layer 3, RFC 2391).",
        subcommands = {Loadshare.Run.class, Loadshare.Check.class, Loadshare.Status.class, Loadshare.Backend.class,
            Loadshare.Reload.class, Loadshare.Drain.class, Loadshare.Connections.class, Loadshare.AnnounceConfig.class,
            Loadshare.Replay.class})
public final class Loadshare {
    /** Exit status of a configuration or host-setup error. */
    static final int CONFIG_ERROR = 1;
    /** {@code run}: an interface went down or away, and the dispatcher stopped. */
    static final int INTERFACE_LOST = 3;

    private Loadshare() {
    }

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    static int execute(String... args) {
        CommandLine cli = new CommandLine(new Loadshare());
        // demo, serve and workload come from the demo module: the tarball has it, the Debian package does not.
        if (Loadshare.class.getClassLoader().getResource("io/loadshare/demo/DemoCommands.class") != null) {
            DemoHook.addTo(cli);
        } else {
            cli.addSubcommand(new DemoMissing());
        }
        return cli.execute(args);
    }

    /** Sends a request to a running dispatcher's admin interface and prints its answer, rendered. */
    static int askAdmin(String admin, HttpRequest.Builder request, UnaryOperator<String> render)
            throws InterruptedException {
        try (HttpClient client = HttpClient.newHttpClient()) {
            HttpResponse<String> response = client.send(request.timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.ofString());
            // 202: accepted and under way (drain).
            if (response.statusCode() / 100 != 2) {
                System.err.print("loadshare: " + response.body());
                return CONFIG_ERROR;
            }
            System.out.print(render.apply(response.body()));
            return 0;
        } catch (IOException e) {
            System.err.println("loadshare: no dispatcher answers at " + admin + " (" + e + ")");
            return CONFIG_ERROR;
        }
    }

    /** Loads and validates a file, printing the reason when it is not valid. */
    static DispatcherConfig load(Path file) {
        try {
            return DispatcherConfig.load(file, SchedulerRegistry.load());
        } catch (ConfigException | IllegalStateException e) {
            System.err.println("loadshare: bad configuration: " + e.getMessage());
            return null;
        }
    }

    @Command(name = "run", mixinStandardHelpOptions = true, description = "Run the dispatcher a config file describes.")
    static final class Run implements Callable<Integer> {
        @Option(names = "--config", required = true, description = "The HOCON file (see docs/configuration.md).")
        Path config;

        @Override
        public Integer call() throws Exception {
            DispatcherConfig loaded = load(config);
            if (loaded == null) {
                return CONFIG_ERROR;
            }
            try (Dispatcher dispatcher = Dispatcher.start(loaded)) {
                if (Signal.handle(new Signal("HUP"), signal -> reloadOnSignal(dispatcher)) == SignalHandler.SIG_IGN) {
                    // Ignored when the JVM started (nohup does that): the JVM keeps it ignored.
                    LoggerFactory.getLogger(Loadshare.class).warn("SIGHUP is ignored in this process (started under"
                            + " nohup?), so it cannot reload the configuration: use `loadshare reload`");
                }
                Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                    try {
                        dispatcher.close();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }, "loadshare-shutdown"));
                Throwable lost = dispatcher.awaitClosed();
                if (lost != null) {
                    LoggerFactory.getLogger(Loadshare.class).error("{}; stopping with exit status {} so that the"
                            + " service manager starts the dispatcher again once the interface is back",
                            lost.getMessage(), INTERFACE_LOST);
                    return INTERFACE_LOST;
                }
            } catch (IllegalStateException e) {
                System.err.println("loadshare: " + e.getMessage());
                return CONFIG_ERROR;
            }
            return 0;
        }
    }

    /** A reload asked for by SIGHUP: there is no one to answer, so the outcome is logged. */
    private static void reloadOnSignal(Dispatcher dispatcher) {
        try {
            dispatcher.reload();
        } catch (ConfigException | IllegalStateException e) {
            LoggerFactory.getLogger(Loadshare.class).error("SIGHUP: {}", e.getMessage());
        }
    }

    @Command(name = "check", mixinStandardHelpOptions = true,
            description = "Validate a config file and the host setup, with no side effects.")
    static final class Check implements Callable<Integer> {
        @Option(names = "--config", required = true, description = "The HOCON file to check.")
        Path config;

        @Override
        public Integer call() throws Exception {
            DispatcherConfig loaded = load(config);
            if (loaded == null) {
                return CONFIG_ERROR;
            }
            if (loaded.mode() != DispatcherConfig.Mode.L2) {
                try {
                    L3Dispatcher.checkForwarding(loaded.networkNamespace().isEmpty() ? null
                            : NetworkNamespace.named(loaded.networkNamespace()));
                } catch (IllegalStateException e) {
                    System.err.println("loadshare: host setup: " + e.getMessage());
                    return CONFIG_ERROR;
                }
            }
            if (!hasRawCapability()) {
                System.out.println("warning: this process lacks CAP_NET_RAW, which `run` needs (run as root, or grant it"
                        + " with setcap or systemd AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN)");
            }
            System.out.printf("%s: valid; %s on %s, %d service(s)%n", config,
                    loaded.mode().name().toLowerCase(Locale.ROOT).replace('_', '-'),
                    loaded.backendInterface().isEmpty() ? loaded.clientInterface()
                            : loaded.clientInterface() + " (clients) and " + loaded.backendInterface() + " (backends)",
                    loaded.services().size());
            String fastPath = fastPath(loaded);
            if (fastPath != null) {
                System.out.println(fastPath);
                if (loaded.offload().mode() == OffloadSettings.Mode.ON && !fastPath.startsWith("fast path: would")) {
                    return CONFIG_ERROR;
                }
            }
            sharedSourceNat(loaded).forEach((address, names) -> System.out.printf(
                    "source-NAT address %s is shared by services %s: they draw on one pool of its %,d ports"
                            + " (1024-65535), so a port is never given to two sessions at once%n",
                    Ipv4Address.format(address), String.join(", ", names), 65536 - 1024));
            return 0;
        }

        /**
         * Whether the fast path the configuration asks for would load here (the program through the verifier, the
         * maps created, nothing attached), or null when it is off.
         */
        private static String fastPath(DispatcherConfig config) {
            OffloadSettings.Mode mode = config.offload().mode();
            if (mode == OffloadSettings.Mode.OFF) {
                return null;
            }
            String consequence = mode == OffloadSettings.Mode.ON ? "`run` would refuse to start"
                    : "`run` would dispatch in user space alone";
            if (config.clientVlan() != 0 || config.backendVlan() != 0) {
                return "fast path: not for VLAN-tagged interfaces; " + consequence;
            }
            try {
                if (config.mode() == DispatcherConfig.Mode.L2) {
                    XdpFlowOffload.probe();
                    return "fast path: would load (XDP program verified by this kernel; attach = "
                            + config.offload().attach().name().toLowerCase(Locale.ROOT) + ")";
                }
                TcFlowOffload.probe();
                return "fast path: would load (tc program verified by this kernel; it attaches to each arm's"
                        + " ingress through tcx, Linux 6.6 or later)";
            } catch (BpfException e) {
                return "fast path: cannot load, " + consequence + ": " + e.getMessage();
            }
        }

        /** Source-NAT addresses that more than one service uses, with those services' names. */
        private static Map<Integer, List<String>> sharedSourceNat(DispatcherConfig config) {
            Map<Integer, List<String>> byAddress = new TreeMap<>();
            for (DispatcherConfig.ServiceConfig service : config.services()) {
                if (service.sourceNatAddress() != 0) {
                    byAddress.computeIfAbsent(service.sourceNatAddress(), a -> new ArrayList<>()).add(service.name());
                }
            }
            byAddress.values().removeIf(names -> names.size() < 2);
            return byAddress;
        }

        /** CAP_NET_RAW (bit 13) in the effective set of /proc/self/status. */
        private static boolean hasRawCapability() throws IOException {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("CapEff:")) {
                    return (Long.parseUnsignedLong(line.substring(7).trim(), 16) & (1L << 13)) != 0;
                }
            }
            return false;
        }
    }

    /** Where a running dispatcher's admin interface is, for the commands that talk to it. */
    static final class AdminOption {
        @Option(names = "--admin", defaultValue = "http://127.0.0.1:9900", paramLabel = "URL",
                description = "The running dispatcher's admin interface, as a URL (loadshare.admin.address and port)."
                        + " It listens in the network namespace `loadshare run` started in, even when"
                        + " loadshare.network-namespace puts the interfaces elsewhere. Default: ${DEFAULT-VALUE}.")
        String url;
    }

    @Command(name = "status", mixinStandardHelpOptions = true,
            description = "Show services, backends and their counters, read from a running dispatcher.")
    static final class Status implements Callable<Integer> {
        @Mixin
        AdminOption admin;

        @Override
        public Integer call() throws Exception {
            return askAdmin(admin.url, HttpRequest.newBuilder(URI.create(admin.url + "/status")).GET(),
                    StatusTable::render);
        }
    }

    @Command(name = "backend", mixinStandardHelpOptions = true,
            description = "Drain a backend (no new sessions; existing ones continue), take it down, hand it back, or"
                    + " change its weight, while it runs.")
    static final class Backend implements Callable<Integer> {
        @Mixin
        AdminOption admin;

        @Option(names = "--service", required = true, description = "The service's name.")
        String service;

        @ArgGroup(multiplicity = "1")
        Which which;

        @ArgGroup(multiplicity = "1")
        What what;

        /** Which backend. */
        static final class Which {
            @Option(names = "--address", required = true,
                    description = "The backend, as `status` shows it (address, address:port).")
            String address;

            @Option(names = "--mac", required = true,
                    description = "The backend's MAC, as `status` shows it: how discovered backends are told apart.")
            String mac;
        }

        /** What to change. */
        static final class What {
            @Option(names = "--state", required = true, description = "draining, down, or source (undo).")
            String state;

            @Option(names = "--weight", required = true,
                    description = "A weight 0..65535 over the configured one, or source (undo).")
            String weight;
        }

        @Override
        public Integer call() throws Exception {
            String backend = which.address != null ? which.address : which.mac;
            String query = "service=" + encode(service) + "&backend=" + encode(backend)
                    + (what.state != null ? "&state=" + encode(what.state) : "&weight=" + encode(what.weight));
            String path = what.state != null ? "/backends/state?" : "/backends/weight?";
            return askAdmin(admin.url, HttpRequest.newBuilder(URI.create(admin.url + path + query))
                    .POST(HttpRequest.BodyPublishers.noBody()), StatusTable::render);
        }

        private static String encode(String value) {
            return URLEncoder.encode(value, StandardCharsets.UTF_8);
        }
    }

    @Command(name = "reload", mixinStandardHelpOptions = true,
            description = "Make a running dispatcher re-read its config file (as SIGHUP does): backends, schedulers and"
                    + " health checks change without dropping a session; a bad file is refused and the old one stays.")
    static final class Reload implements Callable<Integer> {
        @Mixin
        AdminOption admin;

        @Override
        public Integer call() throws Exception {
            return askAdmin(admin.url, HttpRequest.newBuilder(URI.create(admin.url + "/reload"))
                    .POST(HttpRequest.BodyPublishers.noBody()), UnaryOperator.identity());
        }
    }

    @Command(name = "drain", mixinStandardHelpOptions = true,
            description = "Drain a running dispatcher out of a scale-out tier: withdraw every service address, then"
                    + " stop once its sessions have ended (or after loadshare.announce.drain-timeout).")
    static final class Drain implements Callable<Integer> {
        @Mixin
        AdminOption admin;

        @Override
        public Integer call() throws Exception {
            return askAdmin(admin.url, HttpRequest.newBuilder(URI.create(admin.url + "/drain"))
                    .POST(HttpRequest.BodyPublishers.noBody()), UnaryOperator.identity());
        }
    }

    @Command(name = "connections", mixinStandardHelpOptions = true,
            description = "List a running dispatcher's sessions, as ipvsadm -Lnc does: protocol, state, time to expiry,"
                    + " client, service, service address, backend, worker, and whether the kernel carries the flow."
                    + " Streamed as the workers are read; the filters combine.")
    static final class Connections implements Callable<Integer> {
        @Mixin
        AdminOption admin;

        @Option(names = "--service", paramLabel = "NAME", description = "Only this service's sessions.")
        String service;

        @Option(names = "--backend", paramLabel = "ADDRESS", description = "Only the sessions of this backend.")
        String backend;

        @Option(names = "--client", paramLabel = "NETWORK",
                description = "Only clients in this network (ADDRESS or ADDRESS/BITS).")
        String client;

        @Option(names = "--state", paramLabel = "STATE", description = "Only sessions in this state: syn-seen,"
                + " syn-answered, established, fin-seen, client-closed, backend-closed, reset or datagram.")
        String state;

        @Override
        public Integer call() throws Exception {
            StringBuilder query = new StringBuilder();
            for (String[] filter : new String[][] {{"service", service}, {"backend", backend}, {"client", client},
                {"state", state}}) {
                if (filter[1] != null) {
                    query.append(query.isEmpty() ? '?' : '&').append(filter[0]).append('=')
                            .append(URLEncoder.encode(filter[1], StandardCharsets.UTF_8));
                }
            }
            HttpRequest request = HttpRequest.newBuilder(URI.create(admin.url + "/connections" + query))
                    .timeout(Duration.ofSeconds(5)).GET().build();
            try (HttpClient http = HttpClient.newHttpClient()) {
                HttpResponse<InputStream> response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
                try (InputStream body = response.body()) {
                    if (response.statusCode() != 200) {
                        System.err.print("loadshare: " + new String(body.readAllBytes(), StandardCharsets.UTF_8));
                        return CONFIG_ERROR;
                    }
                    // As the dispatcher sends it: a million sessions are never held here at once.
                    body.transferTo(System.out);
                    System.out.flush();
                    return 0;
                }
            } catch (IOException e) {
                System.err.println("loadshare: no dispatcher answers at " + admin.url + " (" + e + ")");
                return CONFIG_ERROR;
            }
        }
    }

    @Command(name = "announce-config", mixinStandardHelpOptions = true,
            description = "Print the BIRD 2 protocol that announces this configuration's service addresses while"
                    + " the dispatcher serves them (docs/scale-out.md).")
    static final class AnnounceConfig implements Callable<Integer> {
        @Option(names = "--config", required = true, description = "The HOCON file.")
        Path config;

        @Override
        public Integer call() {
            DispatcherConfig loaded = load(config);
            if (loaded == null) {
                return CONFIG_ERROR;
            }
            System.out.print(Announcer.birdConfig(loaded.announce().interfacePrefix(), loaded.services().stream()
                    .map(DispatcherConfig.ServiceConfig::address).toList()));
            return 0;
        }
    }

    @Command(name = "replay", mixinStandardHelpOptions = true,
            description = "Run the configured pipeline over a capture file, without privileges; write what it sends.")
    static final class Replay implements Callable<Integer> {
        @Option(names = "--config", required = true, description = "The HOCON file.")
        Path config;

        @Option(names = "--in", required = true, description = "A pcap or pcapng capture to read.")
        Path input;

        @Option(names = "--out", required = true, description = "The pcap file to write what the dispatcher sends.")
        Path output;

        @Option(names = "--dispatcher-mac", required = true, description = "The MAC the dispatcher would have.")
        String dispatcherMac;

        @Option(names = "--backend-mac", required = true, description = "ADDRESS=MAC for every backend.")
        List<String> backendMacs;

        @Override
        public Integer call() throws Exception {
            DispatcherConfig loaded = load(config);
            if (loaded == null) {
                return CONFIG_ERROR;
            }
            Map<Integer, Long> macs = new HashMap<>();
            DispatchContext context;
            try {
                for (String pair : backendMacs) {
                    String[] parts = pair.split("=", 2);
                    if (parts.length != 2) {
                        throw new IllegalArgumentException("--backend-mac takes ADDRESS=MAC, got '" + pair + "'");
                    }
                    macs.put(Ipv4Address.parse(parts[0]),
                            MacAddress.parse(parts[1]));
                }
                context = CaptureReplay.run(loaded, input, output,
                        MacAddress.parse(dispatcherMac), macs);
            } catch (IllegalArgumentException e) {
                System.err.println("loadshare: " + e.getMessage());
                return CONFIG_ERROR;
            }
            long sent = 0;
            for (int id = 0; id <= context.counters().maxBackendId(); id++) {
                sent += context.counters().packets(id);
            }
            Map<String, Long> drops = context.counters().dropsByReason();
            System.out.printf("replayed %s into %s: %d frames to backends, %d dropped%s%n", input, output, sent,
                    context.counters().totalDrops(), drops.isEmpty() ? "" : " " + drops);
            return 0;
        }
    }

    /** Stands in for {@code demo} where the demo module is not installed: the Debian package. */
    @Command(name = "demo", mixinStandardHelpOptions = true,
            description = "Not installed here: the demo ships in the tarball and the source tree.")
    static final class DemoMissing implements Callable<Integer> {
        @Override
        public Integer call() {
            System.err.println("loadshare demo: not part of this installation (the Debian package carries the"
                    + " dispatcher alone); run it from the tarball (bin/loadshare demo) or a source checkout (sudo"
                    + " ./loadshare demo)");
            return CONFIG_ERROR;
        }
    }
}
