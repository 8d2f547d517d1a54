package io.loadshare.core.pipeline;

import static io.loadshare.core.testing.PipelineHarness.CLIENT;
import static io.loadshare.core.testing.PipelineHarness.VIP;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.loadshare.core.backend.BackendState;
import io.loadshare.core.metrics.ControlEvent;
import io.loadshare.core.packet.Ipv4Address;
import io.loadshare.core.packet.TcpHeader;
import io.loadshare.core.session.Persistence;
import io.loadshare.core.testing.PipelineHarness;
import io.loadshare.core.testing.TestFrames;
import io.netty.buffer.ByteBuf;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Persistence (IPVS's {@code -p}) in the schedule step, over a scheduler that cycles 1, 2, 3: a client's new
 * connections, on any port, go where its first went while its template lives; a draining backend keeps its
 * persistent clients, a down one does not; a netmask makes a network share a template; templates are bounded.
 */
class PersistenceTest {
    private PipelineHarness harness;

    @AfterEach
    void tearDown() {
        harness.close();
    }

    private void start(String netmask, String overrides) {
        harness = new PipelineHarness(overrides, ctx -> new io.netty.channel.ChannelInboundHandlerAdapter(),
                new Persistence(Duration.ofSeconds(60), Ipv4Address.parse(netmask)));
    }

    /** Opens a connection and returns the backend id it was given, or 0 when it was not forwarded. */
    private int connect(int client, int port) {
        long[] before = opened();
        harness.channel.writeInbound(TestFrames.tcp(client, port, VIP, 80, TcpHeader.SYN, new byte[0]));
        for (Object sent; (sent = harness.channel.readOutbound()) != null; ) {
            ((ByteBuf) sent).release();
        }
        long[] after = opened();
        for (int id = 1; id <= 3; id++) {
            if (after[id] > before[id]) {
                return id;
            }
        }
        return 0;
    }

    private long[] opened() {
        long[] counts = new long[4];
        for (int id = 1; id <= 3; id++) {
            counts[id] = harness.context.counters().sessionsOpened(id);
        }
        return counts;
    }

    @Test
    void aClientSticksToItsBackendAcrossPortsUntilItsTemplateExpires() {
        start("255.255.255.255", "");
        int first = connect(CLIENT, 40000);
        for (int port = 40001; port < 40010; port++) {
            assertEquals(first, connect(CLIENT, port), "port " + port);
        }
        int other = connect(CLIENT + 1, 50000);
        assertEquals(true, other != 0 && other != first, "another client goes where the scheduler says: " + other);
        harness.advance(61_000);
        int again = connect(CLIENT, 40010);
        assertEquals(true, again != 0 && again != first, "expired: scheduled anew, to " + again);
    }

    @Test
    void aDrainingBackendKeepsItsPersistentClientsADownOneDoesNot() {
        start("255.255.255.255", "");
        int first = connect(CLIENT, 40000);
        harness.web.publish(harness.web.pool().with(harness.web.pool().byId(first).withState(BackendState.DRAINING)));
        assertEquals(first, connect(CLIENT, 40001), "draining keeps its persistent client");
        harness.web.publish(harness.web.pool().with(harness.web.pool().byId(first).withState(BackendState.DOWN)));
        int moved = connect(CLIENT, 40002);
        assertEquals(true, moved != 0 && moved != first, "down: the client moves, to " + moved);
        assertEquals(moved, connect(CLIENT, 40003), "and sticks to its new backend");
    }

    @Test
    void aNetmaskMakesANetworkShareATemplate() {
        start("255.255.255.0", "");
        int first = connect(CLIENT, 40000);
        for (int host = 1; host < 20; host++) {
            assertEquals(first, connect(CLIENT + host, 40000), "client ." + (5 + host));
        }
    }

    @Test
    void templatesAreBoundedAndCounted() {
        start("255.255.255.255", "io.loadshare.core.session.persistence-templates = 4");
        for (int host = 0; host < 10; host++) {
            connect(CLIENT + host, 40000);
        }
        assertEquals(4, harness.context.templates().size());
        assertEquals(6, harness.context.counters().events(ControlEvent.PERSISTENCE_FULL));
    }
}
