package io.loadshare.distribution;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loadshare.core.scheduler.SchedulerRegistry;
import io.loadshare.testbed.NetnsTestbed;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A lone dispatcher with round robin restarted under 20 slow downloads: the stopping process leaves its sessions in
 * the hand-over file, the next one takes them over, and every download completes byte-exact; in LSMAC, and in
 * full NAT, where the backend's data (a reply naming its session by the source-NAT port alone) is often the first
 * packet the new process sees. Round robin cannot continue a flow by hash, and a new process knows no NAT port,
 * so without the file every flow still open at the restart stalls.
 */
class HandoverTest {
    private static final int DOWNLOADS = 20;
    private static final int SIZE = 3_000_000;

    @TempDir
    Path dir;

    @Test
    void lsmacRoundRobin() throws Exception {
        NetnsTestbed.requireRoot();
        try (LsmacCluster cluster = new LsmacCluster(3)) {
            restart("LSMAC rr", cluster.testbed, cluster.client, LsmacCluster.VIP, config(cluster.dispatcher,
                    LsmacCluster.VIP, "", ""));
        }
    }

    @Test
    void fullNatRoundRobin() throws Exception {
        try (LsnatCluster cluster = new LsnatCluster(false, Duration.ZERO)) {
            restart("full NAT rr", cluster.testbed, cluster.client, LsnatCluster.VIP, config(cluster.dispatcher,
                    LsnatCluster.VIP, "mode = l3-fullnat", "source-nat-address = \"192.0.2.101\","));
        }
    }

    @Test
    void fullNatWithTheFastPath() throws Exception {
        try (LsnatCluster cluster = new LsnatCluster(false, Duration.ZERO)) {
            // Software checksums on the dispatcher's transmit, as LsnatOffloadTest: the tc program updates them.
            cluster.testbed.exec(cluster.dispatcher, "ethtool", "-K", "d0", "tx", "off");
            restart("full NAT rr, fast path", cluster.testbed, cluster.client, LsnatCluster.VIP,
                    config(cluster.dispatcher, LsnatCluster.VIP, "mode = l3-fullnat",
                            "source-nat-address = \"192.0.2.101\",", "io.loadshare.offload.mode = on"));
        }
    }

    private void restart(String label, NetnsTestbed testbed, String client, String vip, DispatcherConfig config)
            throws Exception {
        Path handover = config.sync().handoverFile();
        Process downloads;
        long open;
        try (Dispatcher first = Dispatcher.start(config)) {
            LsmacCluster.awaitResolved(first, 3);
            // A small receive buffer keeps each flow moving for the whole download: curl's --limit-rate paces
            // its reads, and with the default buffers the server would send everything in the first second.
            testbed.sysctl(client, "net.ipv4.tcp_rmem", "4096 16384 32768");
            downloads = testbed.start(client, "sh", "-c", "for i in $(seq " + DOWNLOADS + "); do curl -s -o /dev/null"
                    + " -w '%{size_download}\\n' --max-time 40 --limit-rate 400k http://" + vip + "/bytes?n=" + SIZE
                    + " & done; wait");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            // With the fast path a session may stay half-open in the table: the kernel carried the client's ACK.
            while ((open = first.context().eventLoop().submit(() -> (long) first.context().sessions().size()).get())
                    < DOWNLOADS) {
                assertTrue(System.nanoTime() < deadline, "only " + open + " downloads started");
                Thread.sleep(20);
            }
            Thread.sleep(1000);
        }
        assertTrue(Files.exists(handover), "the stopping process left its sessions");
        try (Dispatcher second = Dispatcher.start(config)) {
            assertFalse(Files.exists(handover), "the next process took the file");
            assertTrue(second.sync().handedOver() >= open, "handed over: " + second.sync().handedOver());
            assertTrue(downloads.waitFor(40, TimeUnit.SECONDS), "the downloads finished");
            List<String> sizes = new String(downloads.getInputStream().readAllBytes()).lines().toList();
            long taken = second.sync().standby().takenOver();
            System.out.printf("restart (%s): %d downloads open, %d sessions handed over, %d taken over%n", label,
                    open, second.sync().handedOver(), taken);
            assertEquals(DOWNLOADS, sizes.size(), sizes.toString());
            for (String size : sizes) {
                assertEquals(String.valueOf(SIZE), size.strip(), "every download completed: " + sizes);
            }
            assertTrue(taken >= open, "every open flow was taken over: " + taken + " of " + open);
        }
    }

    private DispatcherConfig config(String namespace, String vip, String mode, String service) throws Exception {
        return config(namespace, vip, mode, service, "");
    }

    private DispatcherConfig config(String namespace, String vip, String mode, String service, String settings)
            throws Exception {
        Path file = dir.resolve("restart.conf");
        Files.writeString(file, """
                loadshare {
                  %s
                  interfaces.client = d0
                  network-namespace = "%s"
                  admin.enabled = false
                  services = [ { name = web, address = "%s", port = 80, scheduler = round-robin, %s
                    backends = [ "192.0.2.11", "192.0.2.12", "192.0.2.13" ] } ]
                  sync.handover-file = "%s"
                }
                io.loadshare.dispatch.l2.arp.interval = 200ms
                io.loadshare.dispatch.l3.arp.interval = 200ms
                %s
                """.formatted(mode, namespace, vip, service, dir.resolve("sessions"), settings));
        return DispatcherConfig.load(file, SchedulerRegistry.load());
    }
}
