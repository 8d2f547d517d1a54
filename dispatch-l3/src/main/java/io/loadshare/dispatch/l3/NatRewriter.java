package io.loadshare.dispatch.l3;

import io.loadshare.core.backend.Backend;
import io.loadshare.core.metrics.DropReason;
import io.loadshare.core.packet.IcmpHeader;
import io.loadshare.core.packet.InternetChecksum;
import io.loadshare.core.packet.IpProtocol;
import io.loadshare.core.packet.Ipv4Header;
import io.loadshare.core.packet.MacAddress;
import io.loadshare.core.packet.TcpHeader;
import io.loadshare.core.packet.UdpHeader;
import io.loadshare.core.pipeline.DispatchContext;
import io.loadshare.core.pipeline.HardwareAddressed;
import io.loadshare.core.pipeline.Packet;
import io.loadshare.core.pipeline.Service;
import io.loadshare.core.session.SessionEnd;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

/**
 * LSNAT's rewrite step (RFC 2391 section 3; paper section 3.2). A request to a cluster address gets the chosen
 * backend's address as destination (and the backend port, where the service translates ports); in full-NAT mode
 * its source becomes the source-NAT address and a port allocated for the session. A reply gets the cluster address
 * and virtual port back as its source (and, in full NAT, the client back as its destination). The TTL drops by one,
 * as through any router. The MACs are set for the next hop: the backend's, or, for a reply, the session's last hop:
 * the MAC its first request came from (as F5's "auto last hop" does), so that no later frame can move where a
 * session's replies go.
 *
 * <p>Checksums are updated incrementally, never recomputed: RFC 1624 (equation 3) for the IP header and for complete
 * TCP/UDP checksums; for a partial checksum (the sender left it to offload, see {@link Packet#isChecksumPartial()})
 * only the pseudo-header changes count, with the opposite sign, and the kernel completes it on transmit. A UDP
 * checksum of 0 (none) stays 0.
 *
 * <p>ICMP errors about a session (RFC 792, RFC 1191) are translated too: the outer address of the session's side,
 * and the quoted header with its checksum, the quoted ports, and the ICMP checksum over all of it. So path MTU
 * discovery keeps working through the dispatcher.
 *
 * <p>A datagram too large for the arm it must leave by is not translated: with DF set the dispatcher answers it
 * with its own "fragmentation needed" ({@link FragmentationNeeded}); it never fragments.
 *
 * <p>Ownership: a rewritten packet is forwarded; one with no next-hop MAC, an expired TTL, no free full-NAT port, no
 * bound arm to leave by, or too large for that arm is released here and counted.
 */
final class NatRewriter extends ChannelInboundHandlerAdapter {
    private static final int PORT_OFFSET_SOURCE = 0;
    private static final int PORT_OFFSET_DESTINATION = 2;

    private final L3Worker worker;
    private final DispatchContext context;

    NatRewriter(L3Worker worker) {
        this.worker = worker;
        this.context = worker.context;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof Packet packet)) {
            ctx.fireChannelRead(msg);
            return;
        }
        Channel out = packet.isReply() ? worker.clientChannel : worker.backendChannel;
        DropReason reason = out == null ? DropReason.ARM_NOT_READY : tooBig(ctx.channel(), out, packet);
        if (reason == null) {
            reason = packet.isReply() ? rewriteReply(packet, out) : rewriteRequest(packet, out);
        }
        if (reason != null) {
            context.drop(packet, reason);
            return;
        }
        ctx.fireChannelRead(packet);
    }

    /**
     * Null if the packet fits the arm it leaves by. Otherwise the reason it is dropped; with DF set, "fragmentation
     * needed" goes back to its sender first, from the dispatcher's address on the sender's side.
     */
    private DropReason tooBig(Channel in, Channel out, Packet packet) {
        int mtu = ((HardwareAddressed) out).mtu();
        if (mtu == 0 || FragmentationNeeded.exceeds(packet, mtu) == 0) {
            return null;
        }
        if (!packet.ip().dontFragment() || packet.isIcmpError()) {
            return DropReason.CANNOT_FRAGMENT;
        }
        L3Service config = worker.dispatcher.configs.get(packet.service().index());
        int source = packet.isReply() && config.fullNat() ? config.sourceNatAddress() : config.address();
        worker.fragmentationNeeded.send(in, packet, source, mtu);
        return DropReason.FRAGMENTATION_NEEDED;
    }

    private DropReason rewriteRequest(Packet packet, Channel out) {
        Service service = packet.service();
        Backend backend = packet.backend();
        L3Service config = worker.dispatcher.configs.get(service.index());
        if (backend.mac() == MacAddress.UNKNOWN) {
            return DropReason.NO_BACKEND_MAC;
        }
        // Before the NAT port: the change that records the port carries the last hop to session sync.
        if (context.sessions().lastHop(packet.sessionSlot()) == 0) {
            context.sessions().setLastHop(packet.sessionSlot(), packet.ethernet().source());
        }
        int natPort = 0;
        int natAddress = 0;
        if (config.fullNat()) {
            natPort = context.sessions().natPort(packet.sessionSlot());
            natAddress = context.sessions().natAddress(packet.sessionSlot());
            if (packet.isTakenOver() && natPort != 0 && !worker.ports(service.index(), natAddress).claim(natPort,
                    packet.sourceAddress(), packet.sourcePort())) {
                // The port is another client's here (or another worker's): a fresh one cannot continue the flow,
                // and the port stays with whoever holds it.
                context.sessions().setNatPort(packet.sessionSlot(), 0);
                context.sessions().remove(packet.sessionSlot(), SessionEnd.FLUSHED);
                return DropReason.NAT_PORTS_EXHAUSTED;
            }
            if (natPort == 0) {
                natPort = worker.natPorts[service.index()].allocate(packet.sourceAddress(), packet.sourcePort());
                if (natPort < 0) {
                    context.sessions().remove(packet.sessionSlot(), SessionEnd.FLUSHED);
                    return DropReason.NAT_PORTS_EXHAUSTED;
                }
                context.sessions().setNatPort(packet.sessionSlot(), natPort);
            }
        }
        int backendPort = backend.serverPort(service.port());
        if (!decrementTtl(packet.ip())) {
            return DropReason.TTL_EXPIRED;
        }
        if (packet.isIcmpError()) {
            // Outer: now to the backend. Quoted: the reply the client saw, which the backend sent from itself.
            translateOuter(packet, Ipv4Header.DESTINATION, backend.address());
            translateQuoted(packet, Ipv4Header.SOURCE, backend.address(), backendPort);
            if (config.fullNat()) {
                translateQuoted(packet, Ipv4Header.DESTINATION, sourceNat(service, natAddress), natPort);
            }
        } else {
            translate(packet, Ipv4Header.DESTINATION, backend.address(), PORT_OFFSET_DESTINATION, backendPort);
            if (config.fullNat()) {
                translate(packet, Ipv4Header.SOURCE, sourceNat(service, natAddress), PORT_OFFSET_SOURCE, natPort);
            }
        }
        packet.ethernet().setDestination(backend.mac());
        packet.ethernet().setSource(((HardwareAddressed) out).hardwareAddress());
        return null;
    }

    /** The session's source-NAT address: its service's own, or another dispatcher's it was taken over with. */
    private int sourceNat(Service service, int natAddress) {
        return worker.dispatcher.sourceNats.address(service.index(), natAddress);
    }

    private DropReason rewriteReply(Packet packet, Channel out) {
        Service service = packet.service();
        L3Service config = worker.dispatcher.configs.get(service.index());
        int clientAddress = packet.destinationAddress();
        int clientPort = packet.destinationPort();
        if (config.fullNat()) {
            SourceNatPorts ports = worker.ports(service.index(),
                    context.sessions().natAddress(packet.sessionSlot()));
            clientAddress = ports.clientAddress(packet.destinationPort());
            clientPort = ports.clientPort(packet.destinationPort());
        }
        if (!decrementTtl(packet.ip())) {
            return DropReason.TTL_EXPIRED;
        }
        if (packet.isIcmpError()) {
            // From the backend itself (port unreachable, say): the client must see it from the cluster address.
            if (packet.ip().source() == packet.sourceAddress()) {
                translateOuter(packet, Ipv4Header.SOURCE, service.address());
            }
            // Quoted: the request the backend got; the client sent it to the cluster address.
            translateQuoted(packet, Ipv4Header.DESTINATION, service.address(), service.port());
            if (config.fullNat()) {
                translateOuter(packet, Ipv4Header.DESTINATION, clientAddress);
                translateQuoted(packet, Ipv4Header.SOURCE, clientAddress, clientPort);
            }
        } else {
            translate(packet, Ipv4Header.SOURCE, service.address(), PORT_OFFSET_SOURCE, service.port());
            if (config.fullNat()) {
                translate(packet, Ipv4Header.DESTINATION, clientAddress, PORT_OFFSET_DESTINATION, clientPort);
            }
        }
        long lastHop = context.sessions().lastHop(packet.sessionSlot());
        if (lastHop == 0) {
            return DropReason.NO_NEIGHBOR;
        }
        packet.ethernet().setDestination(lastHop);
        packet.ethernet().setSource(((HardwareAddressed) out).hardwareAddress());
        return null;
    }

    /** Decrements the TTL, updating the header checksum; false when it has run out. */
    private static boolean decrementTtl(Ipv4Header ip) {
        int ttl = ip.ttl();
        if (ttl <= 1) {
            return false;
        }
        int oldWord = (ttl << 8) | ip.protocol();
        ip.setTtl(ttl - 1);
        ip.setChecksum(InternetChecksum.update16(ip.checksum(), oldWord, oldWord - 0x100));
        return true;
    }

    /** Rewrites one address of a TCP/UDP packet and, if it differs, the port beside it, with their checksums. */
    private static void translate(Packet packet, int addressField, int newAddress, int portOffset, int newPort) {
        Ipv4Header ip = packet.ip();
        ByteBuf buf = ip.buffer();
        int addressIndex = ip.offset() + addressField;
        int oldAddress = buf.getInt(addressIndex);
        buf.setInt(addressIndex, newAddress);
        ip.setChecksum(InternetChecksum.update32(ip.checksum(), oldAddress, newAddress));
        boolean tcp = packet.ipProtocol() == IpProtocol.TCP;
        int l4 = tcp ? packet.tcp().offset() : packet.udp().offset();
        int checksumIndex = l4 + (tcp ? TcpHeader.CHECKSUM_OFFSET : UdpHeader.CHECKSUM_OFFSET);
        int portIndex = l4 + portOffset;
        int oldPort = buf.getUnsignedShort(portIndex);
        buf.setShort(portIndex, newPort);
        int checksum = buf.getUnsignedShort(checksumIndex);
        if (packet.isChecksumPartial()) {
            buf.setShort(checksumIndex, InternetChecksum.updatePartial32(checksum, oldAddress, newAddress));
        } else if (tcp || checksum != 0) {
            checksum = InternetChecksum.update16(InternetChecksum.update32(checksum, oldAddress, newAddress), oldPort,
                    newPort);
            buf.setShort(checksumIndex, !tcp && checksum == 0 ? 0xFFFF : checksum);
        }
    }

    /** Rewrites an address of an ICMP error's own header. */
    private static void translateOuter(Packet packet, int field, int newAddress) {
        Ipv4Header ip = packet.ip();
        int index = ip.offset() + field;
        int oldAddress = ip.buffer().getInt(index);
        ip.buffer().setInt(index, newAddress);
        ip.setChecksum(InternetChecksum.update32(ip.checksum(), oldAddress, newAddress));
    }

    /**
     * Rewrites an address and the port beside it in the datagram an ICMP error quotes, with the quoted header's
     * checksum; and applies every changed word to the ICMP checksum, which covers the quoted bytes.
     */
    private static void translateQuoted(Packet packet, int field, int newAddress, int newPort) {
        Ipv4Header quoted = packet.quotedIp();
        ByteBuf buf = quoted.buffer();
        IcmpHeader icmp = packet.icmp();
        int addressIndex = quoted.offset() + field;
        int oldAddress = buf.getInt(addressIndex);
        buf.setInt(addressIndex, newAddress);
        int oldQuotedChecksum = quoted.checksum();
        quoted.setChecksum(InternetChecksum.update32(oldQuotedChecksum, oldAddress, newAddress));
        int portIndex = packet.quotedL4Offset() + (field == Ipv4Header.DESTINATION ? PORT_OFFSET_DESTINATION
                : PORT_OFFSET_SOURCE);
        int oldPort = buf.getUnsignedShort(portIndex);
        buf.setShort(portIndex, newPort);
        int checksum = InternetChecksum.update32(icmp.checksum(), oldAddress, newAddress);
        checksum = InternetChecksum.update16(checksum, oldQuotedChecksum, quoted.checksum());
        icmp.setChecksum(InternetChecksum.update16(checksum, oldPort, newPort));
    }
}
