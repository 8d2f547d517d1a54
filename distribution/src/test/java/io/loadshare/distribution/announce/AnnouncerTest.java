package io.loadshare.distribution.announce;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loadshare.core.backend.Backend;
import io.loadshare.core.backend.BackendPool;
import io.loadshare.core.backend.BackendState;
import io.loadshare.core.netns.NetworkNamespace;
import io.loadshare.core.packet.IpProtocol;
import io.loadshare.core.packet.Ipv4Address;
import io.loadshare.core.pipeline.Service;
import io.loadshare.core.scheduler.SchedulerRegistry;
import io.loadshare.testbed.NetnsTestbed;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

/**
 * The announcing interfaces in a namespace: one per distinct address, up while a service on it has a backend
 * taking sessions, down when none has or when draining, gone when closed; and the BIRD protocol that matches.
 */
class AnnouncerTest {
    private static final int VIP = Ipv4Address.parse("198.51.100.10");
    private static final int OTHER = Ipv4Address.parse("198.51.100.20");

    @Test
    void upWhileServableDownWhenNotGoneWhenClosed() throws Exception {
        NetnsTestbed.requireRoot();
        try (NetnsTestbed testbed = NetnsTestbed.create()) {
            String namespace = testbed.namespace("d");
            SchedulerRegistry registry = SchedulerRegistry.load();
            Backend backend = new Backend(1, Ipv4Address.parse("192.0.2.11"), 0, 0x0200_0000_000bL, 1,
                    BackendState.ACTIVE);
            Service web = service(registry, 0, VIP, 80, BackendPool.of(List.of(backend)));
            Service api = service(registry, 1, VIP, 8080, BackendPool.empty());
            Service other = service(registry, 2, OTHER, 80, BackendPool.empty());
            ExecutorService loop = Executors.newSingleThreadExecutor();
            try (Announcer announcer = Announcer.start(NetworkNamespace.named(namespace), "lsvip",
                    Duration.ofMillis(20), List.of(web, api, other), new Heartbeat(List.of(loop),
                            Duration.ofMillis(200)))) {
                await(() -> up(testbed, namespace, "lsvip0"), "an address with a backend is announced");
                assertFalse(up(testbed, namespace, "lsvip1"), "one without is not");
                assertEquals(Map.of("198.51.100.10", true, "198.51.100.20", false), announcer.announced());

                web.publish(BackendPool.of(List.of(backend.withState(BackendState.DOWN))));
                await(() -> !up(testbed, namespace, "lsvip0"), "no backend left: withdrawn");
                api.publish(BackendPool.of(List.of(backend)));
                await(() -> up(testbed, namespace, "lsvip0"), "another service on the address can serve it");
                // Issue #33: a wedged event loop used to keep the address announced while it served nothing.
                CountDownLatch wedge = new CountDownLatch(1);
                loop.execute(() -> {
                    try {
                        wedge.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                });
                await(() -> !up(testbed, namespace, "lsvip0"), "a data plane that runs nothing is withdrawn");
                wedge.countDown();
                await(() -> up(testbed, namespace, "lsvip0"), "and announced again once it runs");
                announcer.withdrawAll();
                await(() -> !up(testbed, namespace, "lsvip0"), "draining withdraws");
            } finally {
                loop.shutdownNow();
            }
            assertFalse(testbed.exec(namespace, "ip", "link").contains("lsvip"), "closing removes the interfaces");
        }
    }

    @Test
    void birdProtocolRoutesEachDistinctAddressViaItsInterface() {
        assertEquals("""
                # The service addresses loadshare serves, each announced while its interface is up: the dispatcher
                # brings it up while it can serve the address and takes it down (or, when it dies, away) otherwise.
                protocol static loadshare {
                  ipv4;
                  check link yes;
                  route 198.51.100.10/32 via "lsvip0";
                  route 198.51.100.20/32 via "lsvip1";
                }
                """, Announcer.birdConfig("lsvip", List.of(VIP, VIP, OTHER)));
    }

    private static Service service(SchedulerRegistry registry, int index, int address, int port, BackendPool pool) {
        return new Service(index, "s" + index, address, IpProtocol.TCP, port,
                () -> registry.create("round-robin", ConfigFactory.empty()), pool);
    }

    private static boolean up(NetnsTestbed testbed, String namespace, String name) {
        String link = testbed.exec(namespace, "ip", "link", "show", name);
        return link.contains(",UP") || link.contains("<UP");
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, what);
            Thread.sleep(20);
        }
    }
}
