package io.loadshare.distribution;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
 * Flows survive the dispatchers of an LSMAC tier with round robin, which no hash can continue: two dispatchers
 * (192.0.2.1 and 192.0.2.2) sync their sessions; the client routes the VIP through the first. Under 20 slow
 * downloads the first stops and the client's route moves to the second, which takes every flow over from its
 * standby sessions; then the first starts again, pulls the second's table before it returns (failback gating), and
 * the route moves back. Every download completes, byte-exact. Without sync, round robin gives a moved flow's
 * segments no session (or another backend) and the downloads stall.
 */
class SessionSyncTest {
    private static final String VIP = LsmacCluster.VIP;
    private static final int DOWNLOADS = 20;
    private static final int SIZE = 3_000_000;

    @TempDir
    Path dir;

    @Test
    void roundRobinFlowsSurviveAFailoverAndAFailback() throws Exception {
        NetnsTestbed.requireRoot();
        try (LsmacCluster cluster = new LsmacCluster(3)) {
            String second = cluster.host("disp2", "d0", "192.0.2.2");
            Path key = dir.resolve("sync.key");
            Files.write(key, "0123456789abcdef0123456789abcdef-test-key".getBytes());
            DispatcherConfig one = config("one.conf", cluster.dispatcher, "192.0.2.1", "192.0.2.2", key);
            DispatcherConfig two = config("two.conf", second, "192.0.2.2", "192.0.2.1", key);
            try (Dispatcher standby = Dispatcher.start(two)) {
                Process downloads;
                long open;
                try (Dispatcher first = Dispatcher.start(one)) {
                    LsmacCluster.awaitResolved(first, 3);
                    LsmacCluster.awaitResolved(standby, 3);
                    // 3 MB at 200 KB/s each: about 15 s, so both moves fall inside every download.
                    downloads = cluster.testbed.start(cluster.client, "sh", "-c", "for i in $(seq " + DOWNLOADS
                            + "); do curl -s -o /dev/null -w '%{size_download}\\n' --max-time 60 --limit-rate 200k"
                            + " http://" + VIP + "/bytes?n=" + SIZE + " & done; wait");
                    open = awaitEstablished(first, DOWNLOADS);
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                    while (standby.sync().standby().size() < DOWNLOADS) {
                        assertTrue(System.nanoTime() < deadline, "the second dispatcher holds "
                                + standby.sync().standby().size() + " standby sessions");
                        Thread.sleep(20);
                    }
                    Thread.sleep(1000);
                }
                cluster.testbed.exec(cluster.client, "ip", "route", "replace", VIP + "/32", "via", "192.0.2.2");
                Thread.sleep(3000);
                try (Dispatcher back = Dispatcher.start(one)) {
                    assertTrue(back.sync().status().peers().getFirst().synced(), "failback waited for the table: "
                            + back.sync().status() + "; the second: " + standby.sync().status());
                    cluster.testbed.exec(cluster.client, "ip", "route", "replace", VIP + "/32", "via", "192.0.2.1");
                    assertTrue(downloads.waitFor(60, TimeUnit.SECONDS), "the downloads finished");
                    List<String> sizes = new String(downloads.getInputStream().readAllBytes()).lines().toList();
                    long takenOver = standby.sync().standby().takenOver();
                    long backTaken = back.sync().standby().takenOver();
                    System.out.printf("tier: %d downloads open, %d taken over by the second dispatcher, %d taken back"
                            + " by the first after its restart; sizes %s%n", open, takenOver, backTaken, sizes);
                    assertEquals(DOWNLOADS, sizes.size(), sizes.toString());
                    for (String size : sizes) {
                        assertEquals(String.valueOf(SIZE), size.strip(), "every download completed: " + sizes);
                    }
                    // A flow whose client stayed silent while its route was elsewhere never needed to be taken over.
                    assertTrue(takenOver > 0 && backTaken > 0, "flows were taken over both ways");
                }
            }
        }
    }

    private static long awaitEstablished(Dispatcher running, int n) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        long open;
        while ((open = running.context().eventLoop().submit(() -> running.context().sessions()
                .sessionsIn(SessionState.ESTABLISHED)).get()) < n) {
            assertTrue(System.nanoTime() < deadline, "only " + open + " downloads started");
            Thread.sleep(20);
        }
        return open;
    }

    private DispatcherConfig config(String name, String namespace, String self, String peer, Path key)
            throws Exception {
        Path file = dir.resolve(name);
        Files.writeString(file, """
                loadshare {
                  interfaces.client = d0
                  network-namespace = "%s"
                  admin.enabled = false
                  services = [ { name = web, address = "%s", port = 80, scheduler = round-robin,
                    backends = [ "192.0.2.11", "192.0.2.12", "192.0.2.13" ] } ]
                  sync {
                    enabled = true
                    listen-address = "%s"
                    peers = [ "%s:7680" ]
                    key-file = "%s"
                    initial-sync-timeout = 5s
                  }
                }
                io.loadshare.dispatch.l2.arp.interval = 200ms
                """.formatted(namespace, VIP, self, peer, key));
        return DispatcherConfig.load(file, SchedulerRegistry.load());
    }
}
