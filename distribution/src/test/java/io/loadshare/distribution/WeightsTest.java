package io.loadshare.distribution;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loadshare.core.backend.Backend;
import io.loadshare.core.netns.NetworkNamespace;
import io.loadshare.core.packet.Ipv4Address;
import io.loadshare.core.scheduler.SchedulerRegistry;
import io.loadshare.testbed.NetnsTestbed;
import io.loadshare.testbed.LoadGenerator;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Backend weights through the packaged dispatcher (LSMAC, four static backends weighted 1:2:3:4 in the config
 * file, in both forms): under wrr, 10,000+ connections from the project's load generator split within 2 % of the
 * weights; under wlc, 50 held downloads settle in proportion to the weights; a weight set at run time through
 * the admin interface takes effect at once; and a weight changed in the file takes effect on reload.
 */
class WeightsTest {
    private static final String VIP = LsmacCluster.VIP;
    private static final int[] WEIGHTS = {1, 2, 3, 4};

    @TempDir
    Path dir;

    @Test
    void weightsShareNewSessionsAndChangeWhileRunning() throws Exception {
        NetnsTestbed.requireRoot();
        try (LsmacCluster cluster = new LsmacCluster(WEIGHTS.length)) {
            NetnsTestbed testbed = cluster.testbed;
            String client = cluster.client;
            String dispatcher = cluster.dispatcher;
            String template = """
                    loadshare {
                      interfaces.client = d0
                      network-namespace = "%s"
                      admin.port = 0
                      services = [ { name = web, address = "%s", port = 80, scheduler = %s,
                        backends = [ "192.0.2.11", { address = "192.0.2.12", weight = 2 },
                                     { address = "192.0.2.13", weight = 3 }, { address = "192.0.2.14", weight = %d } ] } ]
                    }
                    io.loadshare.dispatch.l2.arp.interval = 200ms
                    io.loadshare.core.session { tcp-linger = 200ms, tcp-half-closed-timeout = 200ms,
                      sweep-interval = 50ms, sweep-cycle = 200ms }
                    """;
            Path file = dir.resolve("weights.conf");

            Files.writeString(file, template.formatted(dispatcher, VIP, "wrr", 4));
            try (Dispatcher running = Dispatcher.start(DispatcherConfig.load(file, SchedulerRegistry.load()))) {
                LsmacCluster.awaitResolved(running, WEIGHTS.length);
                long total = 0;
                for (int round = 0; round < 10 && total < 10_000; round++) {
                    LoadGenerator.Result result = new LoadGenerator(new LoadGenerator.Settings(
                            new InetSocketAddress(VIP, 80), List.of("/"), 16, Duration.ofSeconds(2),
                            Duration.ofSeconds(5))).run(NetworkNamespace.named(client), 1);
                    assertEquals(0, result.failureCount(), "failed connections " + result.failures());
                    total = opened(running, 1) + opened(running, 2) + opened(running, 3) + opened(running, 4);
                }
                assertTrue(total >= 10_000, "only " + total + " connections");
                System.out.printf("wrr 1:2:3:4 over %d connections: %d %d %d %d%n", total, opened(running, 1),
                        opened(running, 2), opened(running, 3), opened(running, 4));
                for (int n = 1; n <= WEIGHTS.length; n++) {
                    double share = (double) opened(running, n) / total;
                    double expected = WEIGHTS[n - 1] / 10.0;
                    assertTrue(Math.abs(share - expected) <= 0.02, "b" + n + " took " + share + " of " + total
                            + " sessions, weight share " + expected);
                }

                // At run time: b4's weight to 0 through the admin interface; it takes no new session.
                String admin = "http://127.0.0.1:" + running.adminAddress().getPort();
                String answer = post(admin + "/backends/weight?service=web&backend=192.0.2.14&weight=0");
                assertTrue(answer.contains("\"weight\" : 0"), answer);
                long b4 = opened(running, 4);
                testbed.exec(client, curls(40).toArray(String[]::new));
                assertEquals(b4, opened(running, 4), "a backend of weight 0 takes no new session");
                post(admin + "/backends/weight?service=web&backend=192.0.2.14&weight=source");
                assertEquals(4, backend(running, 4).weight(), "back to the configured weight");

                // Reload: b4's weight 4 -> 6 in the file.
                Files.writeString(file, template.formatted(dispatcher, VIP, "wrr", 6));
                List<String> changes = running.reload();
                assertTrue(changes.toString().contains("192.0.2.14 weight 4] -> [") && changes.toString()
                        .contains("192.0.2.14 weight 6]"), changes.toString());
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                while (backend(running, 4).weight() != 6) {
                    assertTrue(System.nanoTime() < deadline, "the reloaded weight never applied");
                    Thread.sleep(50);
                }
            }

            // wlc: 50 downloads held open at once settle 5/10/15/20 (each is 400 KB at 50 KB/s: 8 s).
            Files.writeString(file, template.formatted(dispatcher, VIP, "wlc", 4));
            try (Dispatcher running = Dispatcher.start(DispatcherConfig.load(file, SchedulerRegistry.load()))) {
                LsmacCluster.awaitResolved(running, WEIGHTS.length);
                Process held = testbed.start(client, "sh", "-c", "for i in $(seq 50); do curl -s -o /dev/null"
                        + " --max-time 20 --limit-rate 50k http://" + VIP + "/bytes?n=400000 & done; wait");
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(8);
                while (active(running) < 50) {
                    assertTrue(System.nanoTime() < deadline, "only " + active(running) + " downloads held open; per"
                            + " backend opened/active: " + describe(running) + "; drops "
                            + running.context().counters().dropsByReason());
                    Thread.sleep(50);
                }
                for (int n = 1; n <= WEIGHTS.length; n++) {
                    assertEquals(5L * WEIGHTS[n - 1], running.context().counters().activeSessions(id(running, n)),
                            "b" + n + "'s active sessions under wlc");
                }
                held.descendants().forEach(ProcessHandle::destroy);
                held.destroy();
                // The clients' resets reach the backends through this dispatcher: let them pass before it closes.
                deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                while (active(running) > 0 && System.nanoTime() < deadline) {
                    Thread.sleep(50);
                }
            }
        }
    }

    private static List<String> curls(int n) {
        List<String> command = new ArrayList<>(List.of("curl", "-s", "--max-time", "5"));
        for (int i = 0; i < n; i++) {
            command.add("http://" + VIP + "/");
        }
        return command;
    }

    private static Backend backend(Dispatcher running, int n) {
        int address = Ipv4Address.parse("192.0.2.1" + n);
        return running.services().getFirst().pool().all().stream().filter(b -> b.address() == address).findFirst()
                .orElseThrow();
    }

    private static int id(Dispatcher running, int n) {
        return backend(running, n).id();
    }

    private static long opened(Dispatcher running, int n) {
        return running.context().counters().sessionsOpened(id(running, n));
    }

    private static String describe(Dispatcher running) {
        StringBuilder out = new StringBuilder();
        for (int n = 1; n <= WEIGHTS.length; n++) {
            out.append(" b").append(n).append(' ').append(opened(running, n)).append('/')
                    .append(running.context().counters().activeSessions(id(running, n)));
        }
        return out.toString();
    }

    private static long active(Dispatcher running) {
        long sum = 0;
        for (int n = 1; n <= WEIGHTS.length; n++) {
            sum += running.context().counters().activeSessions(id(running, n));
        }
        return sum;
    }

    private static String post(String url) throws Exception {
        try (HttpClient http = HttpClient.newHttpClient()) {
            return http.send(HttpRequest.newBuilder(URI.create(url)).POST(HttpRequest.BodyPublishers.noBody()).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
        }
    }
}
