package io.loadshare.dispatch.l2;

import io.loadshare.core.arp.ArpBackendTracker;
import io.loadshare.core.arp.ArpReplyHandler;
import io.loadshare.core.pipeline.DispatchContext;
import io.loadshare.core.pipeline.DispatchPipeline;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.function.LongSupplier;

/**
 * The LSMAC pipeline of one worker's data channel of an {@link L2Dispatcher}: decode → ARP (worker 0) → classify →
 * schedule → {@link MacRewriter} → emit, over the worker's own context. Worker 0's also runs the ARP rounds that
 * find and keep the backends. It serves one channel.
 */
public final class L2DispatchInitializer extends ChannelInitializer<Channel> {
    private static final String ARP = "arp";
    private static final String LIFECYCLE = "lifecycle";

    private final L2Dispatcher dispatcher;
    private final int worker;
    private final DispatchContext context;
    private volatile Channel channel;

    L2DispatchInitializer(L2Dispatcher dispatcher, int worker, DispatchContext context) {
        this.dispatcher = dispatcher;
        this.worker = worker;
        this.context = context;
    }

    /** The channel this initializer served, or null before. */
    Channel channel() {
        return channel;
    }

    @Override
    protected void initChannel(Channel ch) {
        if (channel != null) {
            throw new IllegalStateException("an L2DispatchInitializer serves one channel; each worker has its own");
        }
        boolean first = worker == 0;
        if (first) {
            L2Dispatcher.sameLoop(ch, dispatcher.arpChannel());
        }
        channel = ch;
        LongSupplier mac = dispatcher.macOf(ch);
        DispatchPipeline.install(ch.pipeline(), context, new MacRewriter(context, mac));
        if (first) {
            ch.pipeline().addAfter(DispatchPipeline.DECODER, ARP, new ArpReplyHandler(context,
                    dispatcher.tracked.trackers(), mac));
        }
        ch.pipeline().addFirst(LIFECYCLE, new Lifecycle(mac));
    }

    /** Starts the sweep (and worker 0's ARP rounds) when the channel is up; stops them when it goes. */
    private final class Lifecycle extends ChannelInboundHandlerAdapter {
        private final LongSupplier mac;
        private ScheduledFuture<?> rounds;

        Lifecycle(LongSupplier mac) {
            this.mac = mac;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            context.start(ctx.channel().eventLoop());
            if (worker == 0) {
                rounds = ArpBackendTracker.startRounds(ctx.channel(), dispatcher.tracked.trackers(),
                        dispatcher.settings.arpInterval(), mac, dispatcher.settings.arpSenderAddress());
            }
            ctx.fireChannelActive();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (rounds != null) {
                rounds.cancel(false);
            }
            context.stop();
            if (worker == 0) {
                dispatcher.tracked.shutdown();
            }
            ctx.fireChannelInactive();
        }
    }
}
