package io.loadshare.core.pipeline;

import static io.loadshare.core.testing.PipelineHarness.CLIENT;
import static io.loadshare.core.testing.PipelineHarness.VIP;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.loadshare.core.metrics.DropReason;
import io.loadshare.core.packet.TcpHeader;
import io.loadshare.core.testing.PipelineHarness;
import io.loadshare.core.testing.TestFrames;
import io.loadshare.core.testing.TestMacRewriter;
import io.netty.buffer.ByteBuf;
import org.junit.jupiter.api.Test;

/** {@code source-limit} in the pipeline: new sessions over a source's limit are dropped and counted, nothing else. */
class SourceLimitTest {
    private static final byte[] NONE = new byte[0];

    private static ByteBuf send(PipelineHarness harness, int client, int port, int flags) {
        harness.channel.writeInbound(TestFrames.tcp(client, port, VIP, 80, flags, NONE));
        return harness.channel.readOutbound();
    }

    @Test
    void newSessionsOverASourcesLimitAreDroppedAndCounted() {
        try (PipelineHarness harness = new PipelineHarness("io.loadshare.core.source-limit { rate = 1, burst = 2 }",
                context -> new TestMacRewriter())) {
            send(harness, CLIENT, 40000, TcpHeader.SYN).release();
            send(harness, CLIENT, 40001, TcpHeader.SYN).release();
            assertNull(send(harness, CLIENT, 40002, TcpHeader.SYN), "the third new session in a burst of 2");
            assertEquals(1, harness.context.counters().drops(DropReason.SOURCE_LIMIT));
            ByteBuf retransmitted = send(harness, CLIENT, 40000, TcpHeader.SYN);
            assertNotNull(retransmitted, "a retransmitted SYN belongs to its session and takes no token");
            retransmitted.release();
            ByteBuf established = send(harness, CLIENT, 40001, TcpHeader.ACK);
            assertNotNull(established, "a session's later segments are never limited");
            established.release();
            ByteBuf other = send(harness, CLIENT + 1, 40002, TcpHeader.SYN);
            assertNotNull(other, "another source has its own bucket");
            other.release();
            harness.advance(1000);
            ByteBuf refilled = send(harness, CLIENT, 40002, TcpHeader.SYN);
            assertNotNull(refilled, "the client's retransmitted SYN a second later gets in");
            refilled.release();
            assertEquals(1, harness.context.counters().drops(DropReason.SOURCE_LIMIT));
        }
    }
}
