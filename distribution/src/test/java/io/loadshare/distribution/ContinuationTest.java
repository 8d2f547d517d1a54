package io.loadshare.distribution;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loadshare.core.metrics.ControlEvent;
import io.loadshare.core.scheduler.SchedulerRegistry;
import io.loadshare.testbed.NetnsTestbed;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A dispatcher restarted under load (LSMAC, maglev): 20 slow downloads run through the first process, which stops
 * while they run; a second one starts in its place, has never seen their handshakes, and continues every flow
 * still open on the backend the consistent hash picked before. All 20 complete, byte counts exact.
 */
class ContinuationTest {
    private static final String VIP = LsmacCluster.VIP;
    private static final int DOWNLOADS = 20;
    private static final int SIZE = 3_000_000;

    @TempDir
    Path dir;

    @Test
    void aRestartedDispatcherContinuesTheFlowsOfTheOneBefore() throws Exception {
        NetnsTestbed.requireRoot();
        try (LsmacCluster cluster = new LsmacCluster(3)) {
            Path file = dir.resolve("maglev.conf");
            Files.writeString(file, """
                    loadshare {
                      interfaces.client = d0
                      network-namespace = "%s"
                      admin.enabled = false
                      services = [ { name = web, address = "%s", port = 80, scheduler = maglev,
                        backends = [ "192.0.2.11", "192.0.2.12", "192.0.2.13" ] } ]
                    }
                    io.loadshare.dispatch.l2.arp.interval = 200ms
                    """.formatted(cluster.dispatcher, VIP));
            DispatcherConfig config = DispatcherConfig.load(file, SchedulerRegistry.load());
            Process downloads;
            long open;
            try (Dispatcher first = Dispatcher.start(config)) {
                LsmacCluster.awaitResolved(first, 3);
                // 3 MB at 400 KB/s each: about 7.5 s, so the restart falls early in each.
                downloads = cluster.testbed.start(cluster.client, "sh", "-c", "for i in $(seq " + DOWNLOADS + ");"
                        + " do curl -s -o /dev/null -w '%{size_download}\\n' --max-time 40 --limit-rate 400k http://"
                        + VIP + "/bytes?n=" + SIZE + " & done; wait");
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                while (first.context().sessions().size() < DOWNLOADS) {
                    assertTrue(System.nanoTime() < deadline, "only " + first.context().sessions().size()
                            + " downloads started");
                    Thread.sleep(20);
                }
                Thread.sleep(1000);
                // Flows still open here send the next dispatcher at least their FIN: each must be continued.
                open = first.context().eventLoop().submit(() -> first.context().sessions()
                        .sessionsIn(io.loadshare.core.session.SessionState.ESTABLISHED)).get();
            }
            try (Dispatcher second = Dispatcher.start(config)) {
                assertTrue(downloads.waitFor(40, TimeUnit.SECONDS), "the downloads finished");
                List<String> sizes = new String(downloads.getInputStream().readAllBytes()).lines().toList();
                assertEquals(DOWNLOADS, sizes.size(), sizes.toString());
                for (String size : sizes) {
                    assertEquals(String.valueOf(SIZE), size.strip(), "every download completed: " + sizes);
                }
                long continued = second.context().counters().events(ControlEvent.SESSION_CONTINUED);
                System.out.printf("restart: %d downloads open at the restart, %d flows continued by the second"
                        + " dispatcher%n", open, continued);
                assertTrue(open > 0, "the restart fell while downloads ran");
                assertTrue(continued >= open, "the second dispatcher continued every open flow: " + continued
                        + " of " + open);
            }
        }
    }
}
