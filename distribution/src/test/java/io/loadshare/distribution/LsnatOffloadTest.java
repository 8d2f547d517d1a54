package io.loadshare.distribution;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loadshare.core.backend.Backend;
import io.loadshare.core.netns.NetworkNamespace;
import io.loadshare.core.packet.Ipv4Address;
import io.loadshare.core.scheduler.SchedulerRegistry;
import io.loadshare.core.session.SessionEnd;
import io.loadshare.core.testing.NetnsTestbed;
import io.loadshare.core.testing.TestHttpServer;
import io.loadshare.distribution.bench.LoadGenerator;
import io.loadshare.offload.KernelFlowOffload;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * LSNAT with the tc fast path on ({@code io.loadshare.offload.mode = on}), through the packaged dispatcher, with
 * segmentation and checksum offloads on at every host. Two-armed full NAT: the dispatcher's own veths complete
 * checksums in software on transmit, so the backends and the client verify every one, including those the fast path
 * updated in a partial checksum; one-armed DNAT: offloads on everywhere. In both, 300 requests split exactly by round
 * robin while the pipeline sees only what opens and closes each session; 10 MB down and 10 MB up byte-exact, each
 * outlasting the idle timeout; a load run with client ports reused leaves no stale flow. Two-armed, a second
 * dispatcher is refused and stopping frees both arms; one-armed, a backend set down has its held download reset, a
 * draining one serves its download to the end while new sessions go elsewhere, a reload without a backend sends
 * new sessions to the others, and a stop leaves an open download to the client's own timeout.
 */
class LsnatOffloadTest {
    private static final String VIP = "198.51.100.20";
    private static final int TEN_MB = 10 * 1024 * 1024;

    @TempDir
    Path dir;

    @Test
    void twoArmedFullNat() throws Exception {
        try (Cluster cluster = new Cluster(true, Duration.ZERO)) {
            // Software checksums on the dispatcher's transmit: a wrong update of a partial checksum reaches a host
            // as a wrong checksum, which its stack drops.
            for (String arm : new String[] {"d0", "d1"}) {
                cluster.testbed.exec(cluster.dispatcher, "ethtool", "-K", arm, "tx", "off");
            }
            Path file = cluster.config(dir, """
                    mode = l3-fullnat
                    interfaces { client = d0, backend = d1 }
                    """, "source-nat-address = \"192.0.2.2\"");
            DispatcherConfig config = DispatcherConfig.load(file, SchedulerRegistry.load());
            try (Dispatcher running = Dispatcher.start(config)) {
                assertEquals("d0, d1", running.offload().interfaceName());
                cluster.exercise(running);
                String table = StatusTable.render(OffloadChecks.get(running, "/status"));
                assertTrue(table.contains("Fast path: tc on d0, d1, "), table);
                String metrics = OffloadChecks.get(running, "/metrics");
                assertTrue(metrics.contains("loadshare_offload_flow_events_total{event=\"installed\"} "
                        + running.offload().flowEvents(KernelFlowOffload.INSTALLED) + ".0\n"), metrics);

                IllegalStateException second = assertThrows(IllegalStateException.class,
                        () -> Dispatcher.start(config).close());
                assertTrue(second.getMessage().contains("other program(s) already attached"), second.getMessage());
            }
            // Stopping detached both programs: a new dispatcher finds both arms free.
            Dispatcher.start(config).close();
        }
    }

    @Test
    void oneArmed() throws Exception {
        try (Cluster cluster = new Cluster(false, Duration.ZERO)) {
            Path file = cluster.config(dir, """
                    mode = l3
                    interfaces.client = d0
                    """, "");
            try (Dispatcher running = Dispatcher.start(DispatcherConfig.load(file, SchedulerRegistry.load()))) {
                assertEquals("d0", running.offload().interfaceName());
                cluster.exercise(running);

                // A backend set down: the fast path stops carrying its flows, the pipeline ends them with a reset.
                cluster.awaitQuiet(running);
                Process held = cluster.testbed.start(cluster.client, "curl", "-s", "-o", "/dev/null", "--max-time",
                        "30", "--limit-rate", "1M", "http://" + VIP + "/bytes?n=40000000");
                Backend serving = OffloadChecks.awaitActive(running);
                OffloadChecks.post(running, "/backends/state?service=web&backend="
                        + Ipv4Address.format(serving.address()) + "&state=down");
                assertTrue(held.waitFor(10, TimeUnit.SECONDS), "the held download ended once its backend went down;"
                        + " drops " + running.context().counters().dropsByReason());
                assertTrue(held.exitValue() != 0, "the client was reset, not served to the end");
                OffloadChecks.post(running, "/backends/state?service=web&backend="
                        + Ipv4Address.format(serving.address()) + "&state=source");

                // A backend set draining keeps its flow in the kernel to the end; new sessions go elsewhere.
                cluster.awaitQuiet(running);
                Process kept = cluster.testbed.start(cluster.client, "curl", "-s", "-o", "/dev/null", "--max-time",
                        "30", "--limit-rate", "1M", "-w", "%{size_download} %{exitcode}",
                        "http://" + VIP + "/bytes?n=3000000");
                Backend draining = OffloadChecks.awaitActive(running);
                String drainingName = "b" + ((draining.address() & 0xFF) - 10);
                OffloadChecks.post(running, "/backends/state?service=web&backend="
                        + Ipv4Address.format(draining.address()) + "&state=draining");
                List<String> answers = OffloadChecks.requests(cluster.testbed, cluster.client, VIP, 20);
                assertEquals(20, answers.size(), "every request answered: " + answers);
                assertTrue(!answers.contains(drainingName), drainingName + " is draining: " + answers);
                assertTrue(kept.waitFor(15, TimeUnit.SECONDS), "the draining backend's download finished");
                assertEquals("3000000 0", new String(kept.getInputStream().readAllBytes()).trim(),
                        "served to the end by the draining backend");
                OffloadChecks.post(running, "/backends/state?service=web&backend="
                        + Ipv4Address.format(draining.address()) + "&state=source");

                // A reload without b3: new sessions go to b1 and b2 only.
                Files.writeString(file, Files.readString(file).replaceFirst(", \"192\\.0\\.2\\.13\" \\]", " ]"));
                running.reload();
                answers = OffloadChecks.requests(cluster.testbed, cluster.client, VIP, 20);
                assertEquals(20, answers.size(), "every request answered: " + answers);
                assertTrue(!answers.contains("b3") && answers.contains("b1") && answers.contains("b2"),
                        "b1 and b2 only after the reload: " + answers);

                // Stopped with a download open: nothing carries it on (no program left behind in the kernel), and
                // the client gives up at its own timeout rather than hanging.
                cluster.awaitQuiet(running);
                // 3 MB at 1 MB/s would finish well within curl's 10 s if anything still carried it.
                Process open = cluster.testbed.start(cluster.client, "curl", "-s", "-o", "/dev/null", "--max-time",
                        "10", "--limit-rate", "1M", "-w", "%{size_download} %{exitcode}",
                        "http://" + VIP + "/bytes?n=3000000");
                OffloadChecks.awaitActive(running);
                running.close();
                assertTrue(open.waitFor(20, TimeUnit.SECONDS), "the client gave up");
                String[] outcome = new String(open.getInputStream().readAllBytes()).trim().split(" ");
                assertEquals("28", outcome[1], "curl timed out (28) after the stop: " + String.join(" ", outcome));
                assertTrue(Long.parseLong(outcome[0]) < 3_000_000, "the download did not go on without the"
                        + " dispatcher: " + outcome[0]);
                // The backend still holds its end, its answer stuck in the socket: close it there.
                for (String backend : cluster.backends) {
                    cluster.testbed.exec(backend, "ss", "-K", "dst", "203.0.113.100");
                }
            }
        }
    }

    /**
     * A client that half-closes and waits for a slow answer (the sink answers 2 s after the client's FIN, ten times
     * the linger): the session lives half-closed while the backend has yet to answer, and the answer reaches the
     * client.
     */
    @Test
    void aHalfClosedClientGetsItsLateAnswer() throws Exception {
        try (Cluster cluster = new Cluster(false, Duration.ofSeconds(2))) {
            Path file = cluster.config(dir, """
                    mode = l3
                    interfaces.client = d0
                    """, "");
            try (Dispatcher running = Dispatcher.start(DispatcherConfig.load(file, SchedulerRegistry.load()))) {
                LsmacCluster.awaitResolved(running, 3);
                byte[] request = "a question that takes a while".getBytes(StandardCharsets.US_ASCII);
                long started = System.nanoTime();
                String answer = OffloadChecks.send(cluster.client, VIP, request);
                long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
                assertEquals(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(request)), answer,
                        "the answer, " + millis + " ms after the question; drops "
                        + running.context().counters().dropsByReason());
                assertTrue(millis >= 2000, "the sink answered late: " + millis + " ms");
            }
        }
    }

    /**
     * A client at 203.0.113.100 and three backends at 192.0.2.1N, each serving HTTP ("bN") and a hashing sink.
     * Two-armed: the client on the dispatcher's d0 (203.0.113.1), the backends on a bridge with its d1
     * (192.0.2.1). One-armed: all on one bridge with d0, which holds both addresses, and the backends route the
     * clients' network through it.
     */
    private static final class Cluster implements AutoCloseable {
        final NetnsTestbed testbed = NetnsTestbed.create();
        final String client;
        final String dispatcher;
        final List<String> backends = new ArrayList<>();
        private final EventLoopGroup servers = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        private final List<TestHttpServer> httpServers = new ArrayList<>();
        private final List<OffloadChecks.Sink> sinks = new ArrayList<>();

        /** @param sinkDelay how long the sinks wait after the client's FIN before they answer */
        Cluster(boolean twoArmed, Duration sinkDelay) throws Exception {
            NetnsTestbed.requireRoot();
            String lan = testbed.namespace("lan");
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

        private void join(String lan, String namespace, String inside, String outside) {
            testbed.veth(namespace, inside, lan, outside);
            testbed.exec(lan, "ip", "link", "set", outside, "master", "br0");
        }

        /** A configuration with a web service on port 80 and a sink on 9000, over the three backends. */
        Path config(Path dir, String mode, String serviceExtra) throws Exception {
            String backendList = "backends = [ \"192.0.2.11\", \"192.0.2.12\", \"192.0.2.13\" ], " + serviceExtra;
            return Files.writeString(dir.resolve("lsnat-offload.conf"), """
                    loadshare {
                      %s
                      network-namespace = "%s"
                      admin.port = 0
                      services = [
                        { name = web, address = "%s", port = 80, scheduler = rr, %s }
                        { name = sink, address = "%s", port = %d, scheduler = rr, %s }
                      ]
                    }
                    io.loadshare.offload.mode = on
                    io.loadshare.dispatch.l3.arp.interval = 200ms
                    io.loadshare.core.session { tcp-idle-timeout = 1s, tcp-linger = 200ms, sweep-interval = 50ms,
                      sweep-cycle = 200ms }
                    """.formatted(mode, dispatcher, VIP, backendList, VIP, OffloadChecks.SINK_PORT, backendList));
        }

        /** Waits until the sessions of earlier steps have ended. */
        void awaitQuiet(Dispatcher running) throws InterruptedException {
            long quiet = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (running.context().sessions().size() > 0) {
                assertTrue(System.nanoTime() < quiet, "earlier sessions never ended");
                Thread.sleep(20);
            }
        }

        /** Requests, downloads, uploads and load through a running dispatcher, checking which path carried them. */
        void exercise(Dispatcher running) throws Exception {
            LsmacCluster.awaitResolved(running, 3);
            KernelFlowOffload offload = running.offload();
            OffloadChecks.roundRobin300(testbed, client, VIP);
            OffloadChecks.Traffic requests = OffloadChecks.Traffic.of(running, 0);
            System.out.printf("LSNAT, 300 requests: pipeline forwarded %d frames, the fast path %d; flows installed"
                    + " %d, removed %d%n", requests.pipeline(), requests.fastPath(),
                    offload.flowEvents(KernelFlowOffload.INSTALLED), offload.flowEvents(KernelFlowOffload.REMOVED));
            assertEquals(300, offload.flowEvents(KernelFlowOffload.INSTALLED), "every session was handed over");
            // SYN, SYN-ACK (which hands the session over) and the two FINs; a retransmission now and then.
            assertTrue(requests.pipeline() <= 5 * 300, "the pipeline forwards only the opening and closing of each"
                    + " session: " + requests.pipeline());
            assertTrue(requests.fastPath() >= 300, "the requests and answers went through the kernel: "
                    + requests.fastPath());

            // 10 MB down: data and ACKs both cross the dispatcher, in the kernel.
            OffloadChecks.Traffic before = OffloadChecks.Traffic.of(running, 0);
            long started = System.nanoTime();
            String digest = testbed.exec(client, "sh", "-c", "curl -s --max-time 30 http://" + VIP + "/bytes?n="
                    + TEN_MB + " | sha256sum").split(" ")[0];
            assertEquals(OffloadChecks.patternDigest(TEN_MB), digest, "10 MB down, byte-exact");
            OffloadChecks.Traffic down = OffloadChecks.Traffic.of(running, 0).minus(before);
            System.out.printf("LSNAT, 10 MB down in %d ms: pipeline %d frames, fast path %d frames and %d bytes%n",
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started), down.pipeline(), down.fastPath(),
                    down.fastPathBytes());
            assertTrue(down.pipeline() <= 6, "one session: the pipeline saw its opening and closing only, "
                    + down.pipeline());
            // Less at most one GSO frame of 64 KB the pipeline may forward (a retransmission, say).
            assertTrue(down.fastPathBytes() >= TEN_MB - 65536, "the data went through the kernel: "
                    + down.fastPathBytes());

            // 10 MB up, paced to outlast the 1 s idle timeout.
            before = OffloadChecks.Traffic.of(running, 1);
            started = System.nanoTime();
            byte[] upload = new byte[TEN_MB];
            new Random(11).nextBytes(upload);
            assertEquals(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(upload)),
                    OffloadChecks.send(client, VIP, upload), "10 MB up, byte-exact");
            long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
            OffloadChecks.Traffic up = OffloadChecks.Traffic.of(running, 1).minus(before);
            System.out.printf("LSNAT, 10 MB up in %d ms: pipeline %d frames, fast path %d frames and %d bytes%n",
                    millis, up.pipeline(), up.fastPath(), up.fastPathBytes());
            assertTrue(millis > 1500, "the upload outlasts the idle timeout: " + millis + " ms");
            assertTrue(up.pipeline() <= 6, "the pipeline saw the opening and closing only: " + up.pipeline());
            assertTrue(up.fastPathBytes() >= TEN_MB - 65536, "the data went through the kernel: "
                    + up.fastPathBytes());
            assertEquals(0, running.context().counters().sessionsEnded(SessionEnd.IDLE_TIMEOUT),
                    "no offloaded session expired under its traffic");

            // Client ports reused: every ended session's flows leave the map, or a new connection on the same
            // four-tuple would follow a stale entry.
            LoadGenerator.Result load = new LoadGenerator(new LoadGenerator.Settings(new InetSocketAddress(VIP, 80),
                    List.of("/"), 32, Duration.ofSeconds(3), Duration.ofSeconds(2)))
                    .run(NetworkNamespace.named(client), 1);
            long[] state = running.context().eventLoop().submit(() -> new long[] {offload.flows(),
                running.context().sessions().size()}).get();
            System.out.printf("LSNAT, load: %d connections (%.0f/s), failures %s; flows held %d, sessions %d, drops"
                    + " %s%n", load.connections(), load.connectionsPerSecond(), load.failures(), state[0], state[1],
                    running.context().counters().dropsByReason());
            assertEquals(0, load.failureCount(), "failed connections " + load.failures());
            assertTrue(state[0] <= state[1], "the kernel holds no flow whose session ended");
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
}
