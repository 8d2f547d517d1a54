package io.loadshare.distribution;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loadshare.core.scheduler.SchedulerRegistry;
import io.loadshare.core.session.SessionState;
import io.loadshare.testbed.NetnsTestbed;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A lone LSMAC dispatcher with round robin restarted under 20 slow downloads: the stopping process leaves its
 * sessions in the hand-over file, the next one takes them over, and every download completes byte-exact. Round
 * robin cannot continue a flow by hash, so without the file every flow still open at the restart stalls.
 */
class HandoverTest {
    private static final String VIP = LsmacCluster.VIP;
    private static final int DOWNLOADS = 20;
    private static final int SIZE = 3_000_000;

    @TempDir
    Path dir;

    @Test
    void aRestartedDispatcherTakesOverTheSessionsOfTheOneBefore() throws Exception {
        NetnsTestbed.requireRoot();
        try (LsmacCluster cluster = new LsmacCluster(3)) {
            Path handover = dir.resolve("sessions");
            Path file = dir.resolve("rr.conf");
            Files.writeString(file, """
                    loadshare {
                      interfaces.client = d0
                      network-namespace = "%s"
                      admin.enabled = false
                      services = [ { name = web, address = "%s", port = 80, scheduler = round-robin,
                        backends = [ "192.0.2.11", "192.0.2.12", "192.0.2.13" ] } ]
                      sync.handover-file = "%s"
                    }
                    io.loadshare.dispatch.l2.arp.interval = 200ms
                    """.formatted(cluster.dispatcher, VIP, handover));
            DispatcherConfig config = DispatcherConfig.load(file, SchedulerRegistry.load());
            Process downloads;
            long open;
            try (Dispatcher first = Dispatcher.start(config)) {
                LsmacCluster.awaitResolved(first, 3);
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
                open = first.context().eventLoop().submit(() -> first.context().sessions()
                        .sessionsIn(SessionState.ESTABLISHED)).get();
            }
            assertTrue(Files.exists(handover), "the stopping process left its sessions");
            try (Dispatcher second = Dispatcher.start(config)) {
                assertFalse(Files.exists(handover), "the next process took the file");
                assertTrue(second.sync().handedOver() >= open, "handed over: " + second.sync().handedOver());
                assertTrue(downloads.waitFor(40, TimeUnit.SECONDS), "the downloads finished");
                List<String> sizes = new String(downloads.getInputStream().readAllBytes()).lines().toList();
                long taken = second.sync().standby().takenOver();
                System.out.printf("restart (rr): %d downloads open, %d sessions handed over, %d taken over%n", open,
                        second.sync().handedOver(), taken);
                assertEquals(DOWNLOADS, sizes.size(), sizes.toString());
                for (String size : sizes) {
                    assertEquals(String.valueOf(SIZE), size.strip(), "every download completed: " + sizes);
                }
                assertTrue(taken >= open, "every open flow was taken over: " + taken + " of " + open);
            }
        }
    }
}
