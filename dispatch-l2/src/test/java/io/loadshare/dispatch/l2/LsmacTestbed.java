package io.loadshare.dispatch.l2;

import io.loadshare.core.config.CoreSettings;
import io.loadshare.core.netns.NetworkNamespace;
import io.loadshare.core.testing.NetnsTestbed;
import io.loadshare.core.testing.TestHttpServer;
import io.loadshare.transport.rawsocket.RawSocketAddress;
import io.loadshare.transport.rawsocket.RawSocketChannel;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The paper's LSMAC testbed in namespaces, all on one bridge with veth offloads at their defaults:
 *
 * <pre>
 *   cli 192.0.2.100 ── route 198.51.100.10 via 192.0.2.1
 *   disp 192.0.2.1  ── the LSMAC pipeline on a RawSocketChannel (does not hold the VIP, ip_forward off)
 *   bN  192.0.2.1N  ── holds the VIP 198.51.100.10 and runs an HTTP server answering "bN"
 * </pre>
 * With {@code vipOnLo} the backends hold the VIP on lo with arp_ignore=1/arp_announce=2 (a static pool);
 * otherwise as a secondary address on their LAN interface, so that they answer the dispatcher's ARP (discovery).
 */
final class LsmacTestbed implements AutoCloseable {
    static final String VIP = "198.51.100.10";
    static final String DISPATCHER = "192.0.2.1";
    static final String CLIENT = "192.0.2.100";

    final NetnsTestbed testbed = NetnsTestbed.create();
    final EventLoopGroup loop = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
    final EventLoopGroup servers = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
    final String lan;
    final String client;
    final String dispatcher;
    final Map<Integer, String> backends = new HashMap<>();
    private final List<TestHttpServer> httpServers = new ArrayList<>();
    private final boolean vipOnLo;
    Channel channel;
    L2DispatchInitializer lsmac;

    LsmacTestbed(int backendCount, boolean vipOnLo) throws Exception {
        this.vipOnLo = vipOnLo;
        lan = testbed.namespace("lan");
        testbed.bridge(lan, "br0");
        client = host("cli", "c0", "pc", CLIENT);
        testbed.exec(client, "ip", "route", "add", VIP + "/32", "via", DISPATCHER);
        testbed.sysctl(client, "net.ipv4.ip_local_port_range", "1024 65535");
        dispatcher = host("disp", "d0", "pd", DISPATCHER);
        for (int n = 1; n <= backendCount; n++) {
            addBackend(n);
        }
    }

    private String host(String name, String inside, String port, String address) {
        String ns = testbed.namespace(name);
        testbed.veth(ns, inside, lan, port);
        testbed.exec(lan, "ip", "link", "set", port, "master", "br0");
        testbed.address(ns, inside, address + "/24");
        return ns;
    }

    /** Adds backend bN at 192.0.2.1N, holding the VIP, with its HTTP server. */
    void addBackend(int n) throws Exception {
        String ns = host("b" + n, "e0", "pb" + n, "192.0.2.1" + n);
        testbed.sysctl(ns, "net.ipv4.conf.all.arp_ignore", "1");
        testbed.sysctl(ns, "net.ipv4.conf.all.arp_announce", "2");
        testbed.address(ns, vipOnLo ? "lo" : "e0", VIP + "/32");
        httpServers.add(TestHttpServer.start(servers, ns, "0.0.0.0", 80, "b" + n));
        backends.put(n, ns);
    }

    /** Takes the VIP away from backend n, so that it stops answering ARP for it. */
    void removeVip(int n) {
        testbed.exec(backends.get(n), "ip", "addr", "del", VIP + "/32", "dev", vipOnLo ? "lo" : "e0");
    }

    /** Starts the dispatcher on d0 with the given LSMAC pipeline. */
    void startDispatcher(L2DispatchInitializer initializer) throws Exception {
        lsmac = initializer;
        channel = new Bootstrap().group(loop)
                .channelFactory(() -> new RawSocketChannel(NetworkNamespace.named(dispatcher)))
                .handler(initializer).bind(new RawSocketAddress("d0")).sync().channel();
    }

    static CoreSettings fastLinger() {
        return CoreSettings.from(com.typesafe.config.ConfigFactory.parseString(
                "io.loadshare.core.session { tcp-linger = 300ms, sweep-interval = 50ms, sweep-cycle = 200ms }"));
    }

    /** Runs n one-connection requests through the VIP with curl; returns each answer. */
    List<String> requests(int n) {
        List<String> urls = new ArrayList<>(List.of("curl", "-s", "--max-time", "5", "-H", "Connection: close"));
        for (int i = 0; i < n; i++) {
            urls.add("http://" + VIP + "/");
        }
        String output = testbed.exec(client, urls.toArray(String[]::new));
        return List.of(output.split("\n"));
    }

    /** Reads a value on the dispatcher's event loop, where the session table lives. */
    <T> T onLoop(java.util.concurrent.Callable<T> read) throws Exception {
        return channel.eventLoop().submit(read).get(5, TimeUnit.SECONDS);
    }

    @Override
    public void close() throws Exception {
        if (channel != null) {
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
