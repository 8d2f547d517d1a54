package io.loadshare.dispatch.l3;

import io.loadshare.core.metrics.ControlEvent;
import io.loadshare.core.packet.EtherType;
import io.loadshare.core.packet.EthernetHeader;
import io.loadshare.core.packet.InternetChecksum;
import io.loadshare.core.packet.IpProtocol;
import io.loadshare.core.packet.Ipv4Header;
import io.loadshare.core.packet.VirtioNetHeader;
import io.loadshare.core.pipeline.DispatchContext;
import io.loadshare.core.pipeline.HardwareAddressed;
import io.loadshare.core.pipeline.Packet;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;

/**
 * The dispatcher's own ICMP "fragmentation needed" (RFC 792 type 3 code 4, with the next-hop MTU of RFC 1191
 * section 4), for a DF datagram too large for the arm it must leave by: without it, a host doing path MTU
 * discovery behind a smaller link would retransmit into a black hole. The error goes back where the datagram came
 * from, quoting it as its sender sent it (before translation), so the sender's stack finds its own connection.
 *
 * <p>Size is judged per segment for a GSO super-frame (IP and transport headers plus {@code gso_size}), as Linux
 * does when it forwards one. Errors are limited by a token bucket, as Linux limits its own
 * ({@code icmp_msgs_per_sec}, {@code icmp_msgs_burst}); one held back is counted as
 * {@link ControlEvent#ICMP_RATE_LIMITED}.
 *
 * <p>Owned by the dispatcher's event loop. The error is a new buffer (a rare, rate-limited event, not the data path);
 * the datagram it answers stays with the caller.
 */
final class FragmentationNeeded {
    /** RFC 1812 section 4.3.2.3: an error holds as much of the datagram as fits in 576 bytes. */
    private static final int MAX_ERROR_LENGTH = 576;
    private static final int ICMP_HEADER = 8;
    private static final int TTL = 64;
    /** IP precedence "internetwork control", as Linux marks its ICMP errors. */
    private static final int TOS_INTERNET_CONTROL = 0xC0;

    private final DispatchContext context;
    private final double tokensPerMilli;
    private final double burst;
    private double tokens;
    private int lastRefill;

    FragmentationNeeded(DispatchContext context, int ratePerSecond, int burst) {
        this.context = context;
        this.tokensPerMilli = ratePerSecond / 1000.0;
        this.burst = burst;
        this.tokens = burst;
    }

    /**
     * The size the datagram (or each segment of a GSO super-frame) has on the wire, counted from its IP header,
     * if that exceeds {@code mtu}; otherwise 0.
     */
    static int exceeds(Packet packet, int mtu) {
        Ipv4Header ip = packet.ip();
        ByteBuf frame = packet.content();
        int size = ip.totalLength();
        if (VirtioNetHeader.isPresent(frame) && VirtioNetHeader.gsoType(frame) != VirtioNetHeader.GSO_NONE) {
            int transportHeader = packet.ipProtocol() == IpProtocol.TCP ? packet.tcp().headerLength() : 8;
            size = Math.min(size, ip.headerLength() + transportHeader + VirtioNetHeader.gsoSize(frame));
        }
        return size > mtu ? size : 0;
    }

    /**
     * Sends the error for {@code packet} out of {@code in}, the channel it arrived on, unless the rate limit holds
     * it back.
     *
     * @param source the address the error comes from: one the dispatcher owns on that side
     * @param mtu the MTU of the arm the datagram could not leave by
     */
    void send(Channel in, Packet packet, int source, int mtu) {
        if (!takeToken()) {
            context.counters().event(ControlEvent.ICMP_RATE_LIMITED);
            return;
        }
        Ipv4Header original = packet.ip();
        int quoted = Math.min(original.totalLength(),
                Math.min(packet.content().writerIndex() - original.offset(),
                        MAX_ERROR_LENGTH - Ipv4Header.MIN_LENGTH - ICMP_HEADER));
        int ipLength = Ipv4Header.MIN_LENGTH + ICMP_HEADER + quoted;
        ByteBuf error = in.alloc().directBuffer(EthernetHeader.LENGTH + ipLength);
        error.writeLong(packet.ethernet().source() << 16 | ((HardwareAddressed) in).hardwareAddress() >>> 32);
        error.writeInt((int) ((HardwareAddressed) in).hardwareAddress());
        error.writeShort(EtherType.IPV4);
        int ip = error.writerIndex();
        error.writeByte(0x45).writeByte(TOS_INTERNET_CONTROL).writeShort(ipLength).writeInt(0)
                .writeByte(TTL).writeByte(IpProtocol.ICMP).writeShort(0)
                .writeInt(source).writeInt(original.source());
        error.setShort(ip + 10, InternetChecksum.checksum(error, ip, Ipv4Header.MIN_LENGTH));
        int icmp = error.writerIndex();
        error.writeByte(3).writeByte(4).writeShort(0).writeShort(0).writeShort(mtu);
        error.writeBytes(packet.content(), original.offset(), quoted);
        error.setShort(icmp + 2, InternetChecksum.checksum(error, icmp, ICMP_HEADER + quoted));
        in.writeAndFlush(error, in.voidPromise());
    }

    private boolean takeToken() {
        int now = context.now();
        tokens = Math.min(burst, tokens + (now - lastRefill) * tokensPerMilli);
        lastRefill = now;
        if (tokens < 1) {
            return false;
        }
        tokens--;
        return true;
    }
}
