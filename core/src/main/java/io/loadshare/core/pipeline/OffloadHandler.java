package io.loadshare.core.pipeline;

import io.loadshare.core.packet.TcpHeader;
import io.loadshare.core.session.SessionState;
import io.loadshare.core.session.SessionTable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

/**
 * Offload: hands a session to the context's {@link FlowOffload} at its first rewritten packet once it is
 * established (a TCP session after the client's ACK, a datagram session at once), so that its later packets stay
 * in the kernel. A mode that sees replies (LSNAT) hands a TCP session over already at the backend's SYN-ACK, so
 * that the client's ACK and first request never cross into user space; a fast path installed then passes that
 * SYN-ACK's rewrite on to both directions. Under pressure (a SYN flood) it waits for the client's ACK, which the
 * session table checks against the SYN-ACK, so that what a flood leaves half-open stays in the pipeline, where the
 * table's defences work. Each session is offered once; one the fast path refuses (full) stays in user space.
 *
 * <p>Ownership: every message passes through; nothing is released here.
 */
public final class OffloadHandler extends ChannelInboundHandlerAdapter {
    private static final int SYN_ACK = TcpHeader.SYN | TcpHeader.ACK;

    private final DispatchContext context;

    public OffloadHandler(DispatchContext context) {
        this.context = context;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        FlowOffload offload = context.offload();
        if (offload != FlowOffload.NONE && msg instanceof Packet packet && !packet.isIcmpError()
                && packet.sessionSlot() >= 0) {
            SessionTable sessions = context.sessions();
            int slot = packet.sessionSlot();
            if (!sessions.isOffloaded(slot) && handsOver(packet, sessions, slot)) {
                sessions.markOffloaded(slot);
                offload.install(packet);
            }
        }
        ctx.fireChannelRead(msg);
    }

    /** The read batch is over: what it handed over goes to the kernel in one call. */
    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        context.offload().flush();
        ctx.fireChannelReadComplete();
    }

    private static boolean handsOver(Packet packet, SessionTable sessions, int slot) {
        int state = sessions.state(slot);
        if (packet.isReply()) {
            return state == SessionState.SYN_ANSWERED && (packet.tcpFlags() & (SYN_ACK | TcpHeader.RST
                    | TcpHeader.FIN)) == SYN_ACK && !sessions.underPressure();
        }
        return state == SessionState.ESTABLISHED || state == SessionState.DATAGRAM;
    }
}
