package io.loadshare.core.pipeline;

import static io.loadshare.core.testing.PipelineHarness.CLIENT;
import static io.loadshare.core.testing.PipelineHarness.VIP;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loadshare.core.packet.TcpHeader;
import io.loadshare.core.session.SessionEnd;
import io.loadshare.core.testing.PipelineHarness;
import io.loadshare.core.testing.TestFrames;
import io.loadshare.core.testing.TestMacRewriter;
import io.netty.buffer.ByteBuf;
import io.netty.util.concurrent.Future;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * A departed backend's sessions are ended a slice of the table per task, not in one stall of the event loop, and
 * all of them: the others' stay.
 */
class BackendRemovalTest {
    private static final byte[] NONE = new byte[0];
    private static final int SESSIONS = 30_000;

    @Test
    void aDepartedBackendsSessionsEndSliceBySlice() {
        try (PipelineHarness harness = new PipelineHarness("io.loadshare.core.session.max-sessions = 100000",
                context -> new TestMacRewriter())) {
            harness.context.start(harness.channel.eventLoop());
            for (int i = 0; i < SESSIONS; i++) {
                harness.channel.writeInbound(TestFrames.tcp(CLIENT + i / 60_000, 1024 + i % 60_000, VIP, 80,
                        TcpHeader.SYN, NONE));
                ((ByteBuf) harness.channel.readOutbound()).release();
            }
            long onTwo = harness.context.counters().activeSessions(2);
            assertEquals(SESSIONS / 3, onTwo, "the cycling scheduler spread them evenly");

            harness.web.publish(harness.web.pool().without(2));
            Future<?> ended = harness.context.endSessionsOf(harness.web.index(), Set.of(2));
            assertFalse(ended.isDone(), "the table is larger than a slice: the rest waits for the loop's next tasks");
            assertTrue(harness.context.counters().activeSessions(2) < onTwo, "the first slice ended some at once");
            harness.channel.runPendingTasks();
            assertTrue(ended.isDone());
            assertEquals(0, harness.context.counters().activeSessions(2));
            assertEquals(onTwo, harness.context.counters().sessionsEnded(SessionEnd.BACKEND_GONE));
            assertEquals(SESSIONS - onTwo, harness.context.sessions().size(), "the other backends' sessions stay");
        }
    }
}
