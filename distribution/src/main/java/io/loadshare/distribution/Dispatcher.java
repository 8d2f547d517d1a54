package io.loadshare.distribution;

import io.loadshare.core.mode.Arm;
import io.loadshare.core.mode.DispatchMode;
import io.loadshare.core.netns.NetworkNamespace;
import io.loadshare.core.packet.EtherType;
import io.loadshare.core.pipeline.DispatchContext;
import io.loadshare.core.pipeline.Service;
import io.loadshare.distribution.announce.Announcer;
import io.loadshare.distribution.announce.Heartbeat;
import io.loadshare.offload.FastPaths;
import io.loadshare.offload.KernelFlowOffload;
import io.loadshare.offload.OffloadSettings;
import io.loadshare.sync.SessionSync;
import io.loadshare.transport.rawsocket.RawSocketChannel;
import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running dispatcher: the {@link DispatchMode} a {@link DispatcherConfig} names, on raw-socket channels, run by
 * {@code loadshare.workers} event loops, with its health checks, admin listener and announcements. It keeps the
 * lifecycle (start, reload, drain, close) and knows nothing of what a mode does with frames.
 */
public final class Dispatcher implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Dispatcher.class);

    private final EventLoopGroup loop;
    private final List<Channel> channels;
    private final DispatchMode mode;
    private final ConfigReload reloads;
    private final HealthChecker health;
    /** The fast path, or null when every packet goes through the pipeline. */
    private final KernelFlowOffload offload;
    /** Session sync and the hand-over to the next process; null when neither is configured. */
    private final SessionSync sync;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final AtomicBoolean draining = new AtomicBoolean();
    private AdminServer admin;
    /** Announces the service addresses to the routing daemon; null unless announce.enabled. */
    private Announcer announcer;

    private Dispatcher(DispatcherConfig config, EventLoopGroup loop, List<Channel> channels, DispatchMode mode,
            HealthChecker health, KernelFlowOffload offload, SessionSync sync) {
        this.loop = loop;
        this.sync = sync;
        this.channels = channels;
        this.mode = mode;
        this.health = health;
        this.offload = offload;
        this.reloads = new ConfigReload(config, mode, health);
    }

    /** Opens the interfaces and starts dispatching. */
    public static Dispatcher start(DispatcherConfig config) throws IOException, InterruptedException {
        NetworkNamespace namespace = config.networkNamespace().isEmpty() ? null
                : NetworkNamespace.named(config.networkNamespace());
        DispatchMode mode = DispatchModes.build(config, config.workers(), Map.of());
        mode.checkHost(namespace);
        // Before the data plane runs: the workers journal from their first session and see the standby sessions.
        SessionSync sync = config.sync().keepsSessions() ? SessionSync.prepare(config.sync(), mode.contexts(),
                mode::services, config.core().session(), config.core().session().tcpIdleTimeout()) : null;
        EventLoopGroup loop = new MultiThreadIoEventLoopGroup(config.workers(), EpollIoHandler.newFactory());
        List<EventLoop> loops = new ArrayList<>();
        loop.forEach(executor -> loops.add((EventLoop) executor));
        // A socket for every protocol copies a frame before tc redirects it: with a fast path at tc, IPv4 alone.
        boolean fastPath = config.offload().mode() != OffloadSettings.Mode.OFF;
        WorkerChannels opened = new WorkerChannels(config, namespace, mode,
                fastPath && mode.fastPathHook() == DispatchMode.FastPathHook.TC ? EtherType.IPV4 : 0);
        Dispatcher dispatcher;
        try {
            for (int w = 0; w < config.workers(); w++) {
                opened.open(w, loops.get(w));
            }
            List<Arm> arms = opened.arms();
            KernelFlowOffload offload = FastPaths.attach(mode, namespace, opened.attachPoint(arms.getFirst()),
                    opened.attachPoint(arms.getLast()), config.clientVlan() != 0 || config.backendVlan() != 0,
                    config.offload(), config.core().maxBackendId());
            dispatcher = new Dispatcher(config, loop, opened.channels(), mode, new HealthChecker(namespace,
                    config.clientInterface(), config.clientVlan(), mode.clusterAddresses()), offload, sync);
        } catch (InterruptedException | RuntimeException e) {
            opened.closeAll();
            if (sync != null) {
                sync.close();
            }
            loop.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            throw e;
        }
        try {
            dispatcher.serve(config, namespace, opened.sockets());
        } catch (IOException | InterruptedException | RuntimeException e) {
            dispatcher.close();
            throw e;
        }
        return dispatcher;
    }

    /** Starts what surrounds the data plane: the admin listener, the health checks, and last the announcements. */
    private void serve(DispatcherConfig config, NetworkNamespace namespace, List<DispatcherView.Socket> sockets)
            throws IOException, InterruptedException {
        if (sync != null) {
            sync.start(namespace);
        }
        if (config.admin().enabled()) {
            DispatcherView view = new DispatcherView(mode.services(), () -> reloads.running().services(),
                    mode.contexts(), sockets, offload, this::announced, sync == null ? null : sync::status);
            admin = new AdminServer(view, this::reload, this::drain, config.admin());
            LOG.info("admin and metrics on http://{}:{}/ (/metrics, /status, POST /reload, POST /drain)",
                    config.admin().address(), admin.address().getPort());
        }
        LOG.info("dispatching {} for {} service(s) with {} worker(s) on {}", mode.name(), config.services().size(),
                config.workers(), channels);
        for (Service service : mode.services()) {
            HealthChecker.Settings check = config.services().get(service.index()).healthCheck();
            if (check != null) {
                health.prepare(config.services().get(service.index()));
                health.watch(service, check);
            }
        }
        // Last: the routers send traffic once the address is announced, so everything else must be up, and a
        // dispatcher that fails back must hold its peers' sessions first.
        if (config.sync().enabled()) {
            for (String line : sync.awaitInitialSync()) {
                LOG.info("session sync before announcing: {}", line);
            }
        }
        if (config.announce().enabled()) {
            announcer = Announcer.start(namespace, config.announce().interfacePrefix(), config.announce().interval(),
                    mode.services(), new Heartbeat(mode.contexts().stream().map(DispatchContext::eventLoop).toList(),
                            config.announce().stallTimeout()));
        }
    }

    /**
     * Re-reads the configuration file and swaps in what can change while sessions run ({@link ConfigReload}).
     *
     * @return what changed, one line each; empty when nothing did
     */
    public List<String> reload() {
        return reloads.reload();
    }

    /** The services, in configuration order, with their current pools. */
    public List<Service> services() {
        return mode.services();
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
        Duration timeout = reloads.running().announce().drainTimeout();
        DataPlaneTotals totals = new DataPlaneTotals(mode.contexts());
        Thread.ofPlatform().name("loadshare-drain").daemon().start(() -> {
            long deadline = System.nanoTime() + timeout.toNanos();
            try {
                int left;
                while ((left = totals.sessionsHeld()) > 0 && System.nanoTime() < deadline) {
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

    /** Whether each service address is announced now; empty unless announce.enabled. */
    public Map<String, Boolean> announced() {
        return announcer == null ? Map.of() : announcer.announced();
    }

    /** Session sync and the hand-over; null when neither is configured. */
    public SessionSync sync() {
        return sync;
    }

    /** The fast path, or null when every packet goes through the pipeline. */
    public KernelFlowOffload offload() {
        return offload;
    }

    /** The first worker's data-plane state: sessions and counters. */
    public DispatchContext context() {
        return mode.context();
    }

    /** Every worker's data-plane state, in worker order. */
    public List<DispatchContext> contexts() {
        return mode.contexts();
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

    /**
     * Stops: health checks and the admin listener first, then the channels (their sessions end, counted as flushed),
     * then logs every backend's final counters and the drops by reason. Idempotent: SIGTERM's hook and the command
     * that waited for the channels may both call it.
     */
    @Override
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
        if (sync != null) {
            try {
                sync.handOver();
            } catch (IOException e) {
                LOG.warn("could not hand the sessions over to the next process: {}", e.toString());
            }
            // Before the data plane stops: the peers see this dispatcher go at once, and one adopts its source-NAT
            // addresses while the backends' replies would otherwise reach a process that no longer reads them.
            sync.close();
        }
        for (Channel channel : channels) {
            channel.close().sync();
        }
        loop.shutdownGracefully(0, 2, TimeUnit.SECONDS).sync();
        new DataPlaneTotals(mode.contexts()).logFinal(mode.services());
    }
}
