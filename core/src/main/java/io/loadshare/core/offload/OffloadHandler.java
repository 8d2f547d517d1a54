package io.loadshare.core.offload;

import io.loadshare.core.pipeline.DispatchContext;
import io.loadshare.core.pipeline.Packet;
import io.loadshare.core.session.SessionState;
import io.loadshare.core.session.SessionTable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

/**
 * Offload: hands a session to the context's {@link FlowOffload} at its first rewritten packet once it is
 * established (a TCP session after the client's ACK, a datagram session at once), so that its later packets stay
 * in the kernel. Half-open sessions are never offloaded: what a SYN flood leaves stays in the pipeline, where the
 * table's defences work. Each session is offered once; one the fast path refuses (full) stays in user space.
 *
 * <p>Ownership: every message passes through; nothing is released here.
 */
public final class OffloadHandler extends ChannelInboundHandlerAdapter {
    private final DispatchContext context;

    public OffloadHandler(DispatchContext context) {
        this.context = context;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        FlowOffload offload = context.offload();
        if (offload != FlowOffload.NONE && msg instanceof Packet packet && !packet.isReply()
                && !packet.isIcmpError() && packet.sessionSlot() >= 0) {
            SessionTable sessions = context.sessions();
            int slot = packet.sessionSlot();
            int state = sessions.state(slot);
            if ((state == SessionState.ESTABLISHED || state == SessionState.DATAGRAM)
                    && !sessions.isOffloaded(slot)) {
                sessions.markOffloaded(slot);
                offload.install(packet);
            }
        }
        ctx.fireChannelRead(msg);
    }
}
