package io.loadshare.dispatch.l3;

import static io.loadshare.dispatch.l3.LsnatTwoArmedTest.awaitPool;
import static io.loadshare.dispatch.l3.LsnatTwoArmedTest.spread;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loadshare.core.netns.NetworkNamespace;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** LSNAT one-armed, full NAT, and the host check. */
class LsnatTopologiesTest {
    private static final L3Settings FAST = new L3Settings(Duration.ofMillis(300), 2, 2, 1000, 50);

    @Test
    void oneArmedCarriesTheSameTraffic() throws Exception {
        try (LsnatTestbed bed = new LsnatTestbed(3, true, true)) {
            String vip = "198.51.100.10";
            bed.start(L3Dispatcher.builder()
                    .service(L3Service.of("web", vip, 80, "round-robin", "192.0.2.11", "192.0.2.12", "192.0.2.13"))
                    .coreSettings(LsnatTestbed.fastLinger()).settings(FAST).build());
            awaitPool(bed.lsnat.services().get(0), pool -> pool.availableCount() == 3);
            List<String> answers = bed.requests("http://" + vip + "/", 90);
            assertEquals(Map.of("b1", 30L, "b2", 30L, "b3", 30L), spread(answers));
            assertEquals(0, bed.verifier.bad.get());
        }
    }

    @Test
    void fullNatServesBackendsThatHaveNoRouteToTheClients() throws Exception {
        try (LsnatTestbed bed = new LsnatTestbed(2, false, false)) {
            String vip = LsnatTwoArmedTest.VIP;
            String noRoute = bed.testbed.exec(bed.backends.get(0), "sh", "-c", "ip route get 203.0.113.2 2>&1; true");
            assertTrue(noRoute.contains("unreachable"), "backends must have no route to the client: " + noRoute);
            bed.start(L3Dispatcher.builder()
                    .service(L3Service.of("web", vip, 80, "round-robin", "192.0.2.11", "192.0.2.12")
                            .withSourceNat("192.0.2.250"))
                    .coreSettings(LsnatTestbed.fastLinger()).settings(FAST).build());
            awaitPool(bed.lsnat.services().get(0), pool -> pool.availableCount() == 2);
            List<String> answers = bed.requests("http://" + vip + "/", 60);
            assertEquals(Map.of("b1", 30L, "b2", 30L), spread(answers));
            assertEquals(0, bed.verifier.bad.get());
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (bed.onLoop(() -> bed.lsnat.natPortsInUse(0)) > 0) {
                assertTrue(System.nanoTime() < deadline, "NAT ports not returned after the sessions ended");
                Thread.sleep(100);
            }
        }
    }

    @Test
    void aHostThatForwardsIsRefusedWithTheReason() throws Exception {
        try (LsnatTestbed bed = new LsnatTestbed(1, false, true)) {
            bed.testbed.sysctl(bed.dispatcher, "net.ipv4.ip_forward", "1");
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> L3Dispatcher.checkForwarding(NetworkNamespace.named(bed.dispatcher)));
            assertTrue(e.getMessage().startsWith("net.ipv4.ip_forward is 1 in netns "), e.getMessage());
            assertTrue(e.getMessage().contains("set net.ipv4.ip_forward=0"), e.getMessage());
        }
    }
}
