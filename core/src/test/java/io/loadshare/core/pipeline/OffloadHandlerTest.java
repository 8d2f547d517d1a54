package io.loadshare.core.pipeline;

import static io.loadshare.core.testing.PipelineHarness.CLIENT;
import static io.loadshare.core.testing.PipelineHarness.VIP;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loadshare.core.backend.BackendState;
import io.loadshare.core.packet.TcpHeader;
import io.loadshare.core.testing.GoldenFrames;
import io.loadshare.core.testing.PipelineHarness;
import io.loadshare.core.testing.RecordingFastPath;
import io.loadshare.core.testing.TestFrames;
import io.loadshare.core.testing.TestMacRewriter;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The offload step in the shared pipeline, with a recording fast path standing in for the kernel's: a TCP session
 * is handed over at the ACK that establishes it, once, after the rewrite (the frame it sees already carries the
 * backend's MAC); a UDP session at its first datagram; half-open and closing sessions never; the session table
 * takes the flow back when the session ends. Every frame is still forwarded.
 */
class OffloadHandlerTest {
    private static final byte[] NONE = new byte[0];

    private final PipelineHarness harness = new PipelineHarness(
            "io.loadshare.core.session { tcp-linger = 2s, tcp-half-closed-timeout = 10s }",
            context -> new TestMacRewriter());
    private final RecordingFastPath fastPath = new RecordingFastPath();

    @AfterEach
    void close() {
        harness.close();
    }

    @Test
    void handsOverEstablishedSessionsOnce() {
        assertTrue(harness.channel.pipeline().names().indexOf(DispatchPipeline.OFFLOADER)
                == harness.channel.pipeline().names().indexOf(DispatchPipeline.REWRITER) + 1);
        harness.context.offload(fastPath);
        assertEquals(1, fastPath.syncs, "attaching publishes the backends");

        forward(TestFrames.tcp(CLIENT, 40000, VIP, 80, TcpHeader.SYN, NONE));
        assertEquals(List.of(), fastPath.events, "a half-open session stays in the pipeline");
        forward(TestFrames.tcp(CLIENT, 40000, VIP, 80, TcpHeader.ACK, NONE));
        forward(TestFrames.tcp(CLIENT, 40000, VIP, 80, TcpHeader.ACK | TcpHeader.PSH, "GET /".getBytes()));
        assertEquals(List.of("install 40000 to 02:00:00:00:01:01"), fastPath.events, "once, after the rewrite");

        forward(TestFrames.tcp(CLIENT, 40001, VIP, 80, TcpHeader.SYN, NONE));
        forward(TestFrames.tcp(CLIENT, 40001, VIP, 80, TcpHeader.RST, NONE));
        forward(TestFrames.tcp(CLIENT, 40001, VIP, 80, TcpHeader.ACK, NONE));
        assertEquals(1, fastPath.events.size(), "a reset session is never handed over");

        forward(HexFormat.of().parseHex(GoldenFrames.UDP_DNS));
        assertEquals("install 53000 to 02:00:00:00:01:01", fastPath.events.getLast(), "UDP: at once");

        // The FIN passes through the pipeline; once the half-closed timeout has ended (the fast path saw nothing
        // since), the table takes the flow back.
        forward(TestFrames.tcp(CLIENT, 40000, VIP, 80, TcpHeader.FIN | TcpHeader.ACK, NONE));
        harness.advance(10_001);
        harness.channel.writeInbound(TestFrames.tcp(CLIENT, 40000, VIP, 80, TcpHeader.ACK, NONE));
        assertTrue(harness.channel.readOutbound() == null, "a segment after the timeout finds no session");
        assertTrue(fastPath.events.contains("remove 40000"), fastPath.events.toString());
        assertEquals(1, fastPath.events.stream().filter(e -> e.startsWith("remove")).count(),
                "the reset session was never handed over, so it is not taken back");

        harness.web.publish(harness.web.pool().with(harness.web.pool().byId(2).withState(BackendState.DOWN)));
        harness.context.sweep();
        assertTrue(fastPath.syncs > 1, "each sweep brings the backends to the fast path");
        harness.channel.eventLoop().execute(harness.context::stop);
        harness.channel.runPendingTasks();
        assertEquals("close", fastPath.events.getLast(), "stopping detaches the fast path before flushing");
    }

    private void forward(ByteBuf frame) {
        harness.channel.writeInbound(frame);
        ByteBuf out = harness.channel.readOutbound();
        assertTrue(out != null, "every frame is forwarded");
        out.release();
    }

    private void forward(byte[] frame) {
        forward(Unpooled.wrappedBuffer(frame));
    }
}
