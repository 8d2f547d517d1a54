package io.loadshare.distribution;

import io.loadshare.testbed.NetnsTestbed;
import io.loadshare.testbed.TestHttpServer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * An LSMAC cluster in namespaces on one bridge, for tests of the packaged dispatcher: a client at 192.0.2.100
 * routing the VIP via the dispatcher's 192.0.2.1 ({@code d0}), and backends at 192.0.2.1N holding the VIP on lo,
 * each with an HTTP server answering "bN". The backends answer ARP for their own addresses only (a static pool), or
 * also for the VIP (a pool discovered by ARP, the paper's set-up).
 */
final class LsmacCluster implements AutoCloseable {
    static final String VIP = "198.51.100.10";

    final NetnsTestbed testbed = NetnsTestbed.create();
    final String client;
    final String dispatcher;
    /** The backends' namespaces, b1 first. */
    final List<String> backends = new ArrayList<>();
    private final String lan;
    private final EventLoopGroup servers = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
    private final List<TestHttpServer> httpServers = new ArrayList<>();

    LsmacCluster(int backends) throws Exception {
        this(backends, false);
    }

    /** @param discoverable whether the backends answer ARP for the VIP, so that a dispatcher can discover them */
    LsmacCluster(int backends, boolean discoverable) throws Exception {
        lan = testbed.namespace("lan");
        testbed.bridge(lan, "br0");
        client = client("cli", "192.0.2.100");
        dispatcher = host("disp", "d0", "192.0.2.1");
        testbed.sysctl(client, "net.ipv4.ip_local_port_range", "1024 65535");
        testbed.sysctl(client, "net.ipv4.tcp_tw_reuse", "1");
        for (int n = 1; n <= backends; n++) {
            String backend = host("b" + n, "e0", "192.0.2.1" + n);
            this.backends.add(backend);
            testbed.address(backend, "lo", VIP + "/32");
            if (!discoverable) {
                testbed.sysctl(backend, "net.ipv4.conf.all.arp_ignore", "1");
            }
            testbed.sysctl(backend, "net.ipv4.conf.all.arp_announce", "2");
            httpServers.add(TestHttpServer.start(servers, backend, "0.0.0.0", 80, "b" + n));
        }
    }

    /** Stops backend {@code n}'s HTTP server (1 for b1): its port is closed, the host stays up. */
    void stopServer(int n) throws InterruptedException {
        httpServers.get(n - 1).close();
    }

    /** Starts backend {@code n}'s HTTP server again. */
    void startServer(int n) throws IOException {
        httpServers.set(n - 1, TestHttpServer.start(servers, backends.get(n - 1), "0.0.0.0", 80, "b" + n));
    }

    /** A host's MAC on its veth into the bridge ({@code e0} for a backend), as status shows it. */
    String mac(String namespace, String inside) {
        return testbed.exec(namespace, "cat", "/sys/class/net/" + inside + "/address").trim();
    }

    /** Which backends answered {@code n} HTTP requests from {@code client} to the VIP, one connection each. */
    Map<String, Long> spread(String client, int n) {
        List<String> command = new ArrayList<>(List.of("curl", "-s", "--max-time", "5"));
        for (int i = 0; i < n; i++) {
            command.add("http://" + VIP + "/");
        }
        return List.of(testbed.exec(client, command.toArray(String[]::new)).split("\n")).stream()
                .collect(Collectors.groupingBy(answer -> answer, TreeMap::new, Collectors.counting()));
    }

    /** Another client at {@code address}, routing the VIP via the dispatcher as the first one does. */
    String client(String name, String address) {
        String namespace = host(name, "c0", address);
        testbed.exec(namespace, "ip", "route", "add", VIP + "/32", "via", "192.0.2.1");
        return namespace;
    }

    /** Another host on the bridge, at {@code address}/24 on its veth {@code inside}. */
    String host(String name, String inside, String address) {
        String namespace = testbed.namespace(name);
        testbed.veth(namespace, inside, lan, "p" + name);
        testbed.exec(lan, "ip", "link", "set", "p" + name, "master", "br0");
        testbed.address(namespace, inside, address + "/24");
        return namespace;
    }

    /** Waits until a running dispatcher's first service has {@code backends} backends taking sessions. */
    static void awaitResolved(Dispatcher running, int backends) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (running.services().getFirst().pool().availableCount() < backends) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("backends never resolved: " + running.services().getFirst().pool());
            }
            Thread.sleep(50);
        }
    }

    @Override
    public void close() throws Exception {
        for (TestHttpServer server : httpServers) {
            server.close();
        }
        servers.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        testbed.close();
    }
}
