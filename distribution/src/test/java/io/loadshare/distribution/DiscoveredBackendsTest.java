package io.loadshare.distribution;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loadshare.core.scheduler.SchedulerRegistry;
import io.loadshare.testbed.NetnsTestbed;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The paper's set-up through the packaged dispatcher: two backends discovered by ARP on the VIP, told apart by
 * their MACs in {@code status}, {@code /metrics} and {@code loadshare backend --mac}, and health-checked one by one
 * with SYN probes sent to each MAC: stopping one backend's server takes that backend alone out of the pool, while
 * a connect to the VIP from the dispatcher's host would have reached whichever one its ARP entry named.
 */
class DiscoveredBackendsTest {
    @TempDir
    Path dir;

    @Test
    void discoveredBackendsAreToldApartAndCheckedOneByOne() throws Exception {
        NetnsTestbed.requireRoot();
        try (LsmacCluster cluster = new LsmacCluster(2, true)) {
            String b1 = cluster.mac(cluster.backends.get(0), "e0");
            String b2 = cluster.mac(cluster.backends.get(1), "e0");
            Path file = Files.writeString(dir.resolve("discovered.conf"), """
                    loadshare {
                      interfaces.client = d0
                      network-namespace = "%s"
                      admin.port = 0
                      services = [ { name = web, address = "%s", port = 80, scheduler = rr,
                        health-check { type = tcp, interval = 200ms, timeout = 150ms, rise = 2, fall = 2 } } ]
                    }
                    io.loadshare.dispatch.l2.arp.interval = 200ms
                    """.formatted(cluster.dispatcher, LsmacCluster.VIP));
            try (Dispatcher running = Dispatcher.start(DispatcherConfig.load(file, SchedulerRegistry.load()))) {
                LsmacCluster.awaitResolved(running, 2);
                String admin = "http://127.0.0.1:" + running.adminAddress().getPort();
                awaitState(admin, b1, "active");
                awaitState(admin, b2, "active");
                // Both pass their probes for a while: each answers its own SYN.
                Thread.sleep(1000);
                assertEquals(Map.of("b1", 5L, "b2", 5L), cluster.spread(cluster.client, 10));
                String metrics = get(admin + "/metrics");
                assertTrue(metrics.contains("loadshare_backend_sessions_opened_total{backend=\"" + b1
                        + "\",service=\"web\"} 5.0") && metrics.contains("backend=\"" + b2 + "\""), metrics);

                // Named by MAC at run time.
                assertEquals(0, Loadshare.execute("backend", "--admin", admin, "--service", "web", "--mac", b1,
                        "--state", "draining"));
                awaitState(admin, b1, "draining");
                assertEquals(Map.of("b2", 10L), cluster.spread(cluster.client, 10));
                assertEquals(0, Loadshare.execute("backend", "--admin", admin, "--service", "web", "--mac", b1,
                        "--state", "source"));
                awaitState(admin, b1, "active");

                // b1's port closes (its host still answers ARP): its probes get resets, and b1 alone goes down.
                cluster.stopServer(1);
                awaitState(admin, b1, "down");
                assertEquals(Map.of("b2", 10L), cluster.spread(cluster.client, 10));
                awaitState(admin, b2, "active");
                cluster.startServer(1);
                awaitState(admin, b1, "active");
                assertEquals(Map.of("b1", 5L, "b2", 5L), cluster.spread(cluster.client, 10));
            }

            // Probes need an address of the dispatcher's to be answered at: without one it refuses to start.
            cluster.testbed.exec(cluster.dispatcher, "ip", "addr", "flush", "dev", "d0");
            IOException refused = assertThrows(IOException.class,
                    () -> Dispatcher.start(DispatcherConfig.load(file, SchedulerRegistry.load())).close());
            assertTrue(refused.getMessage().contains("IPv4 address of d0"), refused.getMessage());
        }
    }

    /** Waits until the status row of the backend with this MAC shows {@code state}. */
    private static void awaitState(String admin, String mac, String state) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        String table = "";
        while (System.nanoTime() < deadline) {
            table = StatusTable.render(get(admin + "/status"));
            if (table.matches("(?s).*-> \\S+ +" + mac + " +" + state + " .*")) {
                return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError(mac + " never became " + state + ":\n" + table);
    }

    private static String get(String url) throws Exception {
        try (HttpClient client = HttpClient.newHttpClient()) {
            return client.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString())
                    .body();
        }
    }
}
