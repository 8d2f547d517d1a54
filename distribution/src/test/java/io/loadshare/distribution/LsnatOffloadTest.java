package io.loadshare.distribution;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loadshare.core.backend.Backend;
import io.loadshare.core.netns.NetworkNamespace;
import io.loadshare.core.packet.Ipv4Address;
import io.loadshare.core.scheduler.SchedulerRegistry;
import io.loadshare.core.session.SessionEnd;
import io.loadshare.testbed.NetnsTestbed;
import io.loadshare.testbed.LoadGenerator;
import io.loadshare.offload.KernelFlowOffload;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
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
    private static final String VIP = LsnatCluster.VIP;
    private static final int TEN_MB = 10 * 1024 * 1024;
    private static final String OFFLOAD_ON = "io.loadshare.offload.mode = on";

    @TempDir
    Path dir;

    @Test
    void twoArmedFullNat() throws Exception {
        try (LsnatCluster cluster = new LsnatCluster(true, Duration.ZERO)) {
            // Software checksums on the dispatcher's transmit: a wrong update of a partial checksum reaches a host
            // as a wrong checksum, which its stack drops.
            for (String arm : new String[] {"d0", "d1"}) {
                cluster.testbed.exec(cluster.dispatcher, "ethtool", "-K", arm, "tx", "off");
            }
            Path file = cluster.config(dir, OFFLOAD_ON, """
                    mode = l3-fullnat
                    interfaces { client = d0, backend = d1 }
                    """, "source-nat-address = \"192.0.2.2\"");
            DispatcherConfig config = DispatcherConfig.load(file, SchedulerRegistry.load());
            try (Dispatcher running = Dispatcher.start(config)) {
                assertEquals("d0, d1", running.offload().interfaceName());
                exercise(cluster, running);
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
        try (LsnatCluster cluster = new LsnatCluster(false, Duration.ZERO)) {
            Path file = cluster.config(dir, OFFLOAD_ON, """
                    mode = l3
                    interfaces.client = d0
                    """, "");
            try (Dispatcher running = Dispatcher.start(DispatcherConfig.load(file, SchedulerRegistry.load()))) {
                assertEquals("d0", running.offload().interfaceName());
                exercise(cluster, running);

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
                // 8 MB at 1 MB/s would finish within curl's 10 s if anything still carried it, and takes long
                // enough that a stop slowed by a loaded machine still comes first.
                Process open = cluster.testbed.start(cluster.client, "curl", "-s", "-o", "/dev/null", "--max-time",
                        "10", "--limit-rate", "1M", "-w", "%{size_download} %{exitcode}",
                        "http://" + VIP + "/bytes?n=8000000");
                OffloadChecks.awaitActive(running);
                running.close();
                assertTrue(open.waitFor(20, TimeUnit.SECONDS), "the client gave up");
                String[] outcome = new String(open.getInputStream().readAllBytes()).trim().split(" ");
                assertEquals("28", outcome[1], "curl timed out (28) after the stop: " + String.join(" ", outcome));
                assertTrue(Long.parseLong(outcome[0]) < 8_000_000, "the download did not go on without the"
                        + " dispatcher: " + outcome[0]);
                // The backend still holds its end, its answer stuck in the socket: close it there.
                for (String backend : cluster.backends) {
                    cluster.testbed.exec(backend, "ss", "-K", "dst", "203.0.113.100");
                }
            }
        }
    }

    /**
     * A client that half-closes and waits for a slow answer (the sink answers 10 s after the client's FIN, as a slow
     * CGI would; fifty times the linger and ten times the idle timeout of this configuration): the session lives
     * half-closed while the backend has yet to answer, and the answer reaches the client.
     */
    @Test
    void aHalfClosedClientGetsItsLateAnswer() throws Exception {
        try (LsnatCluster cluster = new LsnatCluster(false, Duration.ofSeconds(10))) {
            Path file = cluster.config(dir, OFFLOAD_ON, """
                    mode = l3
                    interfaces.client = d0
                    """, "");
            try (Dispatcher running = Dispatcher.start(DispatcherConfig.load(file, SchedulerRegistry.load()))) {
                LsmacCluster.awaitResolved(running, 3);
                OffloadChecks.askSlowSink(cluster.client, VIP, Duration.ofSeconds(10));
            }
        }
    }

    /** Requests, downloads, uploads and load through a running dispatcher, checking which path carried them. */
    private static void exercise(LsnatCluster cluster, Dispatcher running) throws Exception {
        NetnsTestbed testbed = cluster.testbed;
        String client = cluster.client;
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
}
