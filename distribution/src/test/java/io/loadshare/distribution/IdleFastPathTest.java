package io.loadshare.distribution;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.loadshare.core.scheduler.SchedulerRegistry;
import io.loadshare.core.session.SessionEnd;
import io.loadshare.offload.KernelFlowOffload;
import io.loadshare.testbed.NetnsTestbed;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue #28: with the fast path on and the default timeouts (a 30 s SYN timeout), a connection that the kernel
 * carried past its handshake and then left idle for 40 s is still served, in LSNAT (handed over at the backend's
 * SYN-ACK) and in LSMAC with placement (placed by the program at the SYN). The session table must take the kernel's
 * sighting of the client's ACK for the end of the handshake before it judges the idle time: it used to judge it
 * against the SYN timeout and end the session.
 */
class IdleFastPathTest {
    private static final Duration IDLE = Duration.ofSeconds(40);

    @TempDir
    Path dir;

    @Test
    void lsnatServesAConnectionIdleFortySeconds() throws Exception {
        try (LsnatCluster cluster = new LsnatCluster(false, Duration.ZERO)) {
            Path file = Files.writeString(dir.resolve("lsnat.conf"), """
                    loadshare {
                      mode = l3
                      interfaces.client = d0
                      network-namespace = "%s"
                      admin.port = 0
                      services = [ { name = sink, address = "%s", port = %d, scheduler = rr,
                        backends = [ "192.0.2.11", "192.0.2.12", "192.0.2.13" ] } ]
                    }
                    io.loadshare.offload.mode = on
                    """.formatted(cluster.dispatcher, LsnatCluster.VIP, OffloadChecks.SINK_PORT));
            try (Dispatcher running = Dispatcher.start(DispatcherConfig.load(file, SchedulerRegistry.load()))) {
                LsmacCluster.awaitResolved(running, 3);
                OffloadChecks.sendAfterIdle(cluster.client, LsnatCluster.VIP, IDLE);
                assertEquals(0, running.context().counters().sessionsEnded(SessionEnd.IDLE_TIMEOUT),
                        "no session expired while its connection lived");
            }
        }
    }

    @Test
    void lsmacWithPlacementServesAConnectionIdleFortySeconds() throws Exception {
        NetnsTestbed.requireRoot();
        try (LsmacCluster cluster = new LsmacCluster(3)) {
            List<OffloadChecks.Sink> sinks = new ArrayList<>();
            try {
                for (String backend : cluster.backends) {
                    sinks.add(OffloadChecks.Sink.start(backend));
                }
                Path file = Files.writeString(dir.resolve("lsmac.conf"), """
                        loadshare {
                          interfaces.client = d0
                          network-namespace = "%s"
                          admin.port = 0
                          services = [ { name = sink, address = "%s", port = %d, scheduler = maglev,
                            backends = [ "192.0.2.11", "192.0.2.12", "192.0.2.13" ] } ]
                        }
                        io.loadshare.offload { mode = on, place-new-flows = true }
                        """.formatted(cluster.dispatcher, LsmacCluster.VIP, OffloadChecks.SINK_PORT));
                try (Dispatcher running = Dispatcher.start(DispatcherConfig.load(file, SchedulerRegistry.load()))) {
                    LsmacCluster.awaitResolved(running, 3);
                    // The sweep publishes the Maglev table to the kernel within a sweep interval of the pool.
                    Thread.sleep(500);
                    OffloadChecks.sendAfterIdle(cluster.client, LsmacCluster.VIP, IDLE);
                    assertEquals(1, running.offload().flowEvents(KernelFlowOffload.PLACED),
                            "the program placed the connection at its SYN");
                    assertEquals(0, running.context().counters().sessionsEnded(SessionEnd.IDLE_TIMEOUT),
                            "no session expired while its connection lived (maglev would continue it, on a new"
                                    + " session)");
                }
            } finally {
                for (OffloadChecks.Sink sink : sinks) {
                    sink.close();
                }
            }
        }
    }
}
