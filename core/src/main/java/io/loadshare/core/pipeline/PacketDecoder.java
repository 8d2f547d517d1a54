package io.loadshare.core.pipeline;

import io.loadshare.core.metrics.DropReason;
import io.loadshare.core.packet.ArpHeader;
import io.loadshare.core.packet.EtherType;
import io.loadshare.core.packet.EthernetHeader;
import io.loadshare.core.packet.IcmpHeader;
import io.loadshare.core.packet.IpProtocol;
import io.loadshare.core.packet.Ipv4Header;
import io.loadshare.core.packet.TcpHeader;
import io.loadshare.core.packet.UdpHeader;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

/**
 * Decode: turns each inbound Ethernet frame ({@link ByteBuf}, reader index at the Ethernet header) into the
 * channel's reusable {@link Packet}, after checking every length and field the later steps rely on.
 *
 * <p>Ownership: a valid frame's buffer is forwarded inside the {@link Packet}; a malformed one is released here
 * and counted under its {@link DropReason}. Other messages pass through untouched. Nothing throws out of this
 * handler for any input bytes.
 *
 * <p>Not sharable: each channel gets its own decoder, and so its own packet.
 */
public final class PacketDecoder extends ChannelInboundHandlerAdapter {
    private static final int PORTS_LENGTH = 4;

    private final DispatchContext context;
    private final Packet packet = new Packet();

    public PacketDecoder(DispatchContext context) {
        this.context = context;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof ByteBuf frame)) {
            ctx.fireChannelRead(msg);
            return;
        }
        packet.startFrame(frame);
        DropReason reason = decode(frame);
        if (reason != null) {
            packet.detach();
            context.drop(frame, reason);
            return;
        }
        ctx.fireChannelRead(packet);
    }

    /** Fills the packet's views; returns why the frame is malformed, or null. */
    private DropReason decode(ByteBuf frame) {
        int start = frame.readerIndex();
        int end = frame.writerIndex();
        if (end - start < EthernetHeader.LENGTH) {
            return DropReason.TRUNCATED_ETHERNET;
        }
        EthernetHeader ethernet = packet.ethernet();
        if (ethernet.hasVlanTag() && end - start < EthernetHeader.LENGTH + EthernetHeader.VLAN_TAG_LENGTH) {
            return DropReason.TRUNCATED_ETHERNET;
        }
        int etherType = ethernet.etherType();
        int l3 = start + ethernet.headerLength();
        packet.setEtherType(etherType);
        if (etherType == EtherType.ARP) {
            if (end - l3 < ArpHeader.LENGTH) {
                return DropReason.MALFORMED_ARP;
            }
            packet.arp().wrap(frame, l3);
            return packet.arp().isEthernetIpv4() ? null : DropReason.MALFORMED_ARP;
        }
        if (etherType != EtherType.IPV4) {
            return DropReason.UNSUPPORTED_ETHERTYPE;
        }
        Ipv4Header ip = packet.ip();
        ip.wrap(frame, l3);
        DropReason ipProblem = checkIpv4(ip, end - l3);
        if (ipProblem != null) {
            return ipProblem;
        }
        if (!ip.isChecksumValid()) {
            return DropReason.BAD_IP_CHECKSUM;
        }
        if (ip.isFragment()) {
            return DropReason.FRAGMENT;
        }
        int l4 = l3 + ip.headerLength();
        int l4Length = ip.totalLength() - ip.headerLength();
        return switch (ip.protocol()) {
            case IpProtocol.TCP -> decodeTcp(frame, ip, l4, l4Length);
            case IpProtocol.UDP -> decodeUdp(frame, ip, l4, l4Length);
            case IpProtocol.ICMP -> decodeIcmp(frame, l4, l4Length);
            default -> DropReason.UNSUPPORTED_PROTOCOL;
        };
    }

    /** Checks version, IHL and total length against the bytes present. */
    private static DropReason checkIpv4(Ipv4Header ip, int available) {
        if (available < Ipv4Header.MIN_LENGTH) {
            return DropReason.TRUNCATED_IPV4;
        }
        if (ip.version() != 4) {
            return DropReason.BAD_IP_VERSION;
        }
        if (ip.ihl() < 5) {
            return DropReason.BAD_IHL;
        }
        if (ip.headerLength() > available) {
            return DropReason.TRUNCATED_IPV4;
        }
        if (ip.totalLength() < ip.headerLength()) {
            return DropReason.BAD_TOTAL_LENGTH;
        }
        if (ip.totalLength() > available) {
            return DropReason.TRUNCATED_IPV4;
        }
        return null;
    }

    private DropReason decodeTcp(ByteBuf frame, Ipv4Header ip, int l4, int l4Length) {
        if (l4Length < TcpHeader.MIN_LENGTH) {
            return DropReason.TRUNCATED_TCP;
        }
        TcpHeader tcp = packet.tcp();
        tcp.wrap(frame, l4);
        int headerLength = tcp.headerLength();
        if (headerLength < TcpHeader.MIN_LENGTH || headerLength > l4Length) {
            return DropReason.BAD_TCP_OFFSET;
        }
        packet.setFlow(IpProtocol.TCP, ip.source(), tcp.sourcePort(), ip.destination(), tcp.destinationPort());
        packet.setTcpFlags(tcp.flags());
        return null;
    }

    private DropReason decodeUdp(ByteBuf frame, Ipv4Header ip, int l4, int l4Length) {
        if (l4Length < UdpHeader.LENGTH) {
            return DropReason.TRUNCATED_UDP;
        }
        UdpHeader udp = packet.udp();
        udp.wrap(frame, l4);
        if (udp.length() < UdpHeader.LENGTH || udp.length() > l4Length) {
            return DropReason.BAD_UDP_LENGTH;
        }
        packet.setFlow(IpProtocol.UDP, ip.source(), udp.sourcePort(), ip.destination(), udp.destinationPort());
        return null;
    }

    /**
     * An ICMP error's flow is the reverse of the TCP/UDP datagram it quotes: the error is about a packet that
     * left the session's far end, so reversing gives the session's own direction.
     */
    private DropReason decodeIcmp(ByteBuf frame, int l4, int l4Length) {
        if (l4Length < IcmpHeader.LENGTH) {
            return DropReason.MALFORMED_ICMP;
        }
        IcmpHeader icmp = packet.icmp();
        icmp.wrap(frame, l4);
        if (!icmp.isError()) {
            packet.setFlow(IpProtocol.ICMP, packet.ip().source(), 0, packet.ip().destination(), 0);
            return null;
        }
        int quoted = icmp.quotedOffset();
        int quotedAvailable = l4Length - IcmpHeader.LENGTH;
        Ipv4Header inner = packet.quotedIp();
        inner.wrap(frame, quoted);
        if (quotedAvailable < Ipv4Header.MIN_LENGTH || inner.version() != 4 || inner.ihl() < 5
                || inner.headerLength() + PORTS_LENGTH > quotedAvailable) {
            return DropReason.MALFORMED_ICMP;
        }
        int innerProtocol = inner.protocol();
        if (innerProtocol != IpProtocol.TCP && innerProtocol != IpProtocol.UDP) {
            return DropReason.UNHANDLED_ICMP;
        }
        int innerL4 = quoted + inner.headerLength();
        int innerSourcePort = frame.getUnsignedShort(innerL4);
        int innerDestinationPort = frame.getUnsignedShort(innerL4 + 2);
        packet.setFlow(innerProtocol, inner.destination(), innerDestinationPort, inner.source(), innerSourcePort);
        packet.setIcmpError(innerL4);
        return null;
    }
}
