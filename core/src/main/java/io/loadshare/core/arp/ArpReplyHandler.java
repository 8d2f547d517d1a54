package io.loadshare.core.arp;

import io.loadshare.core.metrics.DropReason;
import io.loadshare.core.packet.ArpHeader;
import io.loadshare.core.pipeline.DispatchContext;
import io.loadshare.core.pipeline.Packet;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.util.List;

/**
 * Hands every ARP reply that reaches the dispatcher to the backend trackers, which learn backends and their MACs
 * from them. Sits between the decoder and the classifier.
 *
 * <p>Ownership: ARP packets end here: replies are released after the trackers have read them, anything else
 * (requests from other hosts) is released and counted as {@link DropReason#UNHANDLED_ARP}. Other packets are
 * forwarded.
 */
public final class ArpReplyHandler extends ChannelInboundHandlerAdapter {
    private final DispatchContext context;
    private final List<ArpBackendTracker> trackers;

    public ArpReplyHandler(DispatchContext context, List<ArpBackendTracker> trackers) {
        this.context = context;
        this.trackers = trackers;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof Packet packet) || packet.isIpv4()) {
            ctx.fireChannelRead(msg);
            return;
        }
        ArpHeader arp = packet.arp();
        if (arp.operation() != ArpHeader.REPLY) {
            context.drop(packet, DropReason.UNHANDLED_ARP);
            return;
        }
        for (ArpBackendTracker tracker : trackers) {
            tracker.onReply(arp.senderProtocolAddress(), arp.senderHardwareAddress());
        }
        packet.release();
    }
}
