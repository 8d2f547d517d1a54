package io.loadshare.dispatch.l2;

import org.junit.jupiter.api.io.TempDir;
import java.nio.file.Path;
import io.loadshare.testbed.PacketCapture;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loadshare.core.backend.Backend;
import io.loadshare.core.backend.BackendPool;
import io.loadshare.core.pipeline.Service;
import io.loadshare.testbed.TestHttpServer;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * LSMAC end to end over real TCP with ARP discovery (paper section 3.1): three backends hold the cluster address
 * as a secondary address, the dispatcher finds them by ARP, round robin spreads 300 one-connection requests, and
 * the backends answer the client directly. The tests run in order on one testbed; the last ones change the pool.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class LsmacDiscoveryTest {
    private static final Duration ARP_INTERVAL = Duration.ofMillis(300);
    private LsmacTestbed bed;
    @TempDir
    static Path dir;
    private Service web;

    @BeforeAll
    void start() throws Exception {
        bed = new LsmacTestbed(3, false);
        bed.startDispatcher(L2Dispatcher.builder()
                .service(L2Service.discovered("web", LsmacTestbed.VIP, 80, "round-robin"))
                .coreSettings(LsmacTestbed.fastSessionEnds())
                .settings(new L2Settings(ARP_INTERVAL, 1, 0, L2Settings.defaults().discovery()))
                .build());
        web = bed.lsmac.services().get(0);
        awaitPool(pool -> pool.availableCount() == 3, "three discovered backends");
    }

    @AfterAll
    void stop() throws Exception {
        bed.close();
    }

    private void awaitPool(Predicate<BackendPool> condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.test(web.pool())) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what + "; pool is " + web.pool());
            }
            Thread.sleep(50);
        }
    }

    private static Map<String, Long> spread(List<String> answers) {
        return answers.stream().collect(Collectors.groupingBy(a -> a, TreeMap::new, Collectors.counting()));
    }

    @Test
    @Order(1)
    void arpDiscoveryFindsExactlyTheThreeBackends() {
        List<Long> macs = web.pool().all().stream().filter(Backend::isAvailable).map(Backend::mac).sorted().toList();
        List<Long> expected = bed.backends.values().stream()
                .map(ns -> io.loadshare.core.packet.MacAddress.parse(bed.testbed.mac(ns, "e0"))).sorted().toList();
        assertEquals(expected, macs);
    }

    @Test
    @Order(2)
    void threeHundredRequestsSucceedAndRoundRobinSpreadsThemExactly() {
        List<String> answers = bed.requests(300);
        assertEquals(300, answers.size(), "every request answered");
        assertEquals(Map.of("b1", 100L, "b2", 100L, "b3", 100L), spread(answers));
    }

    @Test
    @Order(3)
    void aTenMegabyteDownloadIsByteExact() throws Exception {
        int size = 10 * 1024 * 1024;
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        for (int i = 0; i < size; i++) {
            sha.update(TestHttpServer.pattern(i));
        }
        String expected = HexFormat.of().formatHex(sha.digest());
        String got = bed.testbed.exec(bed.client, "sh", "-c",
                "curl -s --max-time 30 http://" + LsmacTestbed.VIP + "/bytes?n=" + size + " | sha256sum").split(" ")[0];
        assertEquals(expected, got);
    }

    @Test
    @Order(4)
    void repliesBypassTheDispatcher() throws Exception {
        // The control: a datagram from the VIP to the dispatcher itself, which must be captured (and which the
        // pipeline drops: the drops are counted from after it).
        try (PacketCapture capture = PacketCapture.start(bed.testbed, bed.dispatcher, "d0", "ip src host "
                + LsmacTestbed.VIP, dir, PacketCapture.datagram(bed.backends.get(1), LsmacTestbed.VIP,
                LsmacTestbed.DISPATCHER))) {
            long drops = bed.onLoop(() -> bed.lsmac.context().counters().totalDrops());
            assertEquals(30, bed.requests(30).size());
            assertEquals(0, capture.framesAfterControl(), "no backend-to-client frame may reach the dispatcher");
            assertEquals(drops, (long) bed.onLoop(() -> bed.lsmac.context().counters().totalDrops()),
                    "the requests cost no drop");
        }
    }

    @Test
    @Order(5)
    void theSessionTableEmptiesAfterTheLinger() throws Exception {
        bed.requests(20);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (bed.onLoop(() -> bed.lsmac.context().sessions().size()) > 0) {
            assertTrue(System.nanoTime() < deadline, "sessions left after the linger");
            Thread.sleep(100);
        }
    }

    @Test
    @Order(6)
    void aBackendThatLosesTheVipLeavesThePoolAndNewConnectionsAllSucceed() throws Exception {
        long start = System.nanoTime();
        bed.removeVip(3);
        awaitPool(pool -> pool.availableCount() == 2, "backend 3 to leave");
        long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertTrue(tookMillis <= 2 * ARP_INTERVAL.toMillis() + 200, "left after " + tookMillis + " ms");
        List<String> answers = bed.requests(60);
        assertEquals(Map.of("b1", 30L, "b2", 30L), spread(answers));
    }

    @Test
    @Order(7)
    void aFourthBackendJoinsWithoutARestart() throws Exception {
        bed.addBackend(4);
        awaitPool(pool -> pool.availableCount() == 3, "backend 4 to join");
        List<String> answers = bed.requests(60);
        assertEquals(Map.of("b1", 20L, "b2", 20L, "b4", 20L), spread(answers));
    }
}
