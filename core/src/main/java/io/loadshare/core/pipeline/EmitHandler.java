package io.loadshare.core.pipeline;

import io.loadshare.core.metrics.DropReason;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

/**
 * Emit: writes each rewritten {@link Packet}'s frame back out of the channel it arrived on and counts it for its
 * backend. Writes are flushed once per read batch, at {@code channelReadComplete}, so a transport can send a
 * batch with one system call.
 *
 * <p>A dispatch mode whose frames leave by another channel (a two-armed NAT) puts its own emitter in this place;
 * that channel must share the event loop.
 *
 * <p>Ownership: the frame's buffer is detached from the packet and handed to the channel's outbound path, which
 * releases it once sent. When the channel is not writable the packet is released here and counted as
 * {@link DropReason#TX_QUEUE_FULL}: a dispatcher drops rather than queue without bound.
 */
public final class EmitHandler extends ChannelInboundHandlerAdapter {
    private final DispatchContext context;
    private boolean pendingFlush;

    public EmitHandler(DispatchContext context) {
        this.context = context;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof Packet packet)) {
            ctx.fireChannelRead(msg);
            return;
        }
        if (!ctx.channel().isWritable()) {
            context.drop(packet, DropReason.TX_QUEUE_FULL);
            return;
        }
        int backendId = packet.backend() == null ? -1 : packet.backend().id();
        ByteBuf frame = packet.detach();
        if (backendId >= 0) {
            context.counters().forwarded(backendId, frame.readableBytes());
        }
        ctx.write(frame, ctx.voidPromise());
        pendingFlush = true;
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (pendingFlush) {
            pendingFlush = false;
            ctx.flush();
        }
        ctx.fireChannelReadComplete();
    }
}
