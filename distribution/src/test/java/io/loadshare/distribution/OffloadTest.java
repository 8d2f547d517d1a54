package io.loadshare.distribution;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loadshare.core.backend.Backend;
import io.loadshare.core.metrics.DropReason;
import io.loadshare.core.netns.NetworkNamespace;
import io.loadshare.core.scheduler.SchedulerRegistry;
import io.loadshare.core.session.SessionState;
import io.loadshare.testbed.NetnsTestbed;
import io.loadshare.testbed.LoadGenerator;
import io.loadshare.offload.KernelFlowOffload;
import java.net.InetSocketAddress;
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
 * LSMAC with the XDP fast path on ({@code io.loadshare.offload.mode = on}), through the packaged dispatcher, with
 * offloads on every veth: 300 requests split exactly by round robin while the pipeline sees only the frames that
 * open and close each session; 3 s of 32 concurrent connections reusing client ports, none failing, with every
 * ended session's flow gone from the kernel; 10 MB down and 10 MB up byte-exact, each outlasting the idle timeout while its
 * packets stay in the kernel; a backend set down ends the sessions it held (the client gets a reset); a second
 * dispatcher on the interface is refused; and stopping detaches the program.
 */
class OffloadTest {
    private static final String VIP = LsmacCluster.VIP;
    private static final int TEN_MB = 10 * 1024 * 1024;

    @TempDir
    Path dir;

    @Test
    void establishedFlowsStayInTheKernel() throws Exception {
        NetnsTestbed.requireRoot();
        List<OffloadChecks.Sink> sinks = new ArrayList<>();
        try (LsmacCluster cluster = new LsmacCluster(3)) {
            NetnsTestbed testbed = cluster.testbed;
            for (String backend : cluster.backends) {
                sinks.add(OffloadChecks.Sink.start(backend));
            }
            Path file = dir.resolve("offload.conf");
            Files.writeString(file, """
                    loadshare {
                      interfaces.client = d0
                      network-namespace = "%s"
                      admin.port = 0
                      services = [
                        { name = web, address = "%s", port = 80, scheduler = rr,
                          backends = [ "192.0.2.11", "192.0.2.12", "192.0.2.13" ] }
                        { name = sink, address = "%s", port = %d, scheduler = rr,
                          backends = [ "192.0.2.11", "192.0.2.12", "192.0.2.13" ] }
                      ]
                    }
                    io.loadshare.offload.mode = on
                    io.loadshare.dispatch.l2.arp.interval = 200ms
                    io.loadshare.core.session { tcp-idle-timeout = 1s, tcp-linger = 200ms,
                      tcp-half-closed-timeout = 200ms, sweep-interval = 50ms, sweep-cycle = 200ms }
                    """.formatted(cluster.dispatcher, VIP, VIP, OffloadChecks.SINK_PORT));
            DispatcherConfig config = DispatcherConfig.load(file, SchedulerRegistry.load());
            try (Dispatcher running = Dispatcher.start(config)) {
                LsmacCluster.awaitResolved(running, 3);
                awaitResolved(running.services().get(1), 3);
                KernelFlowOffload offload = running.offload();
                assertTrue(testbed.exec(cluster.dispatcher, "ip", "link", "show", "d0").contains("xdpgeneric"),
                        "the program is attached in generic mode");

                // 300 requests, one connection each: round robin gives each backend 100.
                OffloadChecks.roundRobin300(testbed, cluster.client, VIP);
                OffloadChecks.Traffic requests = OffloadChecks.Traffic.of(running, 0);
                System.out.printf("300 requests: pipeline forwarded %d frames, the fast path %d; flows installed %d,"
                        + " removed %d%n", requests.pipeline(), requests.fastPath(),
                        offload.flowEvents(KernelFlowOffload.INSTALLED), offload.flowEvents(KernelFlowOffload.REMOVED));
                assertEquals(300, offload.flowEvents(KernelFlowOffload.INSTALLED), "every session was handed over");
                // SYN, the ACK that establishes the session and FIN; the request too when it overtakes the install.
                assertTrue(requests.pipeline() <= 4 * 300, "the pipeline forwards only the opening and closing of each"
                        + " session: " + requests.pipeline());
                assertTrue(requests.fastPath() >= 300, "the requests themselves went through the kernel: "
                        + requests.fastPath());

                // Load with client ports reused: every ended session's flow leaves the kernel's map, or the next
                // connection on its four-tuple would follow the stale entry to the old backend.
                LoadGenerator.Result load = new LoadGenerator(new LoadGenerator.Settings(new InetSocketAddress(VIP, 80),
                        List.of("/"), 32, Duration.ofSeconds(3), Duration.ofSeconds(2)))
                        .run(NetworkNamespace.named(cluster.client), 1);
                // Read on the loop, so that no session ends between the counters and the table's size.
                long[] state = running.context().eventLoop().submit(() -> new long[] {
                    offload.flowEvents(KernelFlowOffload.INSTALLED), offload.flowEvents(KernelFlowOffload.REMOVED),
                    running.context().sessions().size()}).get();
                System.out.printf("load: %d connections (%.0f/s), failures %s; flows installed %d, removed %d,"
                        + " sessions %d%n", load.connections(), load.connectionsPerSecond(), load.failures(), state[0],
                        state[1], state[2]);
                assertEquals(0, load.failureCount(), "failed connections " + load.failures());
                assertTrue(state[0] - state[1] <= state[2], "the kernel holds no flow whose session ended");

                // 10 MB down: only the client's ACKs pass the dispatcher.
                OffloadChecks.Traffic before = OffloadChecks.Traffic.of(running, 0);
                long started = System.nanoTime();
                String digest = testbed.exec(cluster.client, "sh", "-c", "curl -s --max-time 30"
                        + " http://" + VIP + "/bytes?n=" + TEN_MB + " | sha256sum").split(" ")[0];
                assertEquals(OffloadChecks.patternDigest(TEN_MB), digest, "10 MB down, byte-exact");
                long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
                OffloadChecks.Traffic down = OffloadChecks.Traffic.of(running, 0).minus(before);
                System.out.printf("10 MB down in %d ms: pipeline %d frames, fast path %d%n", millis, down.pipeline(),
                        down.fastPath());
                assertTrue(down.pipeline() <= 5, "one session: the pipeline saw its opening and closing only, "
                        + down.pipeline());
                assertTrue(down.fastPath() >= 20, "the client's ACKs went through the kernel: " + down.fastPath());

                // 10 MB up, paced to outlast the 1 s idle timeout: the data crosses the dispatcher, GSO frames and all.
                before = OffloadChecks.Traffic.of(running, 1);
                started = System.nanoTime();
                byte[] upload = new byte[TEN_MB];
                new Random(7).nextBytes(upload);
                assertEquals(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(upload)),
                        OffloadChecks.send(cluster.client, VIP, upload), "10 MB up, byte-exact");
                millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
                OffloadChecks.Traffic up = OffloadChecks.Traffic.of(running, 1).minus(before);
                System.out.printf("10 MB up in %d ms: pipeline %d frames, fast path %d frames and %d bytes%n", millis,
                        up.pipeline(), up.fastPath(), up.fastPathBytes());
                assertTrue(millis > 1500, "the upload outlasts the idle timeout: " + millis + " ms");
                assertTrue(up.pipeline() <= 5, "the pipeline saw the opening and closing only: " + up.pipeline());
                assertTrue(up.fastPathBytes() >= TEN_MB, "the data went through the kernel: " + up.fastPathBytes());
                assertEquals(0, running.context().counters().sessionsEnded(
                        io.loadshare.core.session.SessionEnd.IDLE_TIMEOUT), "no offloaded session expired under its"
                        + " traffic");

                // A backend set down: the fast path stops carrying its flows, the pipeline ends them with a reset.
                long quiet = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                while (running.context().sessions().size() > 0) {
                    assertTrue(System.nanoTime() < quiet, "earlier sessions never ended");
                    Thread.sleep(20);
                }
                // Larger than any socket buffer, read slowly: the backend is still sending when it goes down.
                Process held = testbed.start(cluster.client, "curl", "-s", "-o", "/dev/null", "--max-time", "30",
                        "--limit-rate", "1M", "http://" + VIP + "/bytes?n=40000000");
                Backend serving = OffloadChecks.awaitActive(running);
                long downAt = System.nanoTime();
                OffloadChecks.post(running, "/backends/state?service=web&backend=" + io.loadshare.core.packet.Ipv4Address.format(
                        serving.address()) + "&state=down");
                boolean ended = held.waitFor(10, TimeUnit.SECONDS);
                assertTrue(ended, "the held download ended once its backend went down; drops "
                        + running.context().counters().dropsByReason() + ", fast path to it "
                        + running.offload().backendTraffic(serving.id()) + ", pool " + running.services().getFirst()
                        .pool() + ", sessions " + running.context().sessions().size());
                System.out.printf("backend down: the held download ended after %d ms (curl exit %d)%n",
                        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - downAt), held.exitValue());
                assertTrue(held.exitValue() != 0, "the client was reset, not served to the end");
                OffloadChecks.post(running, "/backends/state?service=web&backend=" + io.loadshare.core.packet.Ipv4Address.format(
                        serving.address()) + "&state=source");
                // Only the client was reset: the backend still holds the connection. Close it there.
                testbed.exec(cluster.backends.get((serving.address() & 0xFF) - 11), "ss", "-K", "dst", "192.0.2.100");

                // One fast path per interface.
                IllegalStateException second = assertThrows(IllegalStateException.class,
                        () -> Dispatcher.start(config).close());
                assertTrue(second.getMessage().contains("another XDP program"), second.getMessage());
            }
            assertFalse(testbed.exec(cluster.dispatcher, "ip", "link", "show", "d0").contains("xdp"),
                    "stopping detaches the program");
        } finally {
            for (OffloadChecks.Sink sink : sinks) {
                sink.close();
            }
        }
    }

    @Test
    void maglevFlowsArePlacedInTheKernel() throws Exception {
        NetnsTestbed.requireRoot();
        try (LsmacCluster cluster = new LsmacCluster(3)) {
            Path file = dir.resolve("placed.conf");
            Files.writeString(file, """
                    loadshare {
                      interfaces.client = d0
                      network-namespace = "%s"
                      admin.port = 0
                      services = [ { name = web, address = "%s", port = 80, scheduler = maglev,
                        backends = [ "192.0.2.11", "192.0.2.12", "192.0.2.13" ] } ]
                    }
                    io.loadshare.offload { mode = on, place-new-flows = true }
                    io.loadshare.dispatch.l2.arp.interval = 200ms
                    io.loadshare.core.session { tcp-linger = 200ms, tcp-half-closed-timeout = 200ms,
                      sweep-interval = 50ms, sweep-cycle = 200ms }
                    """.formatted(cluster.dispatcher, VIP));
            try (Dispatcher running = Dispatcher.start(DispatcherConfig.load(file, SchedulerRegistry.load()))) {
                LsmacCluster.awaitResolved(running, 3);
                KernelFlowOffload offload = running.offload();
                Thread.sleep(200);
                List<String> command = new ArrayList<>(List.of("curl", "-s", "--max-time", "5"));
                for (int i = 0; i < 300; i++) {
                    command.add("http://" + VIP + "/");
                }
                String answers = cluster.testbed.exec(cluster.client, command.toArray(String[]::new));
                assertEquals(300, answers.lines().filter(l -> l.matches("b[123]")).count(), answers);
                for (int n = 1; n <= 3; n++) {
                    String name = "b" + n;
                    assertTrue(answers.lines().anyMatch(name::equals), name + " got none of 300 under maglev");
                }
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
                while (offload.flowEvents(KernelFlowOffload.PLACED) < 300 && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                }
                OffloadChecks.Traffic requests = OffloadChecks.Traffic.of(running, 0);
                System.out.printf("placed in the kernel: 300 requests, pipeline forwarded %d frames, the fast path %d;"
                        + " flows placed %d, handed over %d, sessions continued %d%n", requests.pipeline(),
                        requests.fastPath(), offload.flowEvents(KernelFlowOffload.PLACED),
                        offload.flowEvents(KernelFlowOffload.INSTALLED), running.context().counters().events(
                                io.loadshare.core.metrics.ControlEvent.SESSION_CONTINUED));
                assertEquals(300, offload.flowEvents(KernelFlowOffload.PLACED), "the session table learnt every flow");
                // A segment that outlives its session's linger (a late ACK) is continued as a session of its own.
                assertEquals(300 + running.context().counters().events(
                        io.loadshare.core.metrics.ControlEvent.SESSION_CONTINUED), opened(running),
                        "each counted once");
                assertTrue(requests.pipeline() <= 2 * 300, "the pipeline sees a FIN a connection, about: "
                        + requests.pipeline());

                LoadGenerator.Result load = new LoadGenerator(new LoadGenerator.Settings(new InetSocketAddress(VIP, 80),
                        List.of("/"), 32, Duration.ofSeconds(3), Duration.ofSeconds(2)))
                        .run(NetworkNamespace.named(cluster.client), 1);
                long[] state = running.context().eventLoop().submit(() -> new long[] {offload.flows(),
                    offload.flowEvents(KernelFlowOffload.PLACED), offload.flowEvents(KernelFlowOffload.REMOVED),
                    running.context().sessions().size()}).get();
                System.out.printf("placed in the kernel, load: %d connections (%.0f/s), failures %s; placed %d,"
                        + " removed %d, sessions %d%n", load.connections(), load.connectionsPerSecond(),
                        load.failures(), state[1], state[2], state[3]);
                assertEquals(0, load.failureCount(), "failed connections " + load.failures());
                assertTrue(state[0] <= state[3], "the kernel holds no flow whose session ended: " + state[0]
                        + " held, " + state[3] + " sessions");
            }
        }
    }

    /**
     * LSMAC sees only the client's FIN. A client that half-closes and waits for a slow answer (the sink answers 10 s
     * after the FIN; fifty times the linger and ten times the idle timeout here) gets it straight from the backend,
     * and its ACKs of the answer still find their session, half-closed, and reach the backend.
     */
    @Test
    void aHalfClosedClientsAcknowledgementsOfALateAnswerReachTheBackend() throws Exception {
        NetnsTestbed.requireRoot();
        try (LsmacCluster cluster = new LsmacCluster(1);
                OffloadChecks.Sink sink = OffloadChecks.Sink.start(cluster.backends.getFirst(), Duration.ofSeconds(10))) {
            Path file = Files.writeString(dir.resolve("half-closed.conf"), """
                    loadshare {
                      interfaces.client = d0
                      network-namespace = "%s"
                      admin.port = 0
                      services = [ { name = sink, address = "%s", port = %d, scheduler = rr,
                        backends = [ "192.0.2.11" ] } ]
                    }
                    io.loadshare.offload.mode = on
                    io.loadshare.dispatch.l2.arp.interval = 200ms
                    io.loadshare.core.session { tcp-idle-timeout = 1s, tcp-linger = 200ms, sweep-interval = 50ms,
                      sweep-cycle = 200ms }
                    """.formatted(cluster.dispatcher, VIP, OffloadChecks.SINK_PORT));
            try (Dispatcher running = Dispatcher.start(DispatcherConfig.load(file, SchedulerRegistry.load()))) {
                LsmacCluster.awaitResolved(running, 1);
                OffloadChecks.askSlowSink(cluster.client, VIP, Duration.ofSeconds(10));
                // The client's last ACKs (of the answer and the sink's FIN) pass its half-closed session.
                Thread.sleep(300);
                long[] after = running.context().eventLoop().submit(() -> new long[] {
                    running.context().counters().drops(DropReason.NO_SESSION),
                    running.context().sessions().sessionsIn(SessionState.CLIENT_CLOSED)}).get();
                assertEquals(0, after[0], "ACKs dropped for want of a session: "
                        + running.context().counters().dropsByReason());
                assertEquals(1, after[1], "the session lives on half-closed");
            }
        }
    }

    private static long opened(Dispatcher running) {
        long sum = 0;
        for (Backend backend : running.services().getFirst().pool().all()) {
            sum += running.context().counters().sessionsOpened(backend.id());
        }
        return sum;
    }

    private static void awaitResolved(io.loadshare.core.pipeline.Service service, int backends)
            throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (service.pool().availableCount() < backends) {
            assertTrue(System.nanoTime() < deadline, "backends never resolved: " + service.pool());
            Thread.sleep(50);
        }
    }
}
