package io.loadshare.dispatch.l3;

import io.loadshare.core.mode.Arm;
import io.loadshare.core.arp.ArpBackendTracker;
import io.loadshare.core.pipeline.DispatchPipeline;
import io.loadshare.core.pipeline.HardwareAddressed;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.List;

/**
 * The LSNAT pipeline of one arm of an {@link L3Dispatcher}: decode → ARP responder → reply classify → classify →
 * schedule → {@link NatRewriter} → emit. Requests (client → cluster address) are classified and scheduled by the
 * core steps; replies (backend → client) by {@link ReplyClassifyHandler}; the rewriter handles both directions, and
 * the emitter sends each out of the right arm.
 */
public final class L3DispatchInitializer extends ChannelInitializer<Channel> {
    private static final String ARP = "arp";
    private static final String REPLIES = "reply-classifier";
    private static final String LIFECYCLE = "lifecycle";

    private final L3Worker worker;
    private final L3Dispatcher dispatcher;
    private final Arm arm;

    L3DispatchInitializer(L3Worker worker, Arm arm) {
        this.worker = worker;
        this.dispatcher = worker.dispatcher;
        this.arm = arm;
    }

    @Override
    protected void initChannel(Channel ch) {
        worker.attach(arm, ch);
        DispatchPipeline.install(ch.pipeline(), worker.context, new NatRewriter(worker));
        ch.pipeline().replace(DispatchPipeline.EMITTER, DispatchPipeline.EMITTER, new NatEmitHandler(worker));
        // The trackers, and the announcements of the cluster addresses, belong to the first worker alone.
        boolean first = worker.index == 0;
        List<ArpBackendTracker> trackers = first && arm.facesBackends() ? dispatcher.tracked.trackers() : List.of();
        ch.pipeline().addAfter(DispatchPipeline.DECODER, ARP, new ArpResponder(worker.context,
                dispatcher.ownedAddresses(arm), trackers, first ? dispatcher.settings.gratuitousArpCount() : 0,
                arm.facesBackends() ? dispatcher.sourceNats : null));
        ch.pipeline().addAfter(ARP, REPLIES, new ReplyClassifyHandler(worker));
        ch.pipeline().addFirst(LIFECYCLE, new Lifecycle(trackers));
    }

    /** Starts the session sweep and, on the backend arm, the ARP rounds; stops them when the channel goes. */
    private final class Lifecycle extends ChannelInboundHandlerAdapter {
        private final List<ArpBackendTracker> trackers;
        private ScheduledFuture<?> rounds;

        Lifecycle(List<ArpBackendTracker> trackers) {
            this.trackers = trackers;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            worker.context.start(ctx.channel().eventLoop());
            if (!trackers.isEmpty()) {
                HardwareAddressed channel = (HardwareAddressed) ctx.channel();
                rounds = ArpBackendTracker.startRounds(ctx.channel(), trackers, dispatcher.settings.arpInterval(),
                        channel::hardwareAddress, 0);
            }
            ctx.fireChannelActive();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (rounds != null) {
                rounds.cancel(false);
            }
            if (arm.facesBackends()) {
                worker.context.stop();
                if (worker.index == 0) {
                    dispatcher.shutdown();
                }
            }
            ctx.fireChannelInactive();
        }
    }
}
