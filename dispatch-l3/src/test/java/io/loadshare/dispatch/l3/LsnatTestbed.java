package io.loadshare.dispatch.l3;

import io.loadshare.core.mode.Arm;
import io.loadshare.core.config.CoreSettings;
import io.loadshare.core.netns.NetworkNamespace;
import io.loadshare.core.pipeline.DispatchPipeline;
import io.loadshare.core.pipeline.Service;
import io.loadshare.testbed.NetnsTestbed;
import io.loadshare.testbed.TestHttpServer;
import io.loadshare.transport.rawsocket.RawSocketAddress;
import io.loadshare.transport.rawsocket.RawSocketChannel;
import io.loadshare.transport.rawsocket.RawSocketChannelOption;
import io.loadshare.transport.rawsocket.SocketFilter;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * LSNAT testbeds in namespaces, veth offloads at their defaults.
 *
 * <pre>
 * two-armed:  cli 203.0.113.2 ── dc 203.0.113.1 [disp] ds 192.0.2.1 ── bridge ── bN 192.0.2.1N (gw 192.0.2.1)
 *             VIP 203.0.113.10, answered by the dispatcher's ARP responder
 * one-armed:  cli 203.0.113.2 (gw 203.0.113.1) ─┐
 *             disp d0 192.0.2.1 + 203.0.113.1 ──┼── bridge; bN 192.0.2.1N (gw 192.0.2.1); VIP 198.51.100.10
 *                                                 (clients route it via the dispatcher)
 * </pre>
 * With {@code backendsRouteToClients} false the backends get no default route (full NAT).
 */
final class LsnatTestbed implements AutoCloseable {
    final NetnsTestbed testbed = NetnsTestbed.create();
    final EventLoopGroup loop = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
    final EventLoopGroup servers = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
    final String client;
    final String dispatcher;
    final String lan;
    final List<String> backends = new ArrayList<>();
    final ChecksumVerifier verifier = new ChecksumVerifier();
    final boolean oneArmed;
    private final List<TestHttpServer> httpServers = new ArrayList<>();
    private final List<Channel> channels = new ArrayList<>();
    L3Dispatcher lsnat;

    LsnatTestbed(int backendCount, boolean oneArmed, boolean backendsRouteToClients) throws Exception {
        this.oneArmed = oneArmed;
        lan = testbed.namespace("lan");
        testbed.bridge(lan, "br0");
        client = testbed.namespace("cli");
        dispatcher = testbed.namespace("disp");
        testbed.sysctl(dispatcher, "net.ipv4.ip_forward", "0");
        testbed.sysctl(dispatcher, "net.ipv4.conf.all.send_redirects", "0");
        if (oneArmed) {
            link(client, "c0", "pc");
            testbed.address(client, "c0", "203.0.113.2/24");
            testbed.exec(client, "ip", "route", "add", "default", "via", "203.0.113.1");
            link(dispatcher, "d0", "pd");
            testbed.address(dispatcher, "d0", "192.0.2.1/24");
            testbed.address(dispatcher, "d0", "203.0.113.1/24");
        } else {
            testbed.veth(client, "c0", dispatcher, "dc");
            testbed.address(client, "c0", "203.0.113.2/24");
            testbed.address(dispatcher, "dc", "203.0.113.1/24");
            link(dispatcher, "ds", "pd");
            testbed.address(dispatcher, "ds", "192.0.2.1/24");
        }
        testbed.sysctl(client, "net.ipv4.ip_local_port_range", "1024 65535");
        for (int n = 1; n <= backendCount; n++) {
            String ns = testbed.namespace("b" + n);
            link(ns, "e0", "pb" + n);
            testbed.address(ns, "e0", "192.0.2.1" + n + "/24");
            if (backendsRouteToClients) {
                testbed.exec(ns, "ip", "route", "add", "default", "via", "192.0.2.1");
            }
            httpServers.add(TestHttpServer.start(servers, ns, "0.0.0.0", 80, "b" + n));
            httpServers.add(TestHttpServer.start(servers, ns, "0.0.0.0", 8080, "b" + n + ":8080"));
            backends.add(ns);
        }
    }

    private void link(String namespace, String inside, String port) {
        testbed.veth(namespace, inside, lan, port);
        testbed.exec(lan, "ip", "link", "set", port, "master", "br0");
    }

    /**
     * Binds a two-armed dispatcher's raw-socket channels in {@code namespace}, client arm first, and waits until every
     * service has a backend up.
     *
     * @return the client arm's and the backend arm's channels
     */
    static List<Channel> bindTwoArmed(EventLoopGroup loop, String namespace, L3Dispatcher lsnat, String clientArm,
            String backendArm) throws InterruptedException {
        Bootstrap bootstrap = new Bootstrap().group(loop)
                .channelFactory(() -> new RawSocketChannel(NetworkNamespace.named(namespace)))
                .option(RawSocketChannelOption.SOCKET_FILTER, SocketFilter.builder().acceptBroadcast(true).build());
        Channel client = bootstrap.clone().handler(lsnat.initializer(Arm.CLIENT))
                .bind(new RawSocketAddress(clientArm)).sync().channel();
        Channel backend = bootstrap.clone().handler(lsnat.initializer(Arm.BACKEND))
                .bind(new RawSocketAddress(backendArm)).sync().channel();
        for (Service service : lsnat.services()) {
            LsnatTwoArmedTest.awaitPool(service, pool -> pool.availableCount() > 0);
        }
        return List.of(client, backend);
    }

    static CoreSettings fastLinger() {
        return CoreSettings.from(com.typesafe.config.ConfigFactory.parseString(
                "io.loadshare.core.session { tcp-linger = 300ms, sweep-interval = 50ms, sweep-cycle = 200ms }"));
    }

    /** Starts the dispatcher's raw-socket channels, with the checksum verifier before each emitter. */
    void start(L3Dispatcher dispatcherState) throws Exception {
        start(dispatcherState, interfaceName -> new Bootstrap().group(loop)
                .channelFactory(() -> new RawSocketChannel(NetworkNamespace.named(dispatcher)))
                // The ARP responder must see broadcast ARP requests for the addresses it answers for.
                .option(RawSocketChannelOption.SOCKET_FILTER, SocketFilter.builder().acceptBroadcast(true).build())
                .localAddress(new RawSocketAddress(interfaceName)));
    }

    /** Starts the dispatcher's channels from the bootstraps {@code transport} makes per interface. */
    void start(L3Dispatcher dispatcherState, Function<String, Bootstrap> transport) throws Exception {
        lsnat = dispatcherState;
        L3Dispatcher.checkForwarding(NetworkNamespace.named(dispatcher));
        if (oneArmed) {
            bind(transport.apply("d0"), Arm.BOTH);
        } else {
            // Client arm first, as the L3Dispatcher example does: arms may be bound in any order.
            bind(transport.apply("dc"), Arm.CLIENT);
            bind(transport.apply("ds"), Arm.BACKEND);
        }
    }

    private void bind(Bootstrap bootstrap, Arm arm) throws InterruptedException {
        L3DispatchInitializer initializer = lsnat.initializer(arm);
        Channel channel = bootstrap
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(initializer);
                        ch.pipeline().addLast(new ChannelInitializer<Channel>() {
                            @Override
                            protected void initChannel(Channel inner) {
                                inner.pipeline().addBefore(DispatchPipeline.EMITTER, "verifier", verifier);
                            }
                        });
                    }
                })
                .bind().sync().channel();
        channels.add(channel);
    }

    /** Runs n one-connection requests to a URL from the client; returns each answer. */
    List<String> requests(String url, int n) {
        List<String> command = new ArrayList<>(List.of("curl", "-s", "--max-time", "5", "-H", "Connection: close"));
        for (int i = 0; i < n; i++) {
            command.add(url);
        }
        return List.of(testbed.exec(client, command.toArray(String[]::new)).split("\n"));
    }

    <T> T onLoop(java.util.concurrent.Callable<T> read) throws Exception {
        return loop.next().submit(read).get(5, TimeUnit.SECONDS);
    }

    @Override
    public void close() throws Exception {
        for (Channel channel : channels) {
            channel.close().sync();
        }
        for (TestHttpServer server : httpServers) {
            server.close();
        }
        loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        servers.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        testbed.close();
    }
}
