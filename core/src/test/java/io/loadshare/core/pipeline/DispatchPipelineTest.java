package io.loadshare.core.pipeline;

import static io.loadshare.core.testing.PipelineHarness.CLIENT;
import static io.loadshare.core.testing.PipelineHarness.VIP;
import static io.loadshare.core.testing.TestFrames.hex;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.loadshare.core.backend.BackendState;
import io.loadshare.core.metrics.DropReason;
import io.loadshare.core.packet.Frames;
import io.loadshare.core.packet.MacAddress;
import io.loadshare.core.packet.TcpHeader;
import io.loadshare.core.session.SessionEnd;
import io.loadshare.core.testing.CyclingSchedulerFactory.CyclingScheduler;
import io.loadshare.core.testing.GoldenFrames;
import io.loadshare.core.testing.PipelineHarness;
import io.loadshare.core.testing.TestFrames;
import io.loadshare.core.testing.TestMacRewriter;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.WriteBufferWaterMark;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * decode → classify → schedule → rewrite → emit on an {@link io.netty.channel.embedded.EmbeddedChannel}, with a
 * test rewriter that sets the MACs as LSMAC does.
 */
class DispatchPipelineTest {
    private static final byte[] NONE = new byte[0];

    private final PipelineHarness harness = new PipelineHarness(
            "io.loadshare.core.session { max-sessions = 4, tcp-linger = 2s, tcp-idle-timeout = 60s }",
            context -> new TestMacRewriter());

    @AfterEach
    void close() {
        harness.close();
    }

    private ByteBuf send(ByteBuf frame) {
        harness.channel.writeInbound(frame);
        return harness.channel.readOutbound();
    }

    private ByteBuf tcp(int clientPort, int flags) {
        return TestFrames.tcp(CLIENT, clientPort, VIP, 80, flags, NONE);
    }

    /** An ACK from the client acknowledging {@code acknowledgement}, as a challenge ACK does. */
    private ByteBuf tcpAck(int clientPort, long acknowledgement) {
        return Frames.tcp(Unpooled.buffer(), TestFrames.DISPATCHER_MAC, TestFrames.CLIENT_MAC, CLIENT, clientPort, VIP,
                80, 1000, acknowledgement, TcpHeader.ACK, NONE);
    }

    private long drops(DropReason reason) {
        return harness.context.counters().drops(reason);
    }

    @Test
    void goldenSynLeavesWithTheBackendsMac() {
        // Backend 1 of the harness has MAC 02:00:00:00:01:01; the golden expectation uses ...:0b.
        harness.web.publish(harness.web.pool().with(harness.web.pool().byId(1).withMac(TestFrames.BACKEND_MAC)));
        ByteBuf out = send(hex(GoldenFrames.TCP_SYN));
        assertEquals(GoldenFrames.TCP_SYN_TO_BACKEND_MAC, TestFrames.hex(out));
        int length = out.readableBytes();
        out.release();
        assertEquals(1, harness.context.counters().packets(1));
        assertEquals(length, harness.context.counters().bytes(1));
        assertEquals(1, harness.context.sessions().size());
    }

    @Test
    void sessionLifecycleThroughThePipeline() {
        ByteBuf syn = send(tcp(40000, TcpHeader.SYN));
        long backendMac = MacAddress.get(syn, 0);
        syn.release();
        for (int flags : new int[] {TcpHeader.ACK, TcpHeader.PSH | TcpHeader.ACK, TcpHeader.FIN | TcpHeader.ACK}) {
            harness.advance(100);
            ByteBuf out = send(tcp(40000, flags));
            assertEquals(backendMac, MacAddress.get(out, 0), "same backend");
            out.release();
        }
        // The client half-closed; its ACKs of a slow answer still follow within the half-closed timeout (60 s).
        harness.advance(59_999);
        send(tcp(40000, TcpHeader.ACK)).release();
        assertEquals(1, harness.context.sessions().size());
        harness.advance(60_000);
        assertNull(send(tcp(40000, TcpHeader.ACK)));
        assertEquals(1, drops(DropReason.NO_SESSION));
        assertEquals(0, harness.context.sessions().size());
        assertEquals(1, harness.context.counters().sessionsEnded(SessionEnd.FINISHED));
        assertEquals(0, harness.context.counters().activeSessions(1));
        Map<Integer, Integer> active = ((CyclingScheduler) harness.context.scheduler(harness.web)).active;
        assertEquals(Map.of(1, 0), active);
    }

    @Test
    void newSessionsAreSpreadAndRetransmittedSynsStick() {
        for (int port = 1; port <= 3; port++) {
            send(tcp(port, TcpHeader.SYN)).release();
            send(tcp(port, TcpHeader.SYN)).release();
        }
        for (int id = 1; id <= 3; id++) {
            assertEquals(1, harness.context.counters().sessionsOpened(id));
            assertEquals(2, harness.context.counters().packets(id));
        }
    }

    @Test
    void portReuseOnAClosingSessionStartsANewOne() {
        send(tcp(7, TcpHeader.SYN)).release();
        send(tcp(7, TcpHeader.RST)).release();
        send(tcp(7, TcpHeader.SYN)).release();
        assertEquals(1, harness.context.counters().sessionsEnded(SessionEnd.REUSED));
        assertEquals(1, harness.context.counters().sessionsOpened(1));
        assertEquals(1, harness.context.counters().sessionsOpened(2));
    }

    @Test
    void whatCannotBePlacedIsDroppedAndCounted() {
        assertNull(send(tcp(1, TcpHeader.ACK)));
        assertEquals(1, drops(DropReason.NO_SESSION));
        assertNull(send(TestFrames.tcp(CLIENT, 1, VIP, 443, TcpHeader.SYN, NONE)));
        assertNull(send(TestFrames.tcp(CLIENT, 1, VIP + 1, 80, TcpHeader.SYN, NONE)));
        assertEquals(2, drops(DropReason.NO_SERVICE));
        assertNull(send(tcp(1, TcpHeader.SYN | TcpHeader.ACK)));
        assertEquals(2, drops(DropReason.NO_SESSION));
        assertNull(send(hex(GoldenFrames.ARP_REPLY_VIP)));
        assertEquals(1, drops(DropReason.UNHANDLED_ARP));
        assertNull(send(hex(GoldenFrames.ICMP_ECHO)));
        assertEquals(1, drops(DropReason.UNHANDLED_ICMP));
        assertNull(send(hex(GoldenFrames.ICMP_FRAG_NEEDED)));
        assertEquals(3, drops(DropReason.NO_SESSION));
    }

    @Test
    void icmpErrorFollowsItsSession() {
        send(hex(GoldenFrames.TCP_SYN)).release();
        ByteBuf out = send(hex(GoldenFrames.ICMP_FRAG_NEEDED));
        assertEquals(0x0200_0000_0101L, MacAddress.get(out, 0));
        out.release();
    }

    @Test
    void udpSessionsEndByTimeoutAlone() {
        send(TestFrames.udp(CLIENT, 5353, VIP, 53, new byte[] {1})).release();
        harness.advance(29_000);
        send(TestFrames.udp(CLIENT, 5353, VIP, 53, new byte[] {2})).release();
        assertEquals(1, harness.context.counters().sessionsOpened(1));
        harness.advance(30_000);
        harness.context.sweep();
        for (int i = 0; i < 20; i++) {
            harness.context.sweep();
        }
        assertEquals(0, harness.context.sessions().size());
        assertEquals(1, harness.context.counters().sessionsEnded(SessionEnd.IDLE_TIMEOUT));
    }

    @Test
    void aTableFullOfEstablishedSessionsRefusesAndCounts() {
        for (int port = 1; port <= 4; port++) {
            send(tcp(port, TcpHeader.SYN)).release();
            send(tcp(port, TcpHeader.ACK)).release();
        }
        assertNull(send(tcp(5, TcpHeader.SYN)));
        assertEquals(1, drops(DropReason.TABLE_FULL));
    }

    @Test
    void aTableFullOfHalfOpenSessionsEvictsOneForANewSession() {
        for (int port = 1; port <= 4; port++) {
            send(tcp(port, TcpHeader.SYN)).release();
        }
        ByteBuf forwarded = send(tcp(5, TcpHeader.SYN));
        assertNotNull(forwarded, "the new SYN took a half-open session's place");
        forwarded.release();
        assertEquals(1, harness.context.counters().sessionsEnded(SessionEnd.EVICTED));
        assertEquals(0, drops(DropReason.TABLE_FULL));
    }

    @Test
    void drainingKeepsSessionsButTakesNoNewOnes() {
        send(tcp(1, TcpHeader.SYN)).release();
        harness.web.publish(harness.web.pool().with(harness.web.pool().byId(1).withState(BackendState.DRAINING)));
        send(tcp(1, TcpHeader.ACK)).release();
        assertEquals(2, harness.context.counters().packets(1));
        for (int port = 2; port <= 4; port++) {
            send(tcp(port, TcpHeader.SYN)).release();
        }
        assertEquals(1, harness.context.counters().sessionsOpened(1));
    }

    @Test
    void aBackendThatGoesDownEndsItsSessions() {
        send(tcp(1, TcpHeader.SYN)).release();
        harness.web.publish(harness.web.pool().with(harness.web.pool().byId(1).withState(BackendState.DOWN)));
        // The client's next segment ends the session, and the client gets a reset from the VIP at once.
        ByteBuf reset = send(tcp(1, TcpHeader.ACK));
        ByteBuf expected = Frames.tcp(Unpooled.buffer(), TestFrames.CLIENT_MAC, TestFrames.DISPATCHER_MAC, VIP, 80,
                CLIENT, 1, 5001, 0, TcpHeader.RST, NONE);
        assertEquals(TestFrames.hex(expected), TestFrames.hex(reset), "RST, seq = the segment's ACK (RFC 793 3.4)");
        reset.release();
        expected.release();
        assertNull(harness.channel.readOutbound(), "nothing went to the backend");
        assertEquals(1, drops(DropReason.BACKEND_GONE));
        assertEquals(1, harness.context.counters().sessionsEnded(SessionEnd.BACKEND_GONE));
        // The client's challenge ACK (RFC 5961: the reset missed the exact edge of its window) gets another reset,
        // at the number it names; a stray segment of another flow gets nothing.
        ByteBuf again = send(tcpAck(1, 7001));
        ByteBuf exact = Frames.tcp(Unpooled.buffer(), TestFrames.CLIENT_MAC, TestFrames.DISPATCHER_MAC, VIP, 80,
                CLIENT, 1, 7001, 0, TcpHeader.RST, NONE);
        assertEquals(TestFrames.hex(exact), TestFrames.hex(again));
        again.release();
        exact.release();
        assertNull(send(tcpAck(9, 7001)), "no reset for a flow that was never reset");
        assertEquals(2, drops(DropReason.BACKEND_GONE));
        harness.web.publish(harness.web.pool().without(2).without(3).without(1));
        assertNull(send(tcp(2, TcpHeader.SYN)));
        assertEquals(1, drops(DropReason.NO_BACKEND));
    }

    /** Picks by the client port, as a consistent hash picks by the flow: the same backend in every dispatcher. */
    private static final class ByPortScheduler implements io.loadshare.core.scheduler.Scheduler {
        @Override
        public io.loadshare.core.backend.Backend pick(io.loadshare.core.backend.BackendPool pool,
                io.loadshare.core.session.Flow flow) {
            return pool.available(flow.sourcePort() % pool.availableCount());
        }

        @Override
        public boolean continuesFlows() {
            return true;
        }
    }

    @Test
    void aConsistentSchedulerContinuesFlowsItNeverSawOpen() {
        // With the cycling scheduler, a segment without a session is dropped.
        assertNull(send(tcp(7, TcpHeader.ACK)));
        assertEquals(1, drops(DropReason.NO_SESSION));

        harness.web.replaceSchedulers(ByPortScheduler::new);
        harness.context.replaceScheduler(harness.web);
        ByteBuf continued = send(tcp(7, TcpHeader.ACK | TcpHeader.PSH));
        assertEquals(MacAddress.format(harness.web.pool().available(7 % 3).mac()),
                MacAddress.format(continued.getLong(0) >>> 16), "the consistent pick");
        continued.release();
        assertEquals(1, harness.context.counters().events(io.loadshare.core.metrics.ControlEvent.SESSION_CONTINUED));
        assertEquals(1, harness.context.sessions().sessionsIn(io.loadshare.core.session.SessionState.ESTABLISHED),
                "it continues established, so it is never evicted as half-open");
        send(tcp(7, TcpHeader.ACK)).release();
        assertEquals(1, harness.context.counters().events(io.loadshare.core.metrics.ControlEvent.SESSION_CONTINUED),
                "the next segment finds the session");

        assertNull(send(tcp(8, TcpHeader.RST)), "a reset continues nothing");
        ByteBuf closing = send(tcp(9, TcpHeader.FIN | TcpHeader.ACK));
        closing.release();
        assertEquals(1, harness.context.sessions().sessionsIn(io.loadshare.core.session.SessionState.CLIENT_CLOSED),
                "a FIN continues its flow half-closed");
    }

    @Test
    void notWritableDropsInsteadOfQueueing() {
        harness.channel.config().setWriteBufferWaterMark(new WriteBufferWaterMark(0, 1));
        harness.channel.writeInbound(tcp(1, TcpHeader.SYN));
        harness.channel.writeOneOutbound(hex(GoldenFrames.TCP_SYN));
        assertFalse(harness.channel.isWritable());
        harness.channel.writeInbound(tcp(1, TcpHeader.ACK));
        assertEquals(1, drops(DropReason.TX_QUEUE_FULL));
    }
}
