package io.loadshare.core.arp;

import io.loadshare.core.metrics.DropReason;
import io.loadshare.core.packet.ArpHeader;
import io.loadshare.core.pipeline.DispatchContext;
import io.loadshare.core.pipeline.DispatchPipeline;
import io.loadshare.core.pipeline.DropHandler;
import io.loadshare.core.pipeline.Packet;
import io.loadshare.core.pipeline.PacketDecoder;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import java.util.List;
import java.util.function.LongSupplier;

/**
 * Hands every ARP reply addressed to the dispatcher to the backend trackers, which learn backends and their MACs
 * from them. Sits between the decoder and the classifier.
 *
 * <p>Ownership: ARP packets end here: replies to the dispatcher are released after the trackers have read them;
 * replies to anyone else (gratuitous ones included) are released and counted as {@link DropReason#UNSOLICITED_ARP},
 * so that no host joins or moves a backend by announcing itself; anything else (requests from other hosts) is
 * released and counted as {@link DropReason#UNHANDLED_ARP}. Other packets are forwarded.
 */
public final class ArpReplyHandler extends ChannelInboundHandlerAdapter {
    private final DispatchContext context;
    private final List<ArpBackendTracker> trackers;
    private final LongSupplier ownMac;

    /** @param ownMac the dispatcher's MAC on this channel, which a solicited reply is addressed to */
    public ArpReplyHandler(DispatchContext context, List<ArpBackendTracker> trackers, LongSupplier ownMac) {
        this.context = context;
        this.trackers = trackers;
        this.ownMac = ownMac;
    }

    /**
     * Makes a pipeline of an ARP-only channel: the decoder, then this handler; anything that is not ARP is dropped
     * and counted ({@link DropReason#UNSUPPORTED_ETHERTYPE}).
     */
    public static void install(ChannelPipeline pipeline, DispatchContext context, List<ArpBackendTracker> trackers,
            LongSupplier ownMac) {
        pipeline.addLast(DispatchPipeline.DECODER, new PacketDecoder(context));
        pipeline.addLast("arp", new ArpReplyHandler(context, trackers, ownMac));
        pipeline.addLast("not-arp", new DropHandler(context, DropReason.UNSUPPORTED_ETHERTYPE));
    }

    /**
     * Hands a reply to the trackers if it answers the dispatcher, or drops it as unsolicited; either way the packet
     * is consumed. Shared with the LSNAT ARP responder.
     */
    public static void onReply(DispatchContext context, List<ArpBackendTracker> trackers, long ownMac,
            Packet packet) {
        ArpHeader arp = packet.arp();
        if (arp.targetHardwareAddress() != ownMac || packet.ethernet().destination() != ownMac) {
            context.drop(packet, DropReason.UNSOLICITED_ARP);
            return;
        }
        for (ArpBackendTracker tracker : trackers) {
            tracker.onReply(arp.senderProtocolAddress(), arp.senderHardwareAddress());
        }
        packet.release();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof Packet packet) || packet.isIpv4()) {
            ctx.fireChannelRead(msg);
            return;
        }
        if (packet.arp().operation() != ArpHeader.REPLY) {
            context.drop(packet, DropReason.UNHANDLED_ARP);
            return;
        }
        onReply(context, trackers, ownMac.getAsLong(), packet);
    }
}
