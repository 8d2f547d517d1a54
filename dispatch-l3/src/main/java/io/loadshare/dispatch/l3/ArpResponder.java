package io.loadshare.dispatch.l3;

import io.loadshare.core.arp.ArpBackendTracker;
import io.loadshare.core.arp.ArpReplyHandler;
import io.loadshare.core.metrics.DropReason;
import io.loadshare.core.packet.ArpHeader;
import io.loadshare.core.packet.Frames;
import io.loadshare.core.packet.MacAddress;
import io.loadshare.core.pipeline.DispatchContext;
import io.loadshare.core.pipeline.HardwareAddressed;
import io.loadshare.core.pipeline.Packet;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.util.List;
import java.util.Set;

/**
 * ARP in user space for an LSNAT arm: answers requests for the addresses the dispatcher owns on this arm (cluster
 * addresses towards clients, source-NAT addresses towards backends), which its kernel does not hold, so the kernel
 * never answers or resets traffic for them, and for the source-NAT addresses of dead peers it adopted
 * ({@link L3SourceNats}); announces them with gratuitous ARP when the channel comes up (or the address is adopted); and hands
 * replies addressed to the dispatcher to the backend trackers. It learns nothing else from ARP: replies to clients
 * go to each session's last hop.
 *
 * <p>Ownership: ARP packets end here (released, answered or not; a request for someone else counts as
 * {@link DropReason#UNHANDLED_ARP}, a reply to someone else as {@link DropReason#UNSOLICITED_ARP}); other packets
 * are forwarded.
 */
final class ArpResponder extends ChannelInboundHandlerAdapter {
    private final DispatchContext context;
    private final int[] owned;
    private final List<ArpBackendTracker> trackers;
    private final int gratuitousCount;
    /** Other dispatchers' addresses adopted here; null on an arm that faces no backends. */
    private final L3SourceNats adoptable;

    /** @param adoptable the source-NAT addresses, on an arm that faces backends; else null */
    ArpResponder(DispatchContext context, Set<Integer> owned, List<ArpBackendTracker> trackers, int gratuitousCount,
            L3SourceNats adoptable) {
        this.context = context;
        this.adoptable = adoptable;
        this.owned = owned.stream().mapToInt(Integer::intValue).toArray();
        this.trackers = trackers;
        this.gratuitousCount = gratuitousCount;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        long mac = ((HardwareAddressed) ctx.channel()).hardwareAddress();
        for (int i = 0; i < gratuitousCount; i++) {
            for (int address : owned) {
                announce(ctx.channel(), mac, address);
            }
        }
        ctx.channel().flush();
        if (adoptable != null && gratuitousCount > 0) {
            adoptable.announceOn(ctx.channel());
        }
        ctx.fireChannelActive();
    }

    private static void announce(Channel channel, long mac, int address) {
        channel.write(Frames.arp(channel.alloc().directBuffer(64), MacAddress.BROADCAST, mac, ArpHeader.REQUEST, mac,
                address, MacAddress.ZERO, address), channel.voidPromise());
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof Packet packet) || packet.isIpv4()) {
            ctx.fireChannelRead(msg);
            return;
        }
        ArpHeader arp = packet.arp();
        long mac = ((HardwareAddressed) ctx.channel()).hardwareAddress();
        if (arp.operation() == ArpHeader.REPLY) {
            ArpReplyHandler.onReply(context, trackers, mac, packet);
            return;
        }
        int sender = arp.senderProtocolAddress();
        long senderMac = arp.senderHardwareAddress();
        int target = arp.targetProtocolAddress();
        if (arp.operation() != ArpHeader.REQUEST || !owns(target) || sender == target) {
            context.drop(packet, DropReason.UNHANDLED_ARP);
            return;
        }
        packet.release();
        ctx.write(Frames.arp(ctx.alloc().directBuffer(64), senderMac, mac, ArpHeader.REPLY, mac, target, senderMac,
                sender), ctx.voidPromise());
        ctx.flush();
    }

    private boolean owns(int address) {
        for (int candidate : owned) {
            if (candidate == address) {
                return true;
            }
        }
        return adoptable != null && adoptable.adopted(address);
    }
}
