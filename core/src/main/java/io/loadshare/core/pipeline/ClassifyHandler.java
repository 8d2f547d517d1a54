package io.loadshare.core.pipeline;

import io.loadshare.core.backend.Backend;
import io.loadshare.core.backend.BackendState;
import io.loadshare.core.metrics.DropReason;
import io.loadshare.core.packet.Frames;
import io.loadshare.core.packet.IpProtocol;
import io.loadshare.core.packet.Ipv4Header;
import io.loadshare.core.packet.TcpHeader;
import io.loadshare.core.session.SessionEnd;
import io.loadshare.core.session.SessionState;
import io.loadshare.core.session.SessionTable;
import io.loadshare.core.session.SourceLimiter;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

/**
 * Classify: finds the session a {@link Packet} belongs to and moves it along its lifecycle, or marks the packet
 * as the start of a new session of a configured service for {@link ScheduleHandler}.
 *
 * <p>A SYN on a closing session's four-tuple (a client reusing its port) ends the old session and starts a new
 * one. A session whose backend has left the pool or gone down is ended at its next packet, and a TCP client is
 * told at once: it gets a reset from the cluster address (RFC 793 section 3.4), so it fails and reconnects instead
 * of retransmitting into a session that is gone. The client's next segments in the linger after that (its answer to a
 * reset that missed the window's exact edge, RFC 5961) get a reset too ({@link RecentResets}). An ICMP error is matched to the session it is about and follows
 * it, but never opens one.
 *
 * <p>A packet that finds no session takes over its flow's standby session, if another dispatcher (or this one
 * before a restart) holds one ({@link DispatchContext#takeOver}): the backend the flow had, whatever the
 * scheduler. A SYN and a UDP datagram too: a SYN retransmitted after a route change lands on another dispatcher,
 * and scheduling it afresh would open a second connection to another backend, whose SYN-ACK may reach the client
 * first and whose later segments the first backend resets.
 *
 * <p>A TCP segment of a service whose scheduler hashes consistently ({@link
 * io.loadshare.core.scheduler.Scheduler#continuesFlows}) that finds no session continues its flow: after a restart,
 * or when ECMP moved the flow from another dispatcher, the consistent hash gives it the backend it had.
 *
 * <p>A new session from a source over its {@code source-limit} is refused ({@link SourceLimiter}).
 *
 * <p>Replies that a mode's own classifier already matched ({@link Packet#isReply()}) pass through.
 *
 * <p>Ownership: a classified packet is forwarded; anything it cannot place (ARP, stray ICMP, no service, no
 * session, backend gone) is released here and counted under its {@link DropReason}. Non-packet messages pass
 * through.
 */
public final class ClassifyHandler extends ChannelInboundHandlerAdapter {
    private static final byte[] NO_PAYLOAD = new byte[0];
    private final DispatchContext context;
    private final RecentResets resets;

    public ClassifyHandler(DispatchContext context) {
        this.context = context;
        this.resets = new RecentResets(context.sessions().lingerMillis());
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof Packet packet) || packet.isReply()) {
            ctx.fireChannelRead(msg);
            return;
        }
        context.offload().learn(context);
        DropReason reason = classify(packet);
        if (packet.protocol() == IpProtocol.TCP && !packet.isIcmpError() && (packet.tcpFlags() & TcpHeader.RST) == 0) {
            if (reason == DropReason.BACKEND_GONE) {
                reset(ctx, packet);
                resets.remember(packet, context.now());
            } else if (reason == DropReason.NO_SESSION && resets.contains(packet, context.now())) {
                // While the backend's data keeps moving the edge, each of the client's segments gets one.
                reset(ctx, packet);
                resets.remember(packet, context.now());
                reason = DropReason.BACKEND_GONE;
            }
        }
        if (reason != null) {
            context.drop(packet, reason);
            return;
        }
        ctx.fireChannelRead(packet);
    }

    /**
     * Answers a client's segment with a reset from the address it was sent to, back where the frame came from: with
     * the segment's ACK as sequence number, or, without one, acknowledging everything it carried (RFC 793 section
     * 3.4). A new frame, on a rare event; the packet stays with the caller.
     */
    private static void reset(ChannelHandlerContext ctx, Packet packet) {
        TcpHeader tcp = packet.tcp();
        Ipv4Header ip = packet.ip();
        int flags = packet.tcpFlags();
        long sequence = 0;
        long acknowledgement = 0;
        int resetFlags = TcpHeader.RST;
        if ((flags & TcpHeader.ACK) != 0) {
            sequence = tcp.acknowledgementNumber();
        } else {
            int length = ip.totalLength() - ip.headerLength() - tcp.headerLength()
                    + ((flags & TcpHeader.SYN) != 0 ? 1 : 0) + ((flags & TcpHeader.FIN) != 0 ? 1 : 0);
            acknowledgement = (tcp.sequenceNumber() + length) & 0xFFFF_FFFFL;
            resetFlags |= TcpHeader.ACK;
        }
        ByteBuf frame = Frames.tcp(ctx.alloc().directBuffer(64), packet.ethernet().source(),
                packet.ethernet().destination(), packet.destinationAddress(), packet.destinationPort(),
                packet.sourceAddress(), packet.sourcePort(), sequence, acknowledgement, resetFlags, NO_PAYLOAD);
        ctx.channel().writeAndFlush(frame, ctx.channel().voidPromise());
    }

    private DropReason classify(Packet packet) {
        if (!packet.isIpv4()) {
            return DropReason.UNHANDLED_ARP;
        }
        if (packet.protocol() == IpProtocol.ICMP) {
            return DropReason.UNHANDLED_ICMP;
        }
        SessionTable sessions = context.sessions();
        int now = context.now();
        int slot = sessions.lookup(packet, now);
        if (slot >= 0 && packet.isSessionStart() && SessionState.isClosing(sessions.state(slot))) {
            sessions.remove(slot, SessionEnd.REUSED);
            slot = -1;
        }
        if (slot >= 0) {
            return followSession(packet, sessions, slot, now);
        }
        if (packet.isIcmpError()) {
            return DropReason.NO_SESSION;
        }
        Service service = context.services().find(packet.destinationAddress(), packet.protocol(),
                packet.destinationPort());
        if (service == null) {
            return DropReason.NO_SERVICE;
        }
        int taken = context.takeOver(service, packet.protocol(), packet.sourceAddress(), packet.sourcePort(),
                packet.tcpFlags(), now);
        if (taken >= 0) {
            packet.markTakenOver(service, taken, service.pool().byId(sessions.backendId(taken)));
            return null;
        }
        if (!packet.isSessionStart()) {
            if (continues(packet, service)) {
                packet.markContinuedSession(service);
                return null;
            }
            return DropReason.NO_SESSION;
        }
        SourceLimiter limiter = context.sourceLimiter();
        if (limiter != null && !limiter.admit(packet.sourceAddress(), now)) {
            return DropReason.SOURCE_LIMIT;
        }
        packet.markNewSession(service);
        return null;
    }

    /**
     * Whether a TCP segment without a session may continue its flow here: the service's scheduler picks by
     * consistent hash, the segment is no reset, and the table is below its pressure watermark, so that a flood of
     * made-up segments can fill at most that share of it with sessions that are never evicted.
     */
    private boolean continues(Packet packet, Service service) {
        return packet.protocol() == IpProtocol.TCP && (packet.tcpFlags() & TcpHeader.RST) == 0
                && context.scheduler(service).continuesFlows() && !context.sessions().underPressure();
    }

    private DropReason followSession(Packet packet, SessionTable sessions, int slot, int now) {
        Service service = context.services().byIndex(sessions.serviceIndex(slot));
        Backend backend = service == null ? null : service.pool().byId(sessions.backendId(slot));
        if (backend == null || backend.state() == BackendState.DOWN) {
            sessions.remove(slot, SessionEnd.BACKEND_GONE);
            return DropReason.BACKEND_GONE;
        }
        if (!packet.isIcmpError()) {
            if (packet.protocol() == IpProtocol.TCP) {
                sessions.onTcpPacket(slot, packet.tcpFlags(), packet.tcp().acknowledgementNumber(), now);
            } else {
                sessions.onDatagram(slot, now);
            }
        }
        packet.assignSession(service, slot, backend);
        return null;
    }
}
