package io.loadshare.dispatch.l2;

import io.loadshare.core.metrics.DropReason;
import io.loadshare.core.packet.MacAddress;
import io.loadshare.core.pipeline.DispatchContext;
import io.loadshare.core.pipeline.Packet;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.util.function.LongSupplier;

/**
 * LSMAC's rewrite step (paper section 3.1): the destination MAC becomes the chosen backend's and the source MAC
 * the dispatcher's own. Both must change: with only the destination rewritten, a switch learns the client's MAC
 * on the dispatcher's port and the backend's replies are lost. No IP header is touched, so no checksum work is
 * done; the 802.1Q tag, if any, passes through.
 *
 * <p>Ownership: a rewritten packet is forwarded; a packet whose backend has no known MAC yet is released here and
 * counted as {@link DropReason#NO_BACKEND_MAC}.
 */
public final class MacRewriter extends ChannelInboundHandlerAdapter {
    private final DispatchContext context;
    private final LongSupplier dispatcherMac;
    private long sourceMac = MacAddress.UNKNOWN;

    /** @param dispatcherMac the MAC of the interface the frames leave by */
    public MacRewriter(DispatchContext context, long dispatcherMac) {
        this(context, () -> dispatcherMac);
    }

    /** @param dispatcherMac read once, at the first packet: the interface's MAC is known only once it is bound */
    public MacRewriter(DispatchContext context, LongSupplier dispatcherMac) {
        this.context = context;
        this.dispatcherMac = dispatcherMac;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof Packet packet)) {
            ctx.fireChannelRead(msg);
            return;
        }
        long backendMac = packet.backend().mac();
        if (backendMac == MacAddress.UNKNOWN) {
            context.drop(packet, DropReason.NO_BACKEND_MAC);
            return;
        }
        if (sourceMac == MacAddress.UNKNOWN) {
            sourceMac = dispatcherMac.getAsLong();
        }
        packet.ethernet().setDestination(backendMac);
        packet.ethernet().setSource(sourceMac);
        ctx.fireChannelRead(packet);
    }
}
