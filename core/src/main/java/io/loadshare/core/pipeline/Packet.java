package io.loadshare.core.pipeline;

import io.loadshare.core.backend.Backend;
import io.loadshare.core.packet.ArpHeader;
import io.loadshare.core.packet.EtherType;
import io.loadshare.core.packet.EthernetHeader;
import io.loadshare.core.packet.IcmpHeader;
import io.loadshare.core.packet.IpProtocol;
import io.loadshare.core.packet.Ipv4Header;
import io.loadshare.core.packet.TcpHeader;
import io.loadshare.core.packet.UdpHeader;
import io.loadshare.core.packet.VirtioNetHeader;
import io.loadshare.core.session.Flow;
import io.loadshare.core.session.FlowKey;
import io.netty.buffer.ByteBuf;
import io.netty.util.ReferenceCounted;

/**
 * One decoded frame travelling down a dispatch pipeline: the frame's buffer, views over its headers, and what
 * the classify and schedule steps decided.
 *
 * <p>A {@link PacketDecoder} owns one instance and reuses it for every frame, so the data path allocates
 * nothing. A packet is therefore valid only during the {@code channelRead} call that carries it: a handler that
 * needs the frame later must {@link #detach} its buffer. Reference counting delegates to the buffer, so Netty's
 * usual {@code ReferenceCountUtil.release(msg)} frees a dropped packet.
 *
 * <p>As a {@link Flow} a packet answers with its session's flow: the TCP/UDP header's, or for an ICMP error the
 * reverse of the datagram it quotes, which is the flow the error is about.
 */
public final class Packet implements Flow, ReferenceCounted {
    private final EthernetHeader ethernet = new EthernetHeader();
    private final ArpHeader arp = new ArpHeader();
    private final Ipv4Header ip = new Ipv4Header();
    private final TcpHeader tcp = new TcpHeader();
    private final UdpHeader udp = new UdpHeader();
    private final IcmpHeader icmp = new IcmpHeader();
    private final Ipv4Header quotedIp = new Ipv4Header();

    private ByteBuf content;
    private int etherType;
    private int protocol;
    private int sourceAddress;
    private int sourcePort;
    private int destinationAddress;
    private int destinationPort;
    private int tcpFlags;
    private boolean icmpError;
    private int quotedL4Offset;

    private Service service;
    private int sessionSlot;
    private Backend backend;
    private boolean newSession;
    private boolean continued;
    private boolean takenOver;
    private boolean reply;

    Packet() {
    }

    void startFrame(ByteBuf frame) {
        this.content = frame;
        this.etherType = 0;
        this.protocol = 0;
        this.sourceAddress = 0;
        this.sourcePort = 0;
        this.destinationAddress = 0;
        this.destinationPort = 0;
        this.tcpFlags = 0;
        this.icmpError = false;
        this.quotedL4Offset = -1;
        this.service = null;
        this.sessionSlot = -1;
        this.backend = null;
        this.newSession = false;
        this.continued = false;
        this.takenOver = false;
        this.reply = false;
        ethernet.wrap(frame, frame.readerIndex());
    }

    void setEtherType(int etherType) {
        this.etherType = etherType;
    }

    void setFlow(int protocol, int sourceAddress, int sourcePort, int destinationAddress, int destinationPort) {
        this.protocol = protocol;
        this.sourceAddress = sourceAddress;
        this.sourcePort = sourcePort;
        this.destinationAddress = destinationAddress;
        this.destinationPort = destinationPort;
    }

    void setTcpFlags(int tcpFlags) {
        this.tcpFlags = tcpFlags;
    }

    void setIcmpError(int quotedL4Offset) {
        this.icmpError = true;
        this.quotedL4Offset = quotedL4Offset;
    }

    /** Marks the packet as the first of a new session of {@code service}, to be scheduled. */
    public void markNewSession(Service service) {
        this.service = service;
        this.newSession = true;
        this.sessionSlot = -1;
        this.backend = null;
    }

    /**
     * Marks a TCP packet that belongs to no session here as the continuation of a flow another dispatcher (or this
     * one before a restart) started: the schedule step creates an established session for it on the backend the
     * service's consistent hash picks.
     */
    public void markContinuedSession(Service service) {
        markNewSession(service);
        this.continued = true;
    }

    /** Whether the new session continues a flow whose opening this dispatcher never saw. */
    public boolean isContinuedSession() {
        return continued;
    }

    /**
     * Records that the packet's session was just taken over from a standby session: a mode that translates ports
     * must claim the session's NAT port rather than hand out one.
     */
    public void markTakenOver(Service service, int slot, Backend backend) {
        assignSession(service, slot, backend);
        this.takenOver = true;
    }

    /** Whether the packet's session was taken over from a standby session by this very packet. */
    public boolean isTakenOver() {
        return takenOver;
    }

    /** Records the session the packet belongs to and the backend it goes to. */
    public void assignSession(Service service, int slot, Backend backend) {
        this.service = service;
        this.sessionSlot = slot;
        this.backend = backend;
    }

    /**
     * Marks the packet as a reply from a backend, already matched to its session by a mode that carries both
     * directions (LSNAT); the classify and schedule steps pass it through untouched.
     */
    public void markReply(Service service, int slot, Backend backend) {
        assignSession(service, slot, backend);
        this.reply = true;
    }

    /** Whether the packet travels from a backend back to a client. */
    public boolean isReply() {
        return reply;
    }

    /** The whole frame, reader index at the Ethernet header. */
    public ByteBuf content() {
        return content;
    }

    /** Hands the buffer over to the caller, who then owns it; the packet is empty afterwards. */
    public ByteBuf detach() {
        ByteBuf buf = content;
        clear();
        return buf;
    }

    public EthernetHeader ethernet() {
        return ethernet;
    }

    /** Valid when {@link #etherType()} is ARP. */
    public ArpHeader arp() {
        return arp;
    }

    /** Valid when {@link #etherType()} is IPv4. */
    public Ipv4Header ip() {
        return ip;
    }

    /** Valid when the IP protocol is TCP. */
    public TcpHeader tcp() {
        return tcp;
    }

    /** Valid when the IP protocol is UDP. */
    public UdpHeader udp() {
        return udp;
    }

    /** Valid when the IP protocol is ICMP. */
    public IcmpHeader icmp() {
        return icmp;
    }

    /** The IP header an ICMP error quotes; valid when {@link #isIcmpError()}. */
    public Ipv4Header quotedIp() {
        return quotedIp;
    }

    /** Absolute index of the quoted datagram's transport header (its ports); valid when {@link #isIcmpError()}. */
    public int quotedL4Offset() {
        return quotedL4Offset;
    }

    /**
     * Whether the frame's TCP/UDP checksum is partial (the sender offloaded it; see {@link VirtioNetHeader}), so a
     * rewriter must update it with the partial-checksum rule rather than RFC 1624's.
     */
    public boolean isChecksumPartial() {
        return VirtioNetHeader.isChecksumPartial(content);
    }

    /** The payload EtherType, after any 802.1Q tag. */
    public int etherType() {
        return etherType;
    }

    public boolean isIpv4() {
        return etherType == EtherType.IPV4;
    }

    /** The IP header's own protocol field (ICMP for an ICMP error, even though its flow is TCP or UDP). */
    public int ipProtocol() {
        return ip.protocol();
    }

    public boolean isIcmpError() {
        return icmpError;
    }

    /** TCP flags of a TCP packet, else 0. */
    public int tcpFlags() {
        return tcpFlags;
    }

    /** Whether this is a TCP SYN without ACK: the only packet that opens a TCP session. */
    public boolean isSessionStart() {
        return protocol == IpProtocol.TCP && !icmpError
                ? (tcpFlags & (TcpHeader.SYN | TcpHeader.ACK | TcpHeader.RST)) == TcpHeader.SYN
                : protocol == IpProtocol.UDP && !icmpError;
    }

    @Override
    public int protocol() {
        return protocol;
    }

    @Override
    public int sourceAddress() {
        return sourceAddress;
    }

    @Override
    public int sourcePort() {
        return sourcePort;
    }

    @Override
    public int destinationAddress() {
        return destinationAddress;
    }

    @Override
    public int destinationPort() {
        return destinationPort;
    }

    /** The service the packet belongs to, once classified. */
    public Service service() {
        return service;
    }

    /** The session's table slot, or -1 before scheduling. Valid until the table next changes. */
    public int sessionSlot() {
        return sessionSlot;
    }

    /** The backend the packet goes to, once scheduled. */
    public Backend backend() {
        return backend;
    }

    /** Whether classify found no session and the schedule step must create one. */
    public boolean isNewSession() {
        return newSession;
    }

    /** Forgets the buffer and every view of it, without releasing it. */
    private void clear() {
        content = null;
        ethernet.clear();
        arp.clear();
        ip.clear();
        tcp.clear();
        udp.clear();
        icmp.clear();
        quotedIp.clear();
        service = null;
        backend = null;
    }

    @Override
    public int refCnt() {
        return content == null ? 0 : content.refCnt();
    }

    @Override
    public Packet retain() {
        content.retain();
        return this;
    }

    @Override
    public Packet retain(int increment) {
        content.retain(increment);
        return this;
    }

    @Override
    public Packet touch() {
        content.touch();
        return this;
    }

    @Override
    public Packet touch(Object hint) {
        content.touch(hint);
        return this;
    }

    @Override
    public boolean release() {
        return release(1);
    }

    @Override
    public boolean release(int decrement) {
        ByteBuf buf = content;
        if (buf == null) {
            return false;
        }
        boolean freed = buf.release(decrement);
        if (freed) {
            clear();
        }
        return freed;
    }

    @Override
    public String toString() {
        if (content == null) {
            return "Packet(empty)";
        }
        String what = protocol == 0 ? "ethertype 0x" + Integer.toHexString(etherType) : FlowKey.of(this).toString();
        return "Packet(" + what + ", " + content.readableBytes() + " bytes)";
    }
}
