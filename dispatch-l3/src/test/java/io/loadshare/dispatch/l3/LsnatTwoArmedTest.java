package io.loadshare.dispatch.l3;

import org.junit.jupiter.api.io.TempDir;
import java.nio.file.Path;
import io.loadshare.testbed.PacketCapture;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loadshare.core.backend.BackendPool;
import io.loadshare.core.metrics.DropReason;
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
 * LSNAT two-armed, end to end over real TCP (paper section 3.2, RFC 2391): the client on 203.0.113.0/24 talks to
 * the cluster address 203.0.113.10, which the dispatcher answers ARP for; three backends on 192.0.2.0/24 route
 * back through the dispatcher.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class LsnatTwoArmedTest {
    static final String VIP = "203.0.113.10";
    private LsnatTestbed bed;
    @TempDir
    static Path dir;

    @BeforeAll
    void start() throws Exception {
        bed = new LsnatTestbed(3, false, true);
        bed.start(L3Dispatcher.builder()
                .service(L3Service.of("web", VIP, 80, "round-robin", "192.0.2.11", "192.0.2.12", "192.0.2.13"))
                .service(L3Service.of("alt", VIP, 8000, "round-robin", "192.0.2.11", "192.0.2.12", "192.0.2.13")
                        .withBackendPort(8080))
                .coreSettings(LsnatTestbed.fastLinger())
                .settings(new L3Settings(Duration.ofMillis(300), 2, 2, 1000, 50))
                .build());
        for (Service service : bed.lsnat.services()) {
            awaitPool(service, pool -> pool.availableCount() == 3);
        }
    }

    @AfterAll
    void stop() throws Exception {
        bed.close();
    }

    static void awaitPool(Service service, Predicate<BackendPool> condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.test(service.pool())) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out; pool is " + service.pool());
            }
            Thread.sleep(50);
        }
    }

    static Map<String, Long> spread(List<String> answers) {
        return answers.stream().collect(Collectors.groupingBy(a -> a, TreeMap::new, Collectors.counting()));
    }

    /** One request first, with the dispatcher's counters in the message if it fails. */
    @Test
    @Order(0)
    void oneRequestGoesThrough() throws Exception {
        String answer = bed.testbed.exec(bed.client, "sh", "-c", "curl -s --max-time 2 http://" + VIP + "/; echo \" rc=$?\"");
        String drops = bed.onLoop(() -> java.util.Arrays.stream(DropReason.values())
                .filter(r -> bed.lsnat.context().counters().drops(r) > 0)
                .map(r -> r.label() + "=" + bed.lsnat.context().counters().drops(r)).toList().toString());
        assertTrue(answer.startsWith("b"), "answer '" + answer.trim() + "', drops " + drops + ", pools "
                + bed.lsnat.services().get(0).pool());
    }

    @Test
    @Order(1)
    void threeHundredRequestsSucceedSpreadAndShowOnlyTheClusterAddress() throws Exception {
        // The control: a datagram from the client to a backend-side address (routed for it alone), which leaves by
        // c0 and must be captured.
        bed.testbed.exec(bed.client, "ip", "route", "add", "192.0.2.250/32", "via", "203.0.113.1");
        PacketCapture.Control control = PacketCapture.datagram(bed.client, "0.0.0.0", "192.0.2.250");
        try (PacketCapture capture = PacketCapture.start(bed.testbed, bed.client, "c0", "ip net 192.0.2.0/24", dir,
                () -> {
                    control.send();
                    bed.testbed.exec(bed.client, "ip", "route", "del", "192.0.2.250/32");
                })) {
            List<String> answers = bed.requests("http://" + VIP + "/", 300);
            assertEquals(Map.of("b1", 100L, "b2", 100L, "b3", 100L), spread(answers));
            assertEquals(0, capture.framesAfterControl(), "the client must never see a backend address");
        }
    }

    @Test
    @Order(2)
    void aTenMegabyteDownloadIsByteExact() throws Exception {
        int size = 10 * 1024 * 1024;
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        for (int i = 0; i < size; i++) {
            sha.update(TestHttpServer.pattern(i));
        }
        String got = bed.testbed.exec(bed.client, "sh", "-c",
                "curl -s --max-time 30 http://" + VIP + "/bytes?n=" + size + " | sha256sum").split(" ")[0];
        assertEquals(HexFormat.of().formatHex(sha.digest()), got);
    }

    @Test
    @Order(3)
    void theVirtualPortMapsToTheBackendPort() {
        List<String> answers = bed.requests("http://" + VIP + ":8000/", 30);
        assertEquals(Map.of("b1:8080", 10L, "b2:8080", 10L, "b3:8080", 10L), spread(answers));
    }

    @Test
    @Order(4)
    void everyFrameLeftWithValidChecksumsAndNoReplyWasForwardedWithoutASession() throws Exception {
        assertTrue(bed.verifier.checked.get() > 1000, "frames checked: " + bed.verifier.checked.get());
        assertEquals(0, bed.verifier.bad.get(), "frames with a bad checksum");
        assertEquals(0L, (long) bed.onLoop(() -> bed.lsnat.context().counters().drops(DropReason.NO_NEIGHBOR)));
    }

    @Test
    @Order(5)
    void theSessionTableEmptiesAfterTheLinger() throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (bed.onLoop(() -> bed.lsnat.context().sessions().size()) > 0) {
            assertTrue(System.nanoTime() < deadline, "sessions left after the linger");
            Thread.sleep(100);
        }
    }
}
