package io.loadshare.dispatch.l2;

import io.loadshare.core.mode.Arm;
import io.loadshare.core.config.CoreSettings;
import io.loadshare.core.netns.NetworkNamespace;
import io.loadshare.testbed.NetnsTestbed;
import io.loadshare.testbed.TestHttpServer;
import io.loadshare.transport.rawsocket.RawSocketAddress;
import io.loadshare.transport.rawsocket.RawSocketChannel;
import io.loadshare.transport.rawsocket.RawSocketChannelOption;
import io.loadshare.transport.rawsocket.SocketFilter;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
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
 *
 * <p>With a {@code vlan}, the dispatcher sits on an 802.1Q trunk instead of the bridge. This kernel has neither VLAN
 * devices nor a VLAN-filtering bridge, so a switch namespace plays the switch: its access port {@code sa} (on the
 * bridge, untagged) and trunk port {@code st} (to the dispatcher's {@code d0}, VLAN {@code vlan} tagged) are
 * joined by two raw-socket channels. The client reaches the dispatcher by a static ARP entry: the dispatcher's
 * kernel, which has no interface on the VLAN, answers nothing that arrives tagged.
 * <pre>
 *   cli, bN ── br0 ── sa [sw] st ══ trunk, VLAN tagged ══ d0 [disp]
 * </pre>
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
    private final int vlan;
    private final List<Channel> switchPorts = new ArrayList<>();
    Channel channel;
    L2Dispatcher lsmac;

    LsmacTestbed(int backendCount, boolean vipOnLo) throws Exception {
        this(backendCount, vipOnLo, 0);
    }

    LsmacTestbed(int backendCount, boolean vipOnLo, int vlan) throws Exception {
        this.vipOnLo = vipOnLo;
        this.vlan = vlan;
        lan = testbed.namespace("lan");
        testbed.bridge(lan, "br0");
        client = host("cli", "c0", "pc", CLIENT);
        testbed.exec(client, "ip", "route", "add", VIP + "/32", "via", DISPATCHER);
        testbed.sysctl(client, "net.ipv4.ip_local_port_range", "1024 65535");
        if (vlan == 0) {
            dispatcher = host("disp", "d0", "pd", DISPATCHER);
        } else {
            dispatcher = testbed.namespace("disp");
            String sw = testbed.namespace("sw");
            testbed.veth(dispatcher, "d0", sw, "st");
            // The two hosts' own stacks would send IPv6 multicast reports untagged onto the trunk.
            testbed.sysctl(dispatcher, "net.ipv6.conf.d0.disable_ipv6", "1");
            testbed.sysctl(sw, "net.ipv6.conf.st.disable_ipv6", "1");
            testbed.address(dispatcher, "d0", DISPATCHER + "/24");
            testbed.veth(sw, "sa", lan, "psw");
            testbed.exec(lan, "ip", "link", "set", "psw", "master", "br0");
            testbed.exec(client, "ip", "neigh", "replace", DISPATCHER, "lladdr", testbed.mac(dispatcher, "d0"), "dev",
                    "c0");
            startSwitch(sw);
        }
        for (int n = 1; n <= backendCount; n++) {
            addBackend(n);
        }
    }

    /** Joins the switch's access port (untagged) and trunk port (tagged with {@link #vlan}) in both directions. */
    private void startSwitch(String sw) throws InterruptedException {
        testbed.exec(sw, "ip", "link", "set", "sa", "promisc", "on");
        testbed.exec(sw, "ip", "link", "set", "st", "promisc", "on");
        Channel[] ports = new Channel[2];
        for (int i = 0; i < 2; i++) {
            int other = 1 - i;
            Bootstrap bootstrap = new Bootstrap().group(loop)
                    .channelFactory(() -> new RawSocketChannel(NetworkNamespace.named(sw)))
                    .option(RawSocketChannelOption.SOCKET_FILTER, SocketFilter.acceptAll())
                    .handler(new ChannelInboundHandlerAdapter() {
                        // A frame that arrives before the other port is bound has nowhere to go: dropped.
                        @Override
                        public void channelRead(ChannelHandlerContext ctx, Object msg) {
                            Channel out = ports[other];
                            if (out == null) {
                                io.netty.util.ReferenceCountUtil.release(msg);
                                return;
                            }
                            out.write(msg, out.voidPromise());
                        }

                        @Override
                        public void channelReadComplete(ChannelHandlerContext ctx) {
                            Channel out = ports[other];
                            if (out != null) {
                                out.flush();
                            }
                        }
                    });
            if (i == 1) {
                bootstrap.option(RawSocketChannelOption.VLAN, vlan);
            }
            ports[i] = bootstrap.bind(new RawSocketAddress(i == 0 ? "sa" : "st")).sync().channel();
            switchPorts.add(ports[i]);
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

    /** Starts the dispatcher on d0 with the given LSMAC pipeline (serving the trunk's VLAN, when there is one). */
    void startDispatcher(L2Dispatcher initializer) throws Exception {
        lsmac = initializer;
        channel = new Bootstrap().group(loop)
                .channelFactory(() -> new RawSocketChannel(NetworkNamespace.named(dispatcher)))
                .option(RawSocketChannelOption.VLAN, vlan)
                .handler(initializer.initializer(Arm.BOTH)).bind(new RawSocketAddress("d0")).sync().channel();
    }

    /** Sessions that end soon after the client's FIN: LSMAC ends them by the half-closed timeout. */
    static CoreSettings fastSessionEnds() {
        return CoreSettings.from(com.typesafe.config.ConfigFactory.parseString("io.loadshare.core.session {"
                + " tcp-linger = 300ms, tcp-half-closed-timeout = 300ms, sweep-interval = 50ms, sweep-cycle = 200ms }"));
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
        for (Channel port : switchPorts) {
            port.close().sync();
        }
        for (TestHttpServer server : httpServers) {
            server.close();
        }
        loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        servers.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        testbed.close();
    }
}
