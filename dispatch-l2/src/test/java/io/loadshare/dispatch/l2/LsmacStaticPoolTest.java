package io.loadshare.dispatch.l2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loadshare.core.backend.BackendPool;
import io.loadshare.core.backend.BackendState;
import io.loadshare.core.metrics.DropReason;
import io.loadshare.core.backend.StaticBackend;
import io.loadshare.core.packet.IpProtocol;
import io.loadshare.core.packet.Ipv4Address;
import io.loadshare.core.pipeline.Service;
import io.loadshare.core.session.SessionEnd;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * LSMAC over a static pool: the backends hold the VIP on lo (arp_ignore=1, arp_announce=2), so they never answer
 * ARP for it; the dispatcher resolves each backend's own address instead. Also: two services on two ports with
 * their own schedulers, traffic to an unconfigured port dropped and counted, and a backend whose link goes down
 * for a while: it takes no new sessions, but the download it holds is not cut and completes once the link is back.
 */
class LsmacStaticPoolTest {
    private static void await(Service service, Predicate<BackendPool> condition, String what)
            throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.test(service.pool())) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what + "; pool is " + service.pool());
            }
            Thread.sleep(50);
        }
    }

    @Test
    void staticBackendsAreResolvedServedAndTakeNoNewSessionsWhileSilent() throws Exception {
        try (LsmacTestbed bed = new LsmacTestbed(3, true)) {
            int vip = Ipv4Address.parse(LsmacTestbed.VIP);
            L2Service web = new L2Service("web", vip, IpProtocol.TCP, 80, "weighted-least-connections",
                    ConfigFactory.empty(), StaticBackend.of("192.0.2.11", "192.0.2.12", "192.0.2.13"));
            L2Service alt = new L2Service("alt", vip, IpProtocol.TCP, 8080, "maglev", ConfigFactory.empty(),
                    StaticBackend.of("192.0.2.11"));
            bed.startDispatcher(L2Dispatcher.builder().service(web).service(alt)
                    .coreSettings(LsmacTestbed.fastSessionEnds())
                    .settings(new L2Settings(Duration.ofMillis(300), 1, Ipv4Address.parse(LsmacTestbed.DISPATCHER), L2Settings.defaults().discovery()))
                    .build());
            Service webService = bed.lsmac.services().get(0);
            await(webService, pool -> pool.availableCount() == 3, "three resolved backends");

            List<String> answers = bed.requests(90);
            assertEquals(90, answers.size());
            Map<String, Long> spread = answers.stream()
                    .collect(Collectors.groupingBy(a -> a, TreeMap::new, Collectors.counting()));
            assertEquals(3, spread.size(), spread.toString());
            spread.values().forEach(count -> assertTrue(count >= 25 && count <= 35, spread.toString()));

            // Port 8080 has no listener, but it is a service: the SYN goes to b1, which answers with a reset.
            String refused = bed.testbed.exec(bed.client, "sh", "-c", "curl -s --max-time 3 http://"
                    + LsmacTestbed.VIP + ":8080/ >/dev/null; echo $?");
            assertEquals("7", refused.trim(), "connection refused by the backend, not a timeout");
            String dropped = bed.testbed.exec(bed.client, "sh", "-c", "curl -s --max-time 1 http://"
                    + LsmacTestbed.VIP + ":9090/ >/dev/null; echo $?");
            assertEquals("28", dropped.trim(), "an unconfigured port times out: dropped, not forwarded");
            assertTrue(bed.onLoop(() -> bed.lsmac.context().counters().drops(DropReason.NO_SERVICE)) >= 1);

            // Hold a connection open on some backend, then take that backend's link down.
            Process held = bed.testbed.start(bed.client, "curl", "-s", "-o", "/dev/null", "-w", "%{size_download}",
                    "--max-time", "20", "--limit-rate", "20k", "http://" + LsmacTestbed.VIP + "/bytes?n=100000");
            // A process started in a namespace may take a while to connect on a busy machine: wait for its session.
            int holder = -1;
            long held0 = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (holder < 0) {
                for (int n = 1; n <= 3 && holder < 0; n++) {
                    int id = n;
                    if (bed.onLoop(() -> bed.lsmac.context().counters().activeSessions(id)) > 0) {
                        holder = n;
                    }
                }
                assertTrue(holder > 0 || System.nanoTime() < held0, "the held connection has a session");
                Thread.sleep(50);
            }
            bed.testbed.exec(bed.backends.get(holder), "ip", "link", "set", "e0", "down");
            int down = holder;
            await(webService, pool -> pool.byId(down).state() == BackendState.DRAINING,
                    "backend " + down + " silent: no new sessions");
            assertEquals(0, bed.onLoop(() -> bed.lsmac.context().counters().sessionsEnded(SessionEnd.BACKEND_GONE)),
                    "a missed ARP reply ends no session");
            assertEquals(1, bed.onLoop(() -> bed.lsmac.context().counters().activeSessions(down)));
            List<String> after = bed.requests(30);
            assertEquals(30, after.size(), "new connections all succeed on the remaining backends");
            assertTrue(after.stream().noneMatch(("b" + down)::equals), after.toString());

            // The link comes back: the backend takes new sessions again, and the held download completes.
            bed.testbed.exec(bed.backends.get(holder), "ip", "link", "set", "e0", "up");
            await(webService, pool -> pool.byId(down).state() == BackendState.ACTIVE, "backend " + down + " back");
            assertTrue(held.waitFor(20, TimeUnit.SECONDS), "the held download ended");
            assertEquals("100000", new String(held.getInputStream().readAllBytes()).trim(),
                    "the download held across the link flap completed");
            assertTrue(after.stream().noneMatch(("b" + down)::equals), after.toString());
        }
    }
}
