package io.loadshare.core.pipeline;

import io.loadshare.core.metrics.DropReason;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

/**
 * The end of a pipeline that serves one kind of frame: whatever reaches it is dropped and counted under one reason.
 *
 * <p>Ownership: releases every message it receives.
 */
@ChannelHandler.Sharable
public final class DropHandler extends ChannelInboundHandlerAdapter {
    private final DispatchContext context;
    private final DropReason reason;

    public DropHandler(DispatchContext context, DropReason reason) {
        this.context = context;
        this.reason = reason;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        context.drop(msg, reason);
    }
}
