package io.loadshare.dispatch.l3;

import io.loadshare.core.mode.Arm;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.loadshare.core.metrics.DropReason;
import io.loadshare.core.packet.ArpHeader;
import io.loadshare.core.packet.Frames;
import io.loadshare.core.packet.Ipv4Address;
import io.loadshare.core.packet.MacAddress;
import io.loadshare.core.testing.TestFrames;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The LSNAT pipeline (one-armed) on an embedded channel, against scapy-made frames from
 * {@code dev/golden/lsnat_frames.py}: each input frame and the frame that must leave for it.
 */
class NatRewriterTest {
    private static final String SYN_IN = "0200000000fe02000000000108004500002800010000400602c2cb007102cb00710a9c400050000003e8000000005002faf09c6b0000";
    private static final String SYN_OUT = "02000000000b0200000000fe080045000028000100003f067dc1cb007102c000020b9c400050000003e8000000005002faf0166b0000";
    private static final String SYNACK_IN = "0200000000fe02000000000b0800450000280002000040067cc0c000020bcb00710200509c4000001388000003e95012fe88ff390000";
    private static final String SYNACK_OUT = "0200000000010200000000fe080045000028000200003f0603c1cb00710acb00710200509c4000001388000003e95012fe88853a0000";
    private static final String FRAG_NEEDED_IN = "0200000000fe02000000000b0800450000440003000040017bb5c00002fecb0071020304c13c00000578450005dc000440003f06380acb007102c000020b9c400050000003e9000013895010200012340000";
    private static final String FRAG_NEEDED_OUT = "0200000000010200000000fe080045000044000300003f017cb5c00002fecb0071020304c13c00000578450005dc000440003f06be0acb007102cb00710a9c400050000003e9000013895010200012340000";
    private static final long DISPATCHER_MAC = TestFrames.DISPATCHER_MAC;

    private L3Dispatcher lsnat;
    private LsnatHarness.MacChannel channel;

    @BeforeEach
    void setUp() throws Exception {
        lsnat = L3Dispatcher.builder()
                .service(L3Service.of("web", "203.0.113.10", 80, "round-robin", "192.0.2.11"))
                .settings(new L3Settings(Duration.ofMillis(100), 2, 0, 1000, 50))
                .build();
        channel = new LsnatHarness.MacChannel(lsnat.initializer(Arm.BOTH));
        LsnatHarness.bringUp(channel, lsnat, "192.0.2.11");
    }

    @AfterEach
    void tearDown() {
        channel.finishAndReleaseAll();
    }

    private String through(String frame) {
        channel.writeInbound(TestFrames.hex(frame));
        ByteBuf out = channel.readOutbound();
        if (out == null) {
            return null;
        }
        String hex = TestFrames.hex(out);
        out.release();
        return hex;
    }

    @Test
    void requestsRepliesAndIcmpErrorsAreTranslatedWithIncrementalChecksums() {
        assertEquals(SYN_OUT, through(SYN_IN), "request to the backend");
        assertEquals(SYNACK_OUT, through(SYNACK_IN), "reply to the client, from the cluster address");
        assertEquals(FRAG_NEEDED_OUT, through(FRAG_NEEDED_IN), "fragmentation needed, as the client must see it");
    }

    @Test
    void aReplyWithoutASessionIsDroppedAndCounted() {
        assertNull(through(SYNACK_IN));
        assertEquals(1, lsnat.context().counters().drops(DropReason.NO_SESSION));
    }

    @Test
    void theDispatcherAnswersArpForTheClusterAddress() {
        channel.writeInbound(Frames.arp(Unpooled.buffer(), MacAddress.BROADCAST, TestFrames.CLIENT_MAC, ArpHeader.REQUEST,
                TestFrames.CLIENT_MAC, Ipv4Address.parse("203.0.113.2"), MacAddress.ZERO,
                Ipv4Address.parse("203.0.113.10")));
        ByteBuf reply = channel.readOutbound();
        ByteBuf expected = Frames.arp(Unpooled.buffer(), TestFrames.CLIENT_MAC, DISPATCHER_MAC, ArpHeader.REPLY,
                DISPATCHER_MAC, Ipv4Address.parse("203.0.113.10"), TestFrames.CLIENT_MAC, Ipv4Address.parse("203.0.113.2"));
        assertEquals(TestFrames.hex(expected), TestFrames.hex(reply));
        reply.release();
        expected.release();
    }
}
