package io.loadshare.distribution;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigException;

import io.loadshare.core.metrics.DropReason;
import io.loadshare.core.netns.NetworkNamespace;
import io.loadshare.core.pipeline.DispatchContext;
import io.loadshare.core.scheduler.SchedulerRegistry;
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
 * The packaged dispatcher with {@code loadshare.workers = 2} on real connections: each worker reads its own data
 * sockets, one fanout group per interface, and every flow (both directions of it, for LSNAT) meets one worker's
 * session table. Proven by counters: both workers open sessions and read frames on every arm, no reply misses its
 * session, every request is answered, 10 MB go each way byte-exact, and a load run with client ports reused has no
 * failure. With full NAT each worker hands out only its own slice of the source ports. With the fast path on, each
 * worker hands its own flows to the one program, and placing new flows in the kernel is refused.
 */
class WorkersTest {
    private static final int TEN_MB = 10 * 1024 * 1024;

    @TempDir
    Path dir;

    @Test
    void lsnatTwoArmedFullNat() throws Exception {
        try (LsnatCluster cluster = new LsnatCluster(true, Duration.ZERO)) {
            Path file = cluster.config(dir, "", """
                    mode = l3-fullnat
                    interfaces { client = d0, backend = d1 }
                    workers = 2
                    """, "source-nat-address = \"192.0.2.2\"");
            try (Dispatcher running = Dispatcher.start(DispatcherConfig.load(file, SchedulerRegistry.load()))) {
                exercise(running, cluster, List.of("d0", "d1"));
            }
        }
    }

    @Test
    void lsnatOneArmed() throws Exception {
        lsnatOneArmed(false);
    }

    @Test
    void lsnatOneArmedWithFastPath() throws Exception {
        lsnatOneArmed(true);
    }

    @Test
    void lsmacWithFastPath() throws Exception {
        try (LsmacCluster cluster = new LsmacCluster(3)) {
            Path file = lsmacConfig(cluster, "io.loadshare.offload.mode = on");
            try (Dispatcher running = Dispatcher.start(DispatcherConfig.load(file, SchedulerRegistry.load()))) {
                LsmacCluster.awaitResolved(running, 3);
                List<String> answers = OffloadChecks.requests(cluster.testbed, cluster.client, LsmacCluster.VIP, 200);
                assertEquals(200, answers.size(), "every request answered: " + answers);
                String digest = cluster.testbed.exec(cluster.client, "sh", "-c", "curl -s --max-time 30 http://"
                        + LsmacCluster.VIP + "/bytes?n=" + TEN_MB + " | sha256sum").split(" ")[0];
                assertEquals(OffloadChecks.patternDigest(TEN_MB), digest, "10 MB down, byte-exact");
                assertBothWorkersServed(running, List.of("d0"));
                assertEveryWorkerOffloaded(running);
            }
        }
    }

    @Test
    void placingNewFlowsIsRefusedWithSeveralWorkers() throws Exception {
        Path file = Files.writeString(dir.resolve("place.conf"), """
                loadshare {
                  interfaces.client = d0
                  workers = 2
                  services = [ { name = web, address = "198.51.100.10", port = 80, scheduler = maglev,
                    backends = [ "192.0.2.11" ] } ]
                }
                io.loadshare.offload { mode = auto, place-new-flows = true }
                """);
        ConfigException refused = assertThrows(ConfigException.class,
                () -> DispatcherConfig.load(file, SchedulerRegistry.load()));
        assertTrue(refused.getMessage().contains("io.loadshare.offload.place-new-flows")
                && refused.getMessage().contains("loadshare.workers is 2"), refused.getMessage());
    }

    @Test
    void lsmac() throws Exception {
        try (LsmacCluster cluster = new LsmacCluster(3)) {
            Path file = lsmacConfig(cluster, "");
            try (Dispatcher running = Dispatcher.start(DispatcherConfig.load(file, SchedulerRegistry.load()))) {
                LsmacCluster.awaitResolved(running, 3);
                List<String> answers = OffloadChecks.requests(cluster.testbed, cluster.client, LsmacCluster.VIP, 200);
                assertEquals(200, answers.size(), "every request answered: " + answers);
                for (int n = 1; n <= 3; n++) {
                    String name = "b" + n;
                    // Round robin per worker: each backend's share within one per worker of a third.
                    long share = answers.stream().filter(name::equals).count();
                    assertTrue(Math.abs(share - 200 / 3.0) <= 2, name + " served " + share + " of 200");
                }
                assertBothWorkersServed(running, List.of("d0"));

                // Draining reaches every worker: no new session goes to b1.
                String admin = "http://127.0.0.1:" + running.adminAddress().getPort();
                assertEquals(0, Loadshare.execute("backend", "--admin", admin, "--service", "web", "--address",
                        "192.0.2.11", "--state", "draining"));
                answers = OffloadChecks.requests(cluster.testbed, cluster.client, LsmacCluster.VIP, 40);
                assertEquals(40, answers.size(), "every request answered: " + answers);
                assertTrue(!answers.contains("b1") && answers.contains("b2") && answers.contains("b3"), answers.toString());
                assertEquals(0, Loadshare.execute("backend", "--admin", admin, "--service", "web", "--address",
                        "192.0.2.11", "--state", "source"));

                // A reload reaches every worker: without b3, and under another scheduler, which each worker builds.
                Files.writeString(file, Files.readString(file).replace(", \"192.0.2.13\" ]", " ]")
                        .replace("scheduler = rr", "scheduler = wlc"));
                running.reload();
                answers = OffloadChecks.requests(cluster.testbed, cluster.client, LsmacCluster.VIP, 40);
                assertEquals(40, answers.size(), "every request answered: " + answers);
                assertTrue(!answers.contains("b3") && answers.contains("b1") && answers.contains("b2"),
                        "b1 and b2 only after the reload: " + answers);
            }
        }
    }

    /** One-armed LSNAT with two workers, exercised; with the fast path on, each worker must have used it. */
    private void lsnatOneArmed(boolean fastPath) throws Exception {
        try (LsnatCluster cluster = new LsnatCluster(false, Duration.ZERO)) {
            Path file = cluster.config(dir, fastPath ? "io.loadshare.offload.mode = on" : "", """
                    mode = l3
                    interfaces.client = d0
                    workers = 2
                    """, "");
            try (Dispatcher running = Dispatcher.start(DispatcherConfig.load(file, SchedulerRegistry.load()))) {
                exercise(running, cluster, List.of("d0"));
                if (fastPath) {
                    assertEveryWorkerOffloaded(running);
                }
            }
        }
    }

    /** LSMAC with two workers over three backends by round robin, and {@code settings} beside. */
    private Path lsmacConfig(LsmacCluster cluster, String settings) throws Exception {
        return Files.writeString(dir.resolve("lsmac.conf"), """
                loadshare {
                  mode = l2
                  interfaces.client = d0
                  network-namespace = "%s"
                  admin.port = 0
                  workers = 2
                  services = [ { name = web, address = "%s", port = 80, scheduler = rr,
                    backends = [ "192.0.2.11", "192.0.2.12", "192.0.2.13" ] } ]
                }
                io.loadshare.dispatch.l2.arp.interval = 200ms
                %s
                """.formatted(cluster.dispatcher, LsmacCluster.VIP, settings));
    }

    private static void exercise(Dispatcher running, LsnatCluster cluster, List<String> arms) throws Exception {
        assertEquals(2, running.contexts().size());
        LsmacCluster.awaitResolved(running, 3);
        String vip = LsnatCluster.VIP;
        List<String> answers = OffloadChecks.requests(cluster.testbed, cluster.client, vip, 200);
        assertEquals(200, answers.size(), "every request answered: " + answers);
        assertBothWorkersServed(running, arms);

        String digest = cluster.testbed.exec(cluster.client, "sh", "-c", "curl -s --max-time 30 http://" + vip
                + "/bytes?n=" + TEN_MB + " | sha256sum").split(" ")[0];
        assertEquals(OffloadChecks.patternDigest(TEN_MB), digest, "10 MB down, byte-exact");
        byte[] upload = new byte[TEN_MB];
        new Random(5).nextBytes(upload);
        assertEquals(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(upload)),
                OffloadChecks.send(cluster.client, vip, upload), "10 MB up, byte-exact");

        // Client ports reused across connections: each new flow is steered afresh, and finds its worker's table.
        LoadGenerator.Result load = new LoadGenerator(new LoadGenerator.Settings(new InetSocketAddress(vip, 80),
                List.of("/"), 32, Duration.ofSeconds(3), Duration.ofSeconds(2)))
                .run(NetworkNamespace.named(cluster.client), 1);
        System.out.printf("%s with 2 workers, load: %d connections (%.0f/s), failures %s; sessions opened per"
                + " worker %s%n", arms, load.connections(), load.connectionsPerSecond(), load.failures(),
                running.contexts().stream().map(WorkersTest::sessionsOpened).toList());
        assertEquals(0, load.failureCount(), "failed connections " + load.failures());
    }

    /**
     * Both workers opened sessions and read frames on every arm; no frame missed its session, which a reply
     * steered to the wrong worker would.
     */
    private static void assertBothWorkersServed(Dispatcher running, List<String> arms) throws Exception {
        for (int worker = 0; worker < 2; worker++) {
            DispatchContext context = running.contexts().get(worker);
            assertTrue(sessionsOpened(context) > 0, "worker " + worker + " opened no session:\n"
                    + StatusTable.render(OffloadChecks.get(running, "/status")));
            long missed = context.eventLoop().submit(() -> context.counters().drops(DropReason.NO_SESSION))
                    .get(5, TimeUnit.SECONDS);
            assertEquals(0, missed, "worker " + worker + ": frames of flows it does not hold, drops "
                    + context.counters().dropsByReason());
        }
        String table = StatusTable.render(OffloadChecks.get(running, "/status"));
        for (String arm : arms) {
            for (int worker = 0; worker < 2; worker++) {
                assertTrue(table.matches("(?s).*\nSocket " + arm + " data \\(worker " + worker + "\\): read [1-9]\\d*"
                        + " frames.*"), "worker " + worker + " read frames on " + arm + ":\n" + table);
            }
        }
        String metrics = OffloadChecks.get(running, "/metrics");
        assertTrue(metrics.contains("loadshare_socket_received_frames_total{interface=\"" + arms.getFirst()
                + "\",socket=\"data\",worker=\"1\"}"), metrics);
    }

    /**
     * One fast path on the interface, and each worker handed its own flows to it: the workers' installs add up to
     * the total, and the kernel carried packets.
     */
    private static void assertEveryWorkerOffloaded(Dispatcher running) throws Exception {
        KernelFlowOffload fastPath = running.offload();
        assertNotNull(fastPath, "the fast path is on");
        long installed = 0;
        for (int worker = 0; worker < 2; worker++) {
            DispatchContext context = running.contexts().get(worker);
            KernelFlowOffload view = (KernelFlowOffload) context.eventLoop()
                    .submit(() -> (Object) context.offload()).get(5, TimeUnit.SECONDS);
            long own = view.workerFlowEvents(KernelFlowOffload.INSTALLED);
            assertTrue(own > 0, "worker " + worker + " handed no flow to the fast path");
            installed += own;
        }
        assertEquals(fastPath.flowEvents(KernelFlowOffload.INSTALLED), installed, "the metrics add the workers up");
        long carried = 0;
        for (int id = 0; id <= running.context().counters().maxBackendId(); id++) {
            carried += fastPath.backendTraffic(id).packets();
        }
        assertTrue(carried > 0, "the kernel carried no packet");
        System.out.printf("fast path with 2 workers: %d flows installed (%s per worker), %d packets in the kernel%n",
                installed, running.contexts().stream().map(c -> ((KernelFlowOffload) c.offload())
                        .workerFlowEvents(KernelFlowOffload.INSTALLED)).toList(), carried);
    }

    private static long sessionsOpened(DispatchContext context) {
        long opened = 0;
        for (int id = 0; id <= context.counters().maxBackendId(); id++) {
            opened += context.counters().sessionsOpened(id);
        }
        return opened;
    }
}
