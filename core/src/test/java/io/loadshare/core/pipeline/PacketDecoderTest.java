package io.loadshare.core.pipeline;

import static io.loadshare.core.testing.TestFrames.hex;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loadshare.core.config.CoreSettings;
import io.loadshare.core.metrics.DropReason;
import io.loadshare.core.packet.EtherType;
import io.loadshare.core.packet.IpProtocol;
import io.loadshare.core.session.FlowKey;
import io.loadshare.core.testing.GoldenFrames;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The decoder over golden frames and a malformed-frame corpus made by mutating them. */
class PacketDecoderTest {
    private final DispatchContext context = new DispatchContext(CoreSettings.defaults(), new ServiceTable(List.of()));
    private final List<String> seen = new ArrayList<>();
    private final EmbeddedChannel channel = new EmbeddedChannel(new PacketDecoder(context), new ChannelInboundHandlerAdapter() {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            Packet packet = (Packet) msg;
            seen.add(describe(packet));
            ReferenceCountUtil.release(msg);
        }
    });

    @AfterEach
    void close() {
        assertFalse(channel.finishAndReleaseAll());
    }

    private static String describe(Packet p) {
        if (!p.isIpv4()) {
            return "ethertype=" + Integer.toHexString(p.etherType());
        }
        return FlowKey.of(p) + " flags=" + p.tcpFlags() + (p.isIcmpError() ? " icmp-error" : "")
                + " start=" + p.isSessionStart();
    }

    private String decode(String hex) {
        seen.clear();
        channel.writeInbound(hex(hex));
        assertTrue(seen.size() <= 1);
        return seen.isEmpty() ? null : seen.get(0);
    }

    @Test
    void decodesEveryGoldenFrame() {
        assertEquals("tcp 203.0.113.5:40000 -> 192.0.2.10:80 flags=2 start=true", decode(GoldenFrames.TCP_SYN));
        assertEquals("tcp 203.0.113.5:40000 -> 192.0.2.10:80 flags=24 start=false",
                decode(GoldenFrames.TCP_DATA_IP_OPTIONS));
        assertEquals("tcp 203.0.113.5:40000 -> 192.0.2.10:80 flags=17 start=false", decode(GoldenFrames.TCP_FIN_VLAN));
        assertEquals("udp 203.0.113.5:53000 -> 192.0.2.10:53 flags=0 start=true", decode(GoldenFrames.UDP_DNS));
        // The error quotes VIP:80 -> client:40000; its flow is the session's own direction.
        assertEquals("tcp 203.0.113.5:40000 -> 192.0.2.10:80 flags=0 icmp-error start=false",
                decode(GoldenFrames.ICMP_FRAG_NEEDED));
        assertEquals("icmp 203.0.113.5:0 -> 192.0.2.10:0 flags=0 start=false", decode(GoldenFrames.ICMP_ECHO));
        assertEquals("ethertype=806", decode(GoldenFrames.ARP_WHO_HAS_VIP));
        assertEquals("ethertype=806", decode(GoldenFrames.ARP_REPLY_VIP));
        assertEquals(0, context.counters().totalDrops());
    }

    @Test
    void packetViewsPointIntoTheFrame() {
        List<Integer> offsets = new ArrayList<>();
        EmbeddedChannel probe = new EmbeddedChannel(new PacketDecoder(context), new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                Packet p = (Packet) msg;
                offsets.add(p.ip().offset());
                offsets.add(p.tcp().offset());
                offsets.add(p.ip().protocol());
                offsets.add(p.ethernet().etherType());
                ReferenceCountUtil.release(msg);
            }
        });
        probe.writeInbound(hex(GoldenFrames.TCP_FIN_VLAN));
        probe.writeInbound(hex(GoldenFrames.TCP_DATA_IP_OPTIONS));
        assertEquals(List.of(18, 38, IpProtocol.TCP, EtherType.IPV4, 14, 46, IpProtocol.TCP, EtherType.IPV4), offsets);
        assertFalse(probe.finishAndReleaseAll());
    }

    @Test
    void truncationAtEveryOffsetIsDroppedWithItsReason() {
        for (String golden : GoldenFrames.VALID) {
            ByteBuf whole = hex(golden);
            int l3 = whole.getUnsignedShort(12) == EtherType.VLAN ? 18 : 14;
            for (int length = 0; length < whole.readableBytes(); length++) {
                long before = drops(reasonForTruncation(whole, l3, length));
                assertNull(decode(golden.substring(0, length * 2)), golden + " cut at " + length);
                assertEquals(before + 1, drops(reasonForTruncation(whole, l3, length)), golden + " cut at " + length);
            }
        }
    }

    private static DropReason reasonForTruncation(ByteBuf whole, int l3, int length) {
        if (length < l3) {
            return DropReason.TRUNCATED_ETHERNET;
        }
        return whole.getUnsignedShort(l3 - 2) == EtherType.ARP ? DropReason.MALFORMED_ARP : DropReason.TRUNCATED_IPV4;
    }

    @Test
    void zeroLengthFrame() {
        channel.writeInbound(Unpooled.EMPTY_BUFFER);
        assertEquals(1, drops(DropReason.TRUNCATED_ETHERNET));
    }

    @Test
    void malformedHeaders() {
        assertDropped(GoldenFrames.TCP_SYN, 14, 0x65, DropReason.BAD_IP_VERSION);
        assertDropped(GoldenFrames.TCP_SYN, 14, 0x44, DropReason.BAD_IHL);
        assertDropped(GoldenFrames.TCP_SYN, 14, 0x4f, DropReason.TRUNCATED_IPV4);
        assertDroppedShort(GoldenFrames.TCP_SYN, 16, 19, DropReason.BAD_TOTAL_LENGTH);
        assertDroppedShort(GoldenFrames.TCP_SYN, 16, 45, DropReason.TRUNCATED_IPV4);
        assertDroppedShort(GoldenFrames.TCP_SYN, 24, 0x1234, DropReason.BAD_IP_CHECKSUM);
        assertDropped(GoldenFrames.TCP_SYN, 46, 0x40, DropReason.BAD_TCP_OFFSET);
        assertDropped(GoldenFrames.TCP_SYN, 46, 0x70, DropReason.BAD_TCP_OFFSET);
        assertDropped(GoldenFrames.ARP_REPLY_VIP, 18, 8, DropReason.MALFORMED_ARP);
        assertEquals(null, decode(GoldenFrames.IPV6));
        assertEquals(1, drops(DropReason.UNSUPPORTED_ETHERTYPE));
        assertEquals(null, decode(GoldenFrames.UDP_FIRST_FRAGMENT));
        assertEquals(1, drops(DropReason.FRAGMENT));
    }

    @Test
    void malformedTransportHeadersWithValidIpChecksums() {
        // UDP length 7 and 21 (datagram holds 20).
        assertDroppedFixed(GoldenFrames.UDP_DNS, 38, 7, DropReason.BAD_UDP_LENGTH);
        assertDroppedFixed(GoldenFrames.UDP_DNS, 38, 21, DropReason.BAD_UDP_LENGTH);
        // Total length leaving only 19 TCP bytes, 7 UDP bytes, 7 ICMP bytes.
        assertTotalLength(GoldenFrames.TCP_SYN, 39, DropReason.TRUNCATED_TCP);
        assertTotalLength(GoldenFrames.UDP_DNS, 27, DropReason.TRUNCATED_UDP);
        assertTotalLength(GoldenFrames.ICMP_ECHO, 27, DropReason.MALFORMED_ICMP);
        // An ICMP error quoting too little of the offending datagram.
        assertTotalLength(GoldenFrames.ICMP_FRAG_NEEDED, 20 + 8 + 20 + 3, DropReason.MALFORMED_ICMP);
        // Protocol 47 (GRE).
        ByteBuf gre = hex(GoldenFrames.TCP_SYN);
        gre.setByte(23, 47);
        fixIpChecksum(gre, 14);
        channel.writeInbound(gre);
        assertEquals(1, drops(DropReason.UNSUPPORTED_PROTOCOL));
    }

    @Test
    void randomBytesNeverThrowOrLeak() {
        SplittableRandom random = new SplittableRandom(42);
        for (int i = 0; i < 20_000; i++) {
            ByteBuf base = hex(GoldenFrames.VALID[random.nextInt(GoldenFrames.VALID.length)]);
            int flips = random.nextInt(1, 6);
            for (int f = 0; f < flips; f++) {
                int at = random.nextInt(base.readableBytes());
                base.setByte(at, random.nextInt(256));
            }
            if (random.nextBoolean()) {
                fixIpChecksumIfIpv4(base);
            }
            channel.writeInbound(base);
        }
        long decoded = seen.size();
        assertEquals(20_000, decoded + context.counters().totalDrops());
    }

    private void assertDropped(String golden, int index, int value, DropReason reason) {
        ByteBuf frame = hex(golden);
        frame.setByte(index, value);
        long before = drops(reason);
        channel.writeInbound(frame);
        assertEquals(before + 1, drops(reason), reason.label());
    }

    private void assertDroppedShort(String golden, int index, int value, DropReason reason) {
        ByteBuf frame = hex(golden);
        frame.setShort(index, value);
        long before = drops(reason);
        channel.writeInbound(frame);
        assertEquals(before + 1, drops(reason), reason.label());
    }

    private void assertDroppedFixed(String golden, int index, int value, DropReason reason) {
        ByteBuf frame = hex(golden);
        frame.setShort(index, value);
        fixIpChecksum(frame, 14);
        long before = drops(reason);
        channel.writeInbound(frame);
        assertEquals(before + 1, drops(reason), reason.label());
    }

    private void assertTotalLength(String golden, int totalLength, DropReason reason) {
        assertDroppedFixed(golden, 16, totalLength, reason);
    }

    private static void fixIpChecksum(ByteBuf frame, int l3) {
        io.loadshare.core.packet.Ipv4Header ip = new io.loadshare.core.packet.Ipv4Header();
        ip.wrap(frame, l3);
        ip.computeChecksum();
    }

    private static void fixIpChecksumIfIpv4(ByteBuf frame) {
        if (frame.getUnsignedShort(12) == EtherType.IPV4 && (frame.getUnsignedByte(14) & 0x0F) >= 5
                && 14 + ((frame.getUnsignedByte(14) & 0x0F) << 2) <= frame.readableBytes()) {
            fixIpChecksum(frame, 14);
        }
    }

    private long drops(DropReason reason) {
        return context.counters().drops(reason);
    }
}
