package io.loadshare.distribution;

import io.loadshare.core.backend.Backend;
import io.loadshare.core.backend.BackendState;
import io.loadshare.core.netns.NetworkNamespace;
import io.loadshare.core.packet.Ipv4Address;
import io.loadshare.core.packet.MacAddress;
import io.loadshare.core.pipeline.Service;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Active health checks, as keepalived does them: every interval each backend gets a TCP connect, or an HTTP GET
 * whose status line must carry the expected status, within the timeout. {@code fall} failures in a row take a
 * backend out of the pool; {@code rise} passes in a row bring it back. Each transition is logged. Runs on its own
 * event loop, opening its sockets in the dispatcher's network namespace.
 *
 * <p>Backends discovered by ARP all hold the cluster address, so a connect cannot choose one: each is probed by a
 * {@link SynProbe} sent to its MAC instead (the {@code tcp} check; an {@code http} one needs backends of their own
 * addresses, and the configuration refuses it).
 */
final class HealthChecker implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(HealthChecker.class);

    /** How a service's backends are checked. */
    record Settings(String type, long intervalMillis, long timeoutMillis, int rise, int fall, String httpPath,
            int expectedStatus, boolean keepSessions) {
        /** The state a failing backend is held in. */
        BackendState failingState() {
            return keepSessions ? BackendState.DRAINING : BackendState.DOWN;
        }
    }

    /** What one backend's checks have shown so far. */
    private static final class Record {
        boolean healthy = true;
        int passes;
        int failures;
    }

    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
    private final NetworkNamespace namespace;
    private final String probeInterface;
    private final int probeVlan;
    private final List<Integer> clusterAddresses;
    private final Map<String, Record> records = new HashMap<>();
    private final Map<Integer, ScheduledFuture<?>> checks = new ConcurrentHashMap<>();
    /** Opened by the first discovered service that is checked; read on the loop. */
    private volatile SynProbe synProbe;

    /**
     * @param probeInterface where discovered backends are probed: the interface ARP discovery runs on
     * @param probeVlan that interface's VLAN, or 0
     * @param clusterAddresses every service address, the only sources a probe's answer may come from
     */
    HealthChecker(NetworkNamespace namespace, String probeInterface, int probeVlan, List<Integer> clusterAddresses) {
        this.namespace = namespace;
        this.probeInterface = probeInterface;
        this.probeVlan = probeVlan;
        this.clusterAddresses = List.copyOf(clusterAddresses);
    }

    /**
     * Opens what checking a service will need before {@link #watch} runs it: for a service of discovered backends,
     * the SYN probe's socket.
     *
     * @throws IOException when the probe cannot be sent, saying why (the interface has no IPv4 address)
     */
    synchronized void prepare(DispatcherConfig.ServiceConfig service) throws IOException, InterruptedException {
        if (service.healthCheck() != null && service.backends().isEmpty() && synProbe == null) {
            synProbe = SynProbe.open((EventLoop) group.next(), namespace, probeInterface, probeVlan, clusterAddresses);
        }
    }

    /**
     * Starts checking a service's backends, or goes on with other settings (a reload), keeping what earlier checks
     * found so that a failed backend stays out. With null, stops, and hands every backend the checks held out back to
     * its source.
     */
    void watch(Service service, Settings settings) {
        ScheduledFuture<?> previous = settings == null ? checks.remove(service.index())
                : checks.put(service.index(), group.scheduleAtFixedRate(() -> {
                    for (Backend backend : service.pool().all()) {
                        check(service, backend, settings);
                    }
                    forgetDeparted(service);
                }, settings.intervalMillis(), settings.intervalMillis(), TimeUnit.MILLISECONDS));
        if (previous != null) {
            previous.cancel(false);
        }
        if (settings == null) {
            group.execute(() -> {
                records.keySet().removeIf(key -> key.startsWith(service.index() + "/"));
                for (Backend backend : service.pool().all()) {
                    service.health(backend.id(), null);
                }
            });
        }
    }

    /**
     * Drops what earlier checks found of backends that are no longer in the pool: discovered backends come and go
     * with their MACs, and a record kept for every one ever seen would grow without end.
     */
    private void forgetDeparted(Service service) {
        Set<String> current = new HashSet<>();
        for (Backend backend : service.pool().all()) {
            current.add(key(service, backend));
        }
        records.keySet().removeIf(key -> key.startsWith(service.index() + "/") && !current.contains(key));
    }

    /** Records held now, read on the checker's loop. */
    int records() throws InterruptedException, java.util.concurrent.ExecutionException {
        return group.submit(records::size).get();
    }

    private static String key(Service service, Backend backend) {
        return service.index() + "/" + backend.id() + "/" + identity(service, backend);
    }

    private void check(Service service, Backend backend, Settings settings) {
        int port = backend.serverPort(service.port());
        if (discovered(service, backend)) {
            synProbe.probe(service.address(), port, backend.mac(), settings.timeoutMillis())
                    .addListener(f -> record(service, backend, settings, (Boolean) f.getNow()));
            return;
        }
        InetSocketAddress target = new InetSocketAddress(Ipv4Address.toInetAddress(backend.address()), port);
        Promise<Boolean> verdict = group.next().newPromise();
        Bootstrap bootstrap = new Bootstrap().group(group).channel(EpollSocketChannel.class)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) settings.timeoutMillis())
                .handler(new Probe(settings, verdict));
        verdict.addListener(f -> record(service, backend, settings, (Boolean) f.getNow()));
        ChannelFuture connect;
        try {
            // The socket belongs to the namespace of the thread that creates it, here inside connect().
            connect = namespace == null ? bootstrap.connect(target) : namespace.run(() -> bootstrap.connect(target));
        } catch (IOException e) {
            verdict.trySuccess(false);
            return;
        }
        connect.addListener(f -> {
            if (!f.isSuccess()) {
                verdict.trySuccess(false);
            } else if (settings.type().equals("tcp")) {
                verdict.trySuccess(true);
                connect.channel().close();
            } else {
                connect.channel().writeAndFlush(Unpooled.copiedBuffer("GET " + settings.httpPath()
                        + " HTTP/1.0\r\nHost: " + target.getHostString() + "\r\n\r\n", StandardCharsets.US_ASCII));
            }
        });
        Channel channel = connect.channel();
        group.schedule(() -> {
            verdict.trySuccess(false);
            channel.close();
        }, settings.timeoutMillis(), TimeUnit.MILLISECONDS);
    }

    /** Reads an HTTP status line and judges it. */
    private static final class Probe extends ChannelInboundHandlerAdapter {
        private final Settings settings;
        private final Promise<Boolean> verdict;
        private final StringBuilder head = new StringBuilder();

        Probe(Settings settings, Promise<Boolean> verdict) {
            this.settings = settings;
            this.verdict = verdict;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf bytes = (ByteBuf) msg;
            head.append(bytes.toString(StandardCharsets.US_ASCII));
            bytes.release();
            int end = head.indexOf("\r\n");
            if (end >= 0) {
                String[] status = head.substring(0, end).split(" ");
                verdict.trySuccess(status.length > 1 && status[1].equals(Integer.toString(settings.expectedStatus())));
                ctx.close();
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            verdict.trySuccess(false);
            ctx.close();
        }
    }

    private void record(Service service, Backend backend, Settings settings, boolean passed) {
        Backend current = service.pool().byId(backend.id());
        if (current == null || !identity(service, current).equals(identity(service, backend))) {
            return; // left while the check ran; its id may already be another backend's
        }
        Record record = records.computeIfAbsent(key(service, backend), key -> new Record());
        if (passed) {
            record.failures = 0;
            if (!record.healthy && ++record.passes >= settings.rise()) {
                record.healthy = true;
                LOG.info("{}: backend {} passes its {} health check again: back in the pool", service.name(),
                        identity(service, backend), settings.type());
                service.health(backend.id(), null);
            }
        } else {
            record.passes = 0;
            if (record.healthy && ++record.failures >= settings.fall()) {
                record.healthy = false;
                LOG.warn("{}: backend {} failed its {} health check {} time(s) in a row: out of the pool, its"
                        + " sessions {}", service.name(), identity(service, backend), settings.type(),
                        record.failures, settings.keepSessions() ? "kept" : "ended");
                service.health(backend.id(), settings.failingState());
            }
        }
    }

    /** What tells backends apart when ids are reused: the address, or the MAC of one discovered on the VIP. */
    private static String identity(Service service, Backend backend) {
        return discovered(service, backend) ? MacAddress.format(backend.mac()) : Ipv4Address.format(backend.address());
    }

    /** A backend found by ARP for the cluster address, which it holds as an alias like every other one. */
    private static boolean discovered(Service service, Backend backend) {
        return backend.address() == service.address();
    }

    @Override
    public void close() throws InterruptedException {
        if (synProbe != null) {
            synProbe.close();
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }

    static List<String> types() {
        return List.of("tcp", "http");
    }
}
