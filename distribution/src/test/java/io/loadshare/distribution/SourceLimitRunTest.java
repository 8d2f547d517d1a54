package io.loadshare.distribution;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loadshare.core.backend.Backend;
import io.loadshare.core.metrics.DropReason;
import io.loadshare.core.netns.NetworkNamespace;
import io.loadshare.core.scheduler.SchedulerRegistry;
import io.loadshare.testbed.NetnsTestbed;
import io.loadshare.testbed.LoadGenerator;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code source-limit} through the packaged dispatcher (LSMAC, two backends) with real connections: one client
 * opening connections as fast as 64 at a time allow gets no more new sessions than its burst and rate, and another
 * client at the same time gets every one of its connections through.
 */
class SourceLimitRunTest {
    private static final int RATE = 20;
    private static final int BURST = 10;

    @TempDir
    Path dir;

    @Test
    void aFastSourceIsHeldToItsRateWhileAnotherGetsThrough() throws Exception {
        NetnsTestbed.requireRoot();
        try (LsmacCluster cluster = new LsmacCluster(2)) {
            String other = cluster.client("cli2", "192.0.2.101");
            Path file = Files.writeString(dir.resolve("limited.conf"), """
                    loadshare {
                      interfaces.client = d0
                      network-namespace = "%s"
                      admin.port = 0
                      services = [ { name = web, address = "%s", port = 80,
                        backends = [ "192.0.2.11", "192.0.2.12" ] } ]
                    }
                    io.loadshare.dispatch.l2.arp.interval = 200ms
                    io.loadshare.core.source-limit { rate = %d, burst = %d }
                    """.formatted(cluster.dispatcher, LsmacCluster.VIP, RATE, BURST));
            try (Dispatcher running = Dispatcher.start(DispatcherConfig.load(file, SchedulerRegistry.load()))) {
                LsmacCluster.awaitResolved(running, 2);
                LoadGenerator generator = new LoadGenerator(new LoadGenerator.Settings(
                        new InetSocketAddress(LsmacCluster.VIP, 80), List.of("/"), 64, Duration.ofSeconds(4),
                        Duration.ofSeconds(10)));
                long started = System.nanoTime();
                Thread fast = Thread.ofPlatform().start(() -> {
                    try {
                        generator.run(NetworkNamespace.named(cluster.client), 1);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                });
                Thread.sleep(1000);
                Map<String, Long> slow = cluster.spread(other, 10);
                assertEquals(10, slow.values().stream().mapToLong(Long::longValue).sum(), "the other client: " + slow);
                fast.join();
                double seconds = (System.nanoTime() - started) / 1e9;
                long opened = 0;
                for (Backend backend : running.services().getFirst().pool().all()) {
                    opened += running.context().counters().sessionsOpened(backend.id());
                }
                long fastOpened = opened - 10;
                long limited = running.context().counters().drops(DropReason.SOURCE_LIMIT);
                System.out.printf("source limit %d/s, burst %d: the fast client opened %d sessions in %.1f s, %d new"
                        + " sessions refused (source-limit); the other client 10 of 10%n", RATE, BURST, fastOpened,
                        seconds, limited);
                assertTrue(limited > 0, "the fast client was never refused");
                assertTrue(fastOpened <= BURST + RATE * seconds + 1, "more than burst + rate x time: " + fastOpened);
                assertTrue(fastOpened >= RATE * 2, "the fast client was held below its rate: " + fastOpened);
            }
        }
    }
}
