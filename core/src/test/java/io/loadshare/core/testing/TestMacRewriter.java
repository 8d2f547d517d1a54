package io.loadshare.core.testing;

import io.loadshare.core.pipeline.Packet;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

/**
 * A rewriter for core's pipeline tests: sets the destination MAC to the backend's and the source to
 * {@link TestFrames#DISPATCHER_MAC}, as LSMAC does, and forwards. Ownership: forwards every packet.
 */
@ChannelHandler.Sharable
public final class TestMacRewriter extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        Packet packet = (Packet) msg;
        packet.ethernet().setDestination(packet.backend().mac());
        packet.ethernet().setSource(TestFrames.DISPATCHER_MAC);
        ctx.fireChannelRead(packet);
    }
}
