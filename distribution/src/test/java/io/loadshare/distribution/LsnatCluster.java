package io.loadshare.distribution;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loadshare.testbed.NetnsTestbed;
import io.loadshare.testbed.TestHttpServer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A client at 203.0.113.100 and three backends at 192.0.2.1N, each serving HTTP ("bN") and a hashing sink.
 * Two-armed: the client on the dispatcher's d0 (203.0.113.1), the backends on a bridge with its d1
 * (192.0.2.1). One-armed: all on one bridge with d0, which holds both addresses, and the backends route the
 * clients' network through it.
 */
final class LsnatCluster implements AutoCloseable {
    static final String VIP = "198.51.100.20";

    final NetnsTestbed testbed = NetnsTestbed.create();
    final String client;
    final String dispatcher;
    final List<String> backends = new ArrayList<>();
    private final String lan;
    private final boolean twoArmed;
    private final EventLoopGroup servers = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
    private final List<TestHttpServer> httpServers = new ArrayList<>();
    private final List<OffloadChecks.Sink> sinks = new ArrayList<>();

    /** @param sinkDelay how long the sinks wait after the client's FIN before they answer */
    LsnatCluster(boolean twoArmed, Duration sinkDelay) throws Exception {
        NetnsTestbed.requireRoot();
        this.twoArmed = twoArmed;
        lan = testbed.namespace("lan");
        testbed.bridge(lan, "br0");
        client = testbed.namespace("cli");
        dispatcher = testbed.namespace("disp");
        testbed.sysctl(dispatcher, "net.ipv4.ip_forward", "0");
        if (twoArmed) {
            testbed.veth(client, "c0", dispatcher, "d0");
            join(lan, dispatcher, "d1", "pd");
            testbed.address(dispatcher, "d1", "192.0.2.1/24");
        } else {
            join(lan, client, "c0", "pc");
            join(lan, dispatcher, "d0", "pd");
            testbed.address(dispatcher, "d0", "192.0.2.1/24");
        }
        testbed.address(client, "c0", "203.0.113.100/24");
        testbed.address(dispatcher, "d0", "203.0.113.1/24");
        testbed.exec(client, "ip", "route", "add", VIP + "/32", "via", "203.0.113.1");
        testbed.sysctl(client, "net.ipv4.ip_local_port_range", "1024 65535");
        testbed.sysctl(client, "net.ipv4.tcp_tw_reuse", "1");
        for (int n = 1; n <= 3; n++) {
            String backend = testbed.namespace("b" + n);
            backends.add(backend);
            join(lan, backend, "e0", "pb" + n);
            testbed.address(backend, "e0", "192.0.2.1" + n + "/24");
            if (!twoArmed) {
                testbed.exec(backend, "ip", "route", "add", "203.0.113.0/24", "via", "192.0.2.1");
            }
            httpServers.add(TestHttpServer.start(servers, backend, "0.0.0.0", 80, "b" + n));
            sinks.add(OffloadChecks.Sink.start(backend, sinkDelay));
        }
    }

    /**
     * A second one-armed dispatcher beside the first, as in a tier: its d0 holds 192.0.2.2 and 203.0.113.2 (the
     * client reaches the VIP through it once its route says so).
     */
    String secondDispatcher() {
        if (twoArmed) {
            throw new IllegalStateException("a second dispatcher joins a one-armed cluster");
        }
        String second = testbed.namespace("disp2");
        testbed.sysctl(second, "net.ipv4.ip_forward", "0");
        join(lan, second, "d0", "pd2");
        testbed.address(second, "d0", "192.0.2.2/24");
        testbed.address(second, "d0", "203.0.113.2/24");
        return second;
    }

    private void join(String lan, String namespace, String inside, String outside) {
        testbed.veth(namespace, inside, lan, outside);
        testbed.exec(lan, "ip", "link", "set", outside, "master", "br0");
    }

    /**
     * A configuration with a web service on port 80 and a sink on 9000, over the three backends.
     *
     * @param settings HOCON lines outside the {@code loadshare} block
     * @param mode HOCON lines inside it
     * @param serviceExtra keys added to each service
     */
    Path config(Path dir, String settings, String mode, String serviceExtra) throws Exception {
        String backendList = "backends = [ \"192.0.2.11\", \"192.0.2.12\", \"192.0.2.13\" ], " + serviceExtra;
        return Files.writeString(dir.resolve("lsnat.conf"), """
                loadshare {
                  %s
                  network-namespace = "%s"
                  admin.port = 0
                  services = [
                    { name = web, address = "%s", port = 80, scheduler = rr, %s }
                    { name = sink, address = "%s", port = %d, scheduler = rr, %s }
                  ]
                }
                %s
                io.loadshare.dispatch.l3.arp.interval = 200ms
                io.loadshare.core.session { tcp-idle-timeout = 1s, tcp-linger = 200ms, sweep-interval = 50ms,
                  sweep-cycle = 200ms }
                """.formatted(mode, dispatcher, VIP, backendList, VIP, OffloadChecks.SINK_PORT, backendList, settings));
    }

    /** Waits until the sessions of earlier steps have ended. */
    void awaitQuiet(Dispatcher running) throws InterruptedException {
        long quiet = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (running.context().sessions().size() > 0) {
            assertTrue(System.nanoTime() < quiet, "earlier sessions never ended");
            Thread.sleep(20);
        }
    }

    @Override
    public void close() throws Exception {
        for (TestHttpServer server : httpServers) {
            server.close();
        }
        for (OffloadChecks.Sink sink : sinks) {
            sink.close();
        }
        servers.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        testbed.close();
    }
}
