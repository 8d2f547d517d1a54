package io.loadshare.distribution;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loadshare.core.packet.Frames;
import io.loadshare.core.packet.Ipv4Address;
import io.loadshare.core.packet.MacAddress;
import io.loadshare.core.packet.TcpHeader;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The SYN probe's frames and verdicts, over an {@link EmbeddedChannel}. Expected frames are built with
 * {@link Frames#tcp} from the probe's own source port and sequence number, which are random; each test reads them
 * from the SYN the probe sent.
 */
class SynProbeTest {
    private static final long DISPATCHER_MAC = MacAddress.parse("02:00:00:00:00:01");
    private static final long BACKEND_MAC = MacAddress.parse("02:00:00:00:00:0b");
    /** Where an answer comes from: a backend, or a router in between. */
    private static final long ANSWER_MAC = MacAddress.parse("02:00:00:00:00:fe");
    private static final int DISPATCHER = Ipv4Address.parse("192.0.2.1");
    private static final int VIP = Ipv4Address.parse("198.51.100.10");
    private static final byte[] NONE = new byte[0];

    private EmbeddedChannel channel;
    private SynProbe probe;

    @BeforeEach
    void open() {
        channel = new EmbeddedChannel();
        probe = new SynProbe(channel, DISPATCHER_MAC, DISPATCHER);
    }

    /** The SYN just sent, byte for byte as expected; returns its source port and sequence number. */
    private long[] sentSyn() {
        ByteBuf syn = channel.readOutbound();
        try {
            int port = syn.getUnsignedShort(14 + 20);
            long sequence = syn.getUnsignedInt(14 + 20 + 4);
            assertTrue(port >= 49152, "a dynamic port: " + port);
            ByteBuf expected = Frames.tcp(Unpooled.buffer(), BACKEND_MAC, DISPATCHER_MAC, DISPATCHER, port, VIP, 80,
                    sequence, 0, TcpHeader.SYN, NONE);
            assertEquals(ByteBufUtil.hexDump(expected), ByteBufUtil.hexDump(syn));
            expected.release();
            return new long[] {port, sequence};
        } finally {
            syn.release();
        }
    }

    private void answer(long[] syn, long acknowledgement, int flags) {
        channel.writeInbound(Frames.tcp(Unpooled.directBuffer(), BACKEND_MAC, ANSWER_MAC, VIP, 80,
                DISPATCHER, (int) syn[0], 777, acknowledgement, flags, NONE));
    }

    @Test
    void aSynAckThatAcknowledgesTheProbePassesItAndIsReset() {
        Future<Boolean> verdict = probe.probe(VIP, 80, BACKEND_MAC, 150);
        long[] syn = sentSyn();
        answer(syn, syn[1] + 1, TcpHeader.SYN | TcpHeader.ACK);
        assertTrue(verdict.isDone() && verdict.getNow());
        // The reset goes back the way the answer came, from the router or backend that sent it.
        ByteBuf reset = channel.readOutbound();
        ByteBuf expected = Frames.tcp(Unpooled.buffer(), ANSWER_MAC, DISPATCHER_MAC, DISPATCHER, (int) syn[0],
                VIP, 80, (syn[1] + 1) & 0xFFFF_FFFFL, 0, TcpHeader.RST, NONE);
        assertEquals(ByteBufUtil.hexDump(expected), ByteBufUtil.hexDump(reset));
        expected.release();
        reset.release();
        assertFalse(channel.finish());
    }

    @Test
    void aResetFailsTheProbe() {
        Future<Boolean> verdict = probe.probe(VIP, 80, BACKEND_MAC, 150);
        long[] syn = sentSyn();
        answer(syn, syn[1] + 1, TcpHeader.RST | TcpHeader.ACK);
        assertTrue(verdict.isDone());
        assertFalse(verdict.getNow());
        assertNull(channel.readOutbound());
    }

    @Test
    void anAnswerToAnotherProbeIsIgnoredAndSilenceFails() {
        Future<Boolean> verdict = probe.probe(VIP, 80, BACKEND_MAC, 150);
        long[] syn = sentSyn();
        answer(syn, syn[1] + 2, TcpHeader.SYN | TcpHeader.ACK);
        answer(new long[] {syn[0] + 1, syn[1]}, syn[1] + 1, TcpHeader.SYN | TcpHeader.ACK);
        channel.writeInbound(Unpooled.wrappedBuffer(new byte[] {1, 2, 3}));
        assertFalse(verdict.isDone());
        assertNull(channel.readOutbound());
        channel.advanceTimeBy(150, TimeUnit.MILLISECONDS);
        channel.runScheduledPendingTasks();
        assertTrue(verdict.isDone());
        assertFalse(verdict.getNow());
        // Its port is free again: an answer that comes late passes nothing.
        answer(syn, syn[1] + 1, TcpHeader.SYN | TcpHeader.ACK);
        assertNull(channel.readOutbound());
    }
}
