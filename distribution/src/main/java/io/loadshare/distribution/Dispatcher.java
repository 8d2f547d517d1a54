package io.loadshare.distribution;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import io.loadshare.core.backend.Backend;
import io.loadshare.core.backend.StaticBackend;
import io.loadshare.core.netns.NetworkNamespace;
import io.loadshare.core.packet.EtherType;
import io.loadshare.core.packet.Ipv4Address;
import io.loadshare.core.pipeline.DispatchContext;
import io.loadshare.core.pipeline.Service;
import io.loadshare.core.session.Persistence;
import io.loadshare.core.scheduler.SchedulerRegistry;
import io.loadshare.dispatch.l2.L2DispatchInitializer;
import io.loadshare.dispatch.l2.L2Service;
import io.loadshare.dispatch.l3.Arm;
import io.loadshare.dispatch.l3.L3Dispatcher;
import io.loadshare.dispatch.l3.L3Service;
import io.loadshare.distribution.announce.Announcer;
import io.loadshare.offload.OffloadSettings;
import io.loadshare.offload.KernelFlowOffload;
import io.loadshare.offload.TcFlowOffload;
import io.loadshare.offload.XdpFlowOffload;
import io.loadshare.offload.bpf.BpfException;
import io.loadshare.transport.pcap.PcapChannelOption;
import io.loadshare.transport.pcap.PcapFileAddress;
import io.loadshare.transport.pcap.PcapFileChannel;
import io.loadshare.transport.rawsocket.RawSocketAddress;
import io.loadshare.transport.rawsocket.RawSocketChannel;
import io.loadshare.transport.rawsocket.FanoutSteering;
import io.loadshare.transport.rawsocket.RawSocketChannelOption;
import io.loadshare.transport.rawsocket.SocketFilter;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.util.concurrent.Future;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running dispatcher: the pipeline a {@link DispatcherConfig} describes, on raw-socket channels, run by
 * {@code loadshare.workers} event loops. Each worker has its own data sockets (one fanout group per interface,
 * steered so that both directions of a flow reach one worker), session table, counters and schedulers; the first
 * also keeps the ARP sockets and the backend trackers.
 */
public final class Dispatcher implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Dispatcher.class);

    /** How a dispatch mode applies a reloaded service: {@code L2DispatchInitializer} or {@code L3Dispatcher}. */
    private interface Reconfigurer {
        Future<?> reconfigure(int serviceIndex, List<StaticBackend> backends, String scheduler,
                Config schedulerSettings);
    }

    private final EventLoopGroup loop;
    private final List<Channel> channels;
    private final DispatchContext context;
    private final List<DispatchContext> workers;
    private final List<Service> services;
    private final Reconfigurer reconfigurer;
    private final HealthChecker health;
    /** The fast path, or null when every packet goes through the pipeline. */
    private final KernelFlowOffload offload;
    private volatile DispatcherConfig config;
    private final AtomicBoolean closed = new AtomicBoolean();
    private AdminServer admin;
    /** Announces the service addresses to the routing daemon; null unless announce.enabled. */
    private Announcer announcer;
    private final AtomicBoolean draining = new AtomicBoolean();

    private Dispatcher(DispatcherConfig config, EventLoopGroup loop, List<Channel> channels,
            List<DispatchContext> workers, List<Service> services, Reconfigurer reconfigurer, HealthChecker health,
            KernelFlowOffload offload) {
        this.config = config;
        this.loop = loop;
        this.channels = channels;
        this.workers = workers;
        this.context = workers.getFirst();
        this.services = services;
        this.reconfigurer = reconfigurer;
        this.health = health;
        this.offload = offload;
    }

    /** Opens the interfaces and starts dispatching. */
    public static Dispatcher start(DispatcherConfig config) throws IOException, InterruptedException {
        NetworkNamespace namespace = config.networkNamespace().isEmpty() ? null
                : NetworkNamespace.named(config.networkNamespace());
        List<Integer> vips = config.services().stream().map(DispatcherConfig.ServiceConfig::address).distinct().toList();
        int workerCount = config.workers();
        EventLoopGroup loop = new MultiThreadIoEventLoopGroup(workerCount, EpollIoHandler.newFactory());
        List<EventLoop> loops = new ArrayList<>();
        loop.forEach(executor -> loops.add((EventLoop) executor));
        List<Channel> channels = new ArrayList<>();
        List<DispatcherView.Socket> sockets = new ArrayList<>();
        try {
            List<DispatchContext> workers;
            List<Service> services;
            Reconfigurer reconfigurer;
            KernelFlowOffload offload = null;
            if (config.mode() == DispatcherConfig.Mode.L2) {
                L2DispatchInitializer lsmac = l2(config).workers(workerCount).build();
                workers = lsmac.contexts();
                services = lsmac.services();
                reconfigurer = lsmac::reconfigure;
                FanoutSteering fanout = fanout(config, vips, List.of());
                SocketFilter.Builder filter = SocketFilter.builder().acceptBroadcast(config.rawSocket().acceptBroadcast())
                        .ipv4Destinations(vips);
                for (int w = 0; w < workerCount; w++) {
                    RawSocketChannel data = bindWorker(loops.get(w), config, namespace, config.clientInterface(),
                            config.clientVlan(), lsmac.worker(w), filter, w == 0 ? lsmac.arpInitializer() : null, false,
                            0, fanout, channels, sockets, w);
                    if (w == 0) {
                        offload = offload(config, namespace, data, data, workers);
                    }
                }
            } else {
                L3Dispatcher.checkHost(namespace);
                L3Dispatcher lsnat = l3(config).workers(workerCount).build();
                workers = lsnat.contexts();
                services = lsnat.services();
                reconfigurer = lsnat::reconfigure;
                FanoutSteering fanout = fanout(config, lsnat.clusterAddresses(), lsnat.sourceNatAddresses());
                // With a fast path the data sockets take IPv4 alone: such a socket gets a frame after tc ingress,
                // so one the fast path redirects never reaches it (a socket for every protocol copies it first).
                int data = config.offload().mode() == OffloadSettings.Mode.OFF ? 0 : EtherType.IPV4;
                // The ARP responders need broadcasts; replies and ICMP errors come from backend-side addresses.
                for (int w = 0; w < workerCount; w++) {
                    boolean first = w == 0;
                    if (config.backendInterface().isEmpty()) {
                        RawSocketChannel both = bindWorker(loops.get(w), config, namespace, config.clientInterface(),
                                config.clientVlan(), lsnat.initializer(w, Arm.BOTH), SocketFilter.builder(),
                                first ? lsnat.arpInitializer(Arm.BOTH) : null, true, data, fanout, channels, sockets, w);
                        if (first) {
                            offload = offload(config, namespace, both, both, workers);
                        }
                    } else {
                        RawSocketChannel backend = bindWorker(loops.get(w), config, namespace,
                                config.backendInterface(), config.backendVlan(), lsnat.initializer(w, Arm.BACKEND),
                                SocketFilter.builder(), first ? lsnat.arpInitializer(Arm.BACKEND) : null, true, data,
                                fanout, channels, sockets, w);
                        RawSocketChannel client = bindWorker(loops.get(w), config, namespace, config.clientInterface(),
                                config.clientVlan(), lsnat.initializer(w, Arm.CLIENT),
                                SocketFilter.builder().ipv4Destinations(vips),
                                first ? lsnat.arpInitializer(Arm.CLIENT) : null, true, data, fanout, channels, sockets,
                                w);
                        if (first) {
                            offload = offload(config, namespace, client, backend, workers);
                        }
                    }
                }
            }
            HealthChecker health = new HealthChecker(namespace, config.clientInterface(), config.clientVlan(), vips);
            Dispatcher dispatcher = new Dispatcher(config, loop, List.copyOf(channels), workers, services,
                    reconfigurer, health, offload);
            try {
                if (config.admin().enabled()) {
                    DispatcherView view = new DispatcherView(services, () -> dispatcher.config.services(), workers,
                            sockets, offload, dispatcher::announced);
                    dispatcher.admin = new AdminServer(view, dispatcher::reload, dispatcher::drain, config.admin());
                    LOG.info("admin and metrics on http://{}:{}/ (/metrics, /status, POST /reload, POST /drain)",
                            config.admin().address(), dispatcher.admin.address().getPort());
                }
                LOG.info("dispatching {} for {} service(s) with {} worker(s) on {}",
                        config.mode().name().toLowerCase(Locale.ROOT), config.services().size(), workerCount, channels);
                for (Service service : services) {
                    HealthChecker.Settings check = config.services().get(service.index()).healthCheck();
                    if (check != null) {
                        health.prepare(config.services().get(service.index()));
                        health.watch(service, check);
                    }
                }
                // Last: the routers send traffic once the address is announced, so everything else must be up.
                if (config.announce().enabled()) {
                    dispatcher.announcer = Announcer.start(namespace, config.announce().interfacePrefix(),
                            config.announce().interval(), services);
                }
            } catch (IOException | InterruptedException | RuntimeException e) {
                dispatcher.close();
                throw e;
            }
            return dispatcher;
        } catch (IOException | InterruptedException | RuntimeException e) {
            for (Channel channel : channels) {
                channel.close();
            }
            loop.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            throw e;
        }
    }

    /**
     * Attaches the fast path to the data channels as {@code io.loadshare.offload.mode} asks: LSMAC's XDP program,
     * or LSNAT's tc program on both arms. {@code auto} falls back to the pipeline alone with one log line saying
     * why, {@code on} refuses to start.
     *
     * @param client the client arm's bound data channel (LSMAC's only one)
     * @param backend the backend arm's; {@code client} itself when there is one interface
     * @return the attached fast path, or null
     */
    private static KernelFlowOffload offload(DispatcherConfig config, NetworkNamespace namespace,
            RawSocketChannel client, RawSocketChannel backend, List<DispatchContext> workers)
            throws InterruptedException {
        DispatchContext context = workers.getFirst();
        OffloadSettings settings = config.offload();
        if (settings.mode() == OffloadSettings.Mode.OFF) {
            return null;
        }
        try {
            if (config.clientVlan() != 0 || config.backendVlan() != 0) {
                throw new IllegalArgumentException("it does not carry VLAN-tagged frames (interfaces.client-vlan,"
                        + " interfaces.backend-vlan)");
            }
            KernelFlowOffload fastPath;
            if (config.mode() == DispatcherConfig.Mode.L2) {
                fastPath = XdpFlowOffload.attachLsmac(namespace, config.clientInterface(), client.interfaceIndex(),
                        client.hardwareAddress(), settings, config.core().maxBackendId(), context);
                LOG.info("fast path: XDP ({} mode) on {}, up to {} flows",
                        settings.attach().name().toLowerCase(Locale.ROOT), fastPath.interfaceName(), settings.maxFlows());
            } else {
                TcFlowOffload.Arm clientArm = new TcFlowOffload.Arm(config.clientInterface(), client.interfaceIndex(),
                        client.hardwareAddress());
                TcFlowOffload.Arm backendArm = backend == client ? clientArm : new TcFlowOffload.Arm(
                        config.backendInterface(), backend.interfaceIndex(), backend.hardwareAddress());
                fastPath = TcFlowOffload.attachLsnat(namespace, clientArm, backendArm, settings,
                        config.core().maxBackendId(), context);
                LOG.info("fast path: tc (tcx ingress) on {}, up to {} flows", fastPath.interfaceName(),
                        settings.maxFlows());
            }
            KernelFlowOffload attached = fastPath;
            client.eventLoop().submit(() -> context.offload(attached)).sync();
            for (DispatchContext worker : workers.subList(1, workers.size())) {
                KernelFlowOffload view = fastPath.forWorker(worker);
                worker.submit(() -> worker.offload(view)).sync();
            }
            return fastPath;
        } catch (BpfException | IllegalArgumentException e) {
            if (settings.mode() == OffloadSettings.Mode.ON) {
                throw new IllegalStateException(OffloadSettings.ROOT + ".mode = on, but the fast path cannot start: "
                        + e.getMessage(), e);
            }
            LOG.warn("fast path off, every packet goes through the pipeline: {}", e.getMessage().lines().findFirst()
                    .orElse(""));
            return null;
        }
    }

    /**
     * How the workers' data sockets on an interface share its frames: with one worker, no fanout (null); else one
     * fanout group that the first worker starts (the kernel picks its id) and the others join in worker order, each
     * flow steered to one worker by its client side.
     */
    private static FanoutSteering fanout(DispatcherConfig config, List<Integer> clusterAddresses,
            List<Integer> sourceNatAddresses) {
        if (config.workers() == 1) {
            return null;
        }
        FanoutSteering.Builder steering = FanoutSteering.builder().requestsTo(clusterAddresses)
                .portSlicesOf(sourceNatAddresses);
        // A persistent client's connections must meet one worker's templates: steer by its masked address.
        config.services().stream().map(DispatcherConfig.ServiceConfig::persistence).filter(Objects::nonNull)
                .mapToInt(Persistence::netmask).reduce((a, b) -> a & b)
                .ifPresent(steering::clientAddressOnly);
        return steering.build();
    }

    /**
     * Opens one worker's channels on an interface: its data socket, in the interface's fanout group when there are
     * several workers, and, for the first worker, an ARP socket beside it, so that no flood of data frames can bury
     * the ARP replies that keep backends up (or the requests that resolve the VIP); the data socket's filter then
     * leaves ARP out.
     *
     * @param arpInitializer the ARP socket's pipeline, or null for none (workers after the first)
     * @param dataEtherType the data socket's protocol: one EtherType, or 0 for every one but ARP
     * @return the data channel
     */
    private static RawSocketChannel bindWorker(EventLoop loop, DispatcherConfig config, NetworkNamespace namespace,
            String interfaceName, int vlan, ChannelHandler initializer, SocketFilter.Builder filter,
            ChannelHandler arpInitializer, boolean arpBroadcast, int dataEtherType, FanoutSteering fanout,
            List<Channel> channels, List<DispatcherView.Socket> sockets, int worker) throws InterruptedException {
        if (arpInitializer != null) {
            RawSocketChannel arp = bind(loop, config, namespace, interfaceName, vlan, arpInitializer,
                    SocketFilter.builder().acceptBroadcast(arpBroadcast).build(), EtherType.ARP, -1, null);
            channels.add(arp);
            sockets.add(new DispatcherView.Socket(arp, worker));
        }
        int group = -1;
        if (fanout != null) {
            group = worker == 0 ? RawSocketChannel.NEW_FANOUT_GROUP : firstWorkerGroup(sockets, interfaceName);
        }
        RawSocketChannel data = bind(loop, config, namespace, interfaceName, vlan, initializer,
                filter.acceptBroadcast(config.rawSocket().acceptBroadcast()).acceptArp(false).build(), dataEtherType,
                group, fanout);
        channels.add(data);
        sockets.add(new DispatcherView.Socket(data, worker));
        if (group >= 0) {
            LOG.info("worker {} reads {} in fanout group {}", worker, interfaceName, data.fanoutGroup());
        }
        return data;
    }

    /** The fanout group the first worker's data socket on an interface started. */
    private static int firstWorkerGroup(List<DispatcherView.Socket> sockets, String interfaceName) {
        for (DispatcherView.Socket socket : sockets) {
            RawSocketChannel channel = socket.channel();
            if (socket.worker() == 0 && channel.etherType() != EtherType.ARP
                    && channel.localAddress().interfaceName().equals(interfaceName)) {
                return channel.fanoutGroup();
            }
        }
        throw new IllegalStateException("the first worker has no data socket on " + interfaceName);
    }

    private static RawSocketChannel bind(EventLoop loop, DispatcherConfig config, NetworkNamespace namespace,
            String interfaceName, int vlan, ChannelHandler initializer, SocketFilter filter, int etherType,
            int fanoutGroup, FanoutSteering steering) throws InterruptedException {
        Bootstrap bootstrap = new Bootstrap().group(loop)
                .channelFactory(() -> namespace == null ? new RawSocketChannel() : new RawSocketChannel(namespace))
                .handler(initializer);
        RawSocketChannel channel = (RawSocketChannel) bootstrap.register().sync().channel();
        channel.config().apply(config.rawSocket());
        channel.config().setOption(RawSocketChannelOption.SOCKET_FILTER, filter);
        channel.config().setOption(RawSocketChannelOption.VLAN, vlan);
        channel.config().setOption(RawSocketChannelOption.ETHER_TYPE, etherType);
        if (fanoutGroup >= 0) {
            channel.config().setOption(RawSocketChannelOption.FANOUT_GROUP, fanoutGroup);
            channel.config().setOption(RawSocketChannelOption.FANOUT_STEERING, steering);
        }
        try {
            channel.bind(new RawSocketAddress(interfaceName)).sync();
        } catch (RuntimeException | InterruptedException e) {
            channel.close();
            throw e;
        }
        return channel;
    }

    /**
     * Runs the configured pipeline over a capture file instead of interfaces, without privileges: frames are read
     * from {@code input}, and what the dispatcher sends is written to {@code output}. Backends cannot be asked by ARP
     * here, so their MACs are given; ARP discovery services cannot be replayed.
     *
     * @return the data-plane state after the whole file went through
     */
    public static DispatchContext replay(DispatcherConfig config, Path input, Path output,
            long dispatcherMac, Map<Integer, Long> backendMacs) throws InterruptedException {
        for (DispatcherConfig.ServiceConfig s : config.services()) {
            for (StaticBackend backend : s.backends()) {
                if (!backendMacs.containsKey(backend.address())) {
                    throw new IllegalArgumentException("replay needs the MAC of backend "
                            + Ipv4Address.format(backend.address()) + " (--backend-mac ADDRESS=MAC)");
                }
            }
            if (s.backends().isEmpty()) {
                throw new IllegalArgumentException("service " + s.name() + " discovers its backends by ARP, which a"
                        + " capture cannot answer; list its backends to replay it");
            }
        }
        ChannelHandler initializer;
        DispatchContext context;
        if (config.mode() == DispatcherConfig.Mode.L2) {
            L2DispatchInitializer.Builder builder = l2(config);
            backendMacs.forEach(builder::pinBackendMac);
            L2DispatchInitializer lsmac = builder.build();
            initializer = lsmac;
            context = lsmac.context();
        } else {
            L3Dispatcher.Builder builder = l3(config);
            backendMacs.forEach(builder::pinBackendMac);
            L3Dispatcher lsnat = builder.build();
            initializer = lsnat.initializer(Arm.BOTH);
            context = lsnat.context();
        }
        EventLoopGroup loop = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        try {
            Channel channel = new Bootstrap().group(loop).channel(PcapFileChannel.class)
                    .option(PcapChannelOption.HARDWARE_ADDRESS, dispatcherMac)
                    .handler(initializer)
                    .bind(new PcapFileAddress(input, output).asSocketAddress()).sync()
                    .channel();
            channel.closeFuture().sync();
        } finally {
            loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
        return context;
    }

    private static L2DispatchInitializer.Builder l2(DispatcherConfig config) {
        L2DispatchInitializer.Builder builder = L2DispatchInitializer.builder().coreSettings(config.core())
                .settings(config.l2());
        for (DispatcherConfig.ServiceConfig s : config.services()) {
            builder.service(new L2Service(s.name(), s.address(), s.protocol(), s.port(), s.scheduler(),
                    s.schedulerSettings(), s.backends(), s.persistence()));
        }
        return builder;
    }

    private static L3Dispatcher.Builder l3(DispatcherConfig config) {
        L3Dispatcher.Builder builder = L3Dispatcher.builder().coreSettings(config.core()).settings(config.l3());
        for (DispatcherConfig.ServiceConfig s : config.services()) {
            builder.service(new L3Service(s.name(), s.address(), s.protocol(), s.port(), s.backendPort(),
                    s.scheduler(), s.schedulerSettings(), s.backends(), s.sourceNatAddress(), s.gateway(),
                    s.persistence()));
        }
        return builder;
    }

    /**
     * Re-reads the configuration file and swaps in, service by service, what can change while sessions run: the
     * backends (new ones join once ARP resolves them; dropped ones drain and leave when their last session ends), the
     * scheduler and its settings (each event loop's new scheduler starts from the sessions every backend holds), and
     * the health check. Anything else needs a restart, and a file that changes it is refused as a whole, as is one
     * that is not valid: the running configuration stays.
     *
     * @return what changed, one line each; empty when nothing did
     * @throws ConfigException when the file is not valid, naming the file, line and key
     * @throws IllegalStateException when the file changes what only a restart applies, naming each key
     */
    public synchronized List<String> reload() {
        DispatcherConfig running = config;
        SchedulerRegistry registry = SchedulerRegistry.load();
        DispatcherConfig next = DispatcherConfig.load(running.file(), registry);
        List<String> restart = running.restartNeeded(next);
        if (!restart.isEmpty()) {
            throw new IllegalStateException("reload refused, the running configuration stays: "
                    + String.join("; ", restart) + " (these need a restart)");
        }
        List<String> changes = new ArrayList<>();
        List<Runnable> steps = new ArrayList<>();
        for (int i = 0; i < next.services().size(); i++) {
            DispatcherConfig.ServiceConfig before = running.services().get(i);
            DispatcherConfig.ServiceConfig after = next.services().get(i);
            Service service = services.get(i);
            boolean backends = !before.backends().equals(after.backends());
            boolean scheduler = !before.scheduler().equals(after.scheduler())
                    || !before.schedulerSettings().equals(after.schedulerSettings());
            if (scheduler) {
                try {
                    registry.create(after.scheduler(), after.schedulerSettings());
                } catch (RuntimeException e) {
                    throw new IllegalStateException("reload refused, the running configuration stays: "
                            + DispatcherConfig.ROOT + ".services[" + i + "] (" + after.name() + "): scheduler "
                            + after.scheduler() + " does not accept its settings: " + e.getMessage(), e);
                }
                changes.add(after.name() + ": scheduler " + before.scheduler() + " -> " + after.scheduler());
            }
            if (backends) {
                changes.add(after.name() + ": backends " + before.backends() + " -> " + after.backends());
            }
            if (backends || scheduler) {
                int index = i;
                steps.add(() -> reconfigurer.reconfigure(index, after.backends(), scheduler ? after.scheduler() : null,
                        after.schedulerSettings()).syncUninterruptibly());
            }
            if (!Objects.equals(before.healthCheck(), after.healthCheck())) {
                try {
                    health.prepare(after);
                } catch (IOException | InterruptedException e) {
                    throw new IllegalStateException("reload refused, the running configuration stays: "
                            + DispatcherConfig.ROOT + ".services[" + i + "] (" + after.name() + "): its health check"
                            + " cannot run: " + e.getMessage(), e);
                }
                changes.add(after.name() + ": health check " + (after.healthCheck() == null ? "off"
                        : after.healthCheck().type() + " every " + after.healthCheck().intervalMillis() + " ms"));
                steps.add(() -> health.watch(service, after.healthCheck()));
            }
        }
        steps.forEach(Runnable::run);
        config = next;
        LOG.info("reloaded {}: {}", next.file(), changes.isEmpty() ? "nothing changed" : String.join("; ", changes));
        return changes;
    }

    /** The services, in configuration order, with their current pools. */
    public List<Service> services() {
        return services;
    }

    /**
     * Drains this dispatcher out of a scale-out tier: withdraws every service address (the routers send new flows
     * to the other dispatchers), then stops once its sessions have ended or {@code announce.drain-timeout} has
     * passed, whichever comes first. Returns at once; {@code loadshare run} then exits 0.
     *
     * @return what happens, for the operator
     */
    public String drain() {
        if (!draining.compareAndSet(false, true)) {
            return "already draining\n";
        }
        if (announcer != null) {
            announcer.withdrawAll();
        }
        Duration timeout = config.announce().drainTimeout();
        Thread.ofPlatform().name("loadshare-drain").daemon().start(() -> {
            long deadline = System.nanoTime() + timeout.toNanos();
            try {
                int left;
                while ((left = sessionsLeft()) > 0 && System.nanoTime() < deadline) {
                    Thread.sleep(100);
                }
                LOG.info("drained: {} session(s) left, stopping", left);
                close();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        LOG.info("draining: {}; stopping once the sessions have ended, within {}", announcer == null
                ? "nothing is announced (announce.enabled = false)" : "every service address withdrawn", timeout);
        return (announcer == null ? "nothing to withdraw (announce.enabled = false); " : "withdrawn; ")
                + "stopping once the sessions have ended, within " + timeout.toSeconds() + " s\n";
    }

    /** Sessions the data plane holds, each worker's read on its loop. */
    private int sessionsLeft() throws InterruptedException {
        int left = 0;
        for (DispatchContext worker : workers) {
            try {
                left += worker.eventLoop().submit(() -> worker.sessions().size()).get(1, TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException
                    | java.util.concurrent.RejectedExecutionException e) {
                // A worker that cannot answer is stopping: nothing left there.
            }
        }
        return left;
    }

    /** Whether each service address is announced now; empty unless announce.enabled. */
    public java.util.Map<String, Boolean> announced() {
        return announcer == null ? java.util.Map.of() : announcer.announced();
    }

    /** The fast path, or null when every packet goes through the pipeline. */
    public KernelFlowOffload offload() {
        return offload;
    }

    /** The first worker's data-plane state: sessions and counters. */
    public DispatchContext context() {
        return context;
    }

    /** Every worker's data-plane state, in worker order. */
    public List<DispatchContext> contexts() {
        return workers;
    }

    /**
     * Waits until a channel closes: {@link #close}, or an interface that went down or away.
     *
     * @return why a channel closed by itself, or null when {@link #close} closed them
     */
    public Throwable awaitClosed() throws InterruptedException {
        CountDownLatch anyClosed = new CountDownLatch(1);
        for (Channel channel : channels) {
            channel.closeFuture().addListener(f -> anyClosed.countDown());
        }
        anyClosed.await();
        if (closed.get()) {
            return null;
        }
        for (Channel channel : channels) {
            if (!channel.isOpen()) {
                Throwable cause = ((RawSocketChannel) channel).closeCause();
                return cause != null ? cause : new IllegalStateException(channel + " closed");
            }
        }
        return new IllegalStateException("a channel closed");
    }

    /** Where the admin interface listens, or null when it is off. */
    public InetSocketAddress adminAddress() {
        return admin == null ? null : admin.address();
    }

    @Override
    /**
     * Stops: health checks and the admin listener first, then the channels (their sessions end, counted as flushed),
     * then logs every backend's final counters and the drops by reason. Idempotent: SIGTERM's hook and the command
     * that waited for the channels may both call it.
     */
    public void close() throws InterruptedException {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        if (announcer != null) {
            announcer.close();
        }
        health.close();
        if (admin != null) {
            admin.close();
        }
        for (Channel channel : channels) {
            channel.close().sync();
        }
        loop.shutdownGracefully(0, 2, TimeUnit.SECONDS).sync();
        DataPlaneTotals counters = new DataPlaneTotals(workers);
        for (Service service : services) {
            for (Backend backend : service.pool().all()) {
                LOG.info("stopped {}: backend {}: {} sessions, {} packets, {} bytes", service.name(),
                        Ipv4Address.format(backend.address()), counters.sessionsOpened(backend.id()),
                        counters.packets(backend.id()), counters.bytes(backend.id()));
            }
        }
        LOG.info("stopped: {} frames dropped {}", counters.totalDrops(), counters.dropsByReason());
    }
}
