package io.loadshare.dispatch.l2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.loadshare.core.backend.BackendPool;
import io.loadshare.core.metrics.DropReason;
import io.loadshare.core.packet.MacAddress;
import io.loadshare.core.testing.GoldenFrames;
import io.loadshare.core.testing.PipelineHarness;
import io.loadshare.core.testing.TestFrames;
import io.netty.buffer.ByteBuf;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The rewriter in the full pipeline, against scapy-made input and expected frames (core's GoldenFrames). */
class MacRewriterTest {
    private final PipelineHarness harness =
            new PipelineHarness("", context -> new MacRewriter(context, TestFrames.DISPATCHER_MAC));

    @AfterEach
    void close() {
        harness.close();
    }

    @Test
    void rewritesBothMacsAndNothingElse() {
        BackendPool pool = harness.web.pool();
        harness.web.publish(pool.with(pool.byId(1).withMac(TestFrames.BACKEND_MAC)));
        harness.channel.writeInbound(TestFrames.hex(GoldenFrames.TCP_SYN));
        ByteBuf out = harness.channel.readOutbound();
        assertEquals(GoldenFrames.TCP_SYN_TO_BACKEND_MAC, TestFrames.hex(out));
        out.release();
    }

    @Test
    void vlanTagPassesThrough() {
        harness.channel.writeInbound(TestFrames.hex(GoldenFrames.TCP_SYN));
        ((ByteBuf) harness.channel.readOutbound()).release();
        harness.channel.writeInbound(TestFrames.hex(GoldenFrames.TCP_FIN_VLAN));
        ByteBuf out = harness.channel.readOutbound();
        String expected = "020000000101" + "0200000000fe" + GoldenFrames.TCP_FIN_VLAN.substring(24);
        assertEquals(expected, TestFrames.hex(out));
        out.release();
    }

    @Test
    void unknownBackendMacIsDroppedAndCounted() {
        BackendPool pool = harness.web.pool();
        harness.web.publish(pool.with(pool.byId(1).withMac(MacAddress.UNKNOWN)));
        harness.channel.writeInbound(TestFrames.hex(GoldenFrames.TCP_SYN));
        assertNull(harness.channel.readOutbound());
        assertEquals(1, harness.context.counters().drops(DropReason.NO_BACKEND_MAC));
    }
}
