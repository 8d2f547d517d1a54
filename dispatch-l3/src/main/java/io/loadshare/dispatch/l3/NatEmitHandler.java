package io.loadshare.dispatch.l3;

import io.loadshare.core.metrics.DropReason;
import io.loadshare.core.pipeline.DispatchContext;
import io.loadshare.core.pipeline.Packet;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

/**
 * LSNAT's emit step: requests leave by the backend arm, replies by the client arm (one channel when one-armed).
 * Both channels share this event loop, so writing to the other arm's channel is a direct call; both are flushed
 * once per read batch.
 *
 * <p>Ownership: the frame is detached from the packet and handed to the chosen channel; when that channel is not
 * writable (or not there yet) the packet is released and counted as {@link DropReason#TX_QUEUE_FULL}.
 */
final class NatEmitHandler extends ChannelInboundHandlerAdapter {
    private final L3Worker worker;
    private final DispatchContext context;
    private boolean flushClient;
    private boolean flushBackend;

    NatEmitHandler(L3Worker worker) {
        this.worker = worker;
        this.context = worker.context;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof Packet packet)) {
            ctx.fireChannelRead(msg);
            return;
        }
        boolean reply = packet.isReply();
        Channel out = reply ? worker.clientChannel : worker.backendChannel;
        if (out == null || !out.isWritable()) {
            context.drop(packet, DropReason.TX_QUEUE_FULL);
            return;
        }
        int backendId = packet.backend().id();
        ByteBuf frame = packet.detach();
        context.counters().forwarded(backendId, frame.readableBytes());
        out.write(frame, out.voidPromise());
        if (reply) {
            flushClient = true;
        } else {
            flushBackend = true;
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (flushClient) {
            flushClient = false;
            worker.clientChannel.flush();
        }
        if (flushBackend) {
            flushBackend = false;
            worker.backendChannel.flush();
        }
        ctx.fireChannelReadComplete();
    }
}
