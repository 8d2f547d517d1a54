package io.loadshare.distribution;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loadshare.core.scheduler.SchedulerRegistry;
import io.loadshare.testbed.NetnsTestbed;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Persistence through the packaged dispatcher (LSMAC, three backends, round robin, {@code persistence.timeout}
 * in the config file), with real connections from two clients: each sticks to one backend across all its
 * connections; a drained backend keeps its persistent client; a backend taken down loses it, and the client sticks
 * to its new backend.
 */
class PersistenceRunTest {
    @TempDir
    Path dir;

    @Test
    void clientsStickToTheirBackend() throws Exception {
        NetnsTestbed.requireRoot();
        try (LsmacCluster cluster = new LsmacCluster(3)) {
            String second = cluster.client("cli2", "192.0.2.101");
            Path file = Files.writeString(dir.resolve("persist.conf"), """
                    loadshare {
                      interfaces.client = d0
                      network-namespace = "%s"
                      admin.port = 0
                      services = [ { name = web, address = "%s", port = 80, scheduler = rr,
                        backends = [ "192.0.2.11", "192.0.2.12", "192.0.2.13" ], persistence.timeout = 60s } ]
                    }
                    io.loadshare.dispatch.l2.arp.interval = 200ms
                    """.formatted(cluster.dispatcher, LsmacCluster.VIP));
            try (Dispatcher running = Dispatcher.start(DispatcherConfig.load(file, SchedulerRegistry.load()))) {
                LsmacCluster.awaitResolved(running, 3);
                Map<String, Long> first = cluster.spread(cluster.client, 20);
                assertEquals(1, first.size(), "one client, one backend: " + first);
                Map<String, Long> other = cluster.spread(second, 20);
                assertEquals(1, other.size(), "the other client, one backend: " + other);
                assertTrue(!other.keySet().equals(first.keySet()), "round robin gave the second client another one");

                String backend = first.keySet().iterator().next();
                String address = "192.0.2.1" + backend.substring(1);
                String admin = "http://127.0.0.1:" + running.adminAddress().getPort();
                post(admin + "/backends/state?service=web&backend=" + address + "&state=draining");
                assertEquals(first.keySet(), cluster.spread(cluster.client, 10).keySet(),
                        "a draining backend keeps its persistent client");
                post(admin + "/backends/state?service=web&backend=" + address + "&state=down");
                Map<String, Long> moved = cluster.spread(cluster.client, 10);
                assertEquals(1, moved.size(), "the client sticks to its new backend: " + moved);
                assertTrue(!moved.containsKey(backend), "a down backend loses its persistent client: " + moved);
                assertTrue(get(admin + "/metrics").contains("loadshare_persistence_templates 2.0"));
            }
        }
    }

    private static String post(String url) throws Exception {
        try (HttpClient http = HttpClient.newHttpClient()) {
            return http.send(HttpRequest.newBuilder(URI.create(url)).POST(HttpRequest.BodyPublishers.noBody()).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
        }
    }

    private static String get(String url) throws Exception {
        try (HttpClient http = HttpClient.newHttpClient()) {
            return http.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString())
                    .body();
        }
    }
}
