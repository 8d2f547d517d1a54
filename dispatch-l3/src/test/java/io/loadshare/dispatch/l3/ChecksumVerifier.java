package io.loadshare.dispatch.l3;

import io.loadshare.core.packet.InternetChecksum;
import io.loadshare.core.packet.IpProtocol;
import io.loadshare.core.packet.Ipv4Header;
import io.loadshare.core.pipeline.Packet;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The test's own checksum verifier, placed just before the emitter: every frame leaving the dispatcher must have a
 * valid IP header checksum, and a TCP/UDP checksum that is either complete and valid or, when partial, exactly the
 * pseudo-header sum the kernel expects to complete.
 */
@ChannelHandler.Sharable
final class ChecksumVerifier extends ChannelInboundHandlerAdapter {
    final AtomicLong checked = new AtomicLong();
    final AtomicLong bad = new AtomicLong();

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof Packet packet && packet.isIpv4()) {
            checked.incrementAndGet();
            Ipv4Header ip = packet.ip();
            boolean ok = ip.isChecksumValid();
            int protocol = packet.ipProtocol();
            if (protocol == IpProtocol.TCP || protocol == IpProtocol.UDP) {
                int l4 = ip.offset() + ip.headerLength();
                int length = ip.totalLength() - ip.headerLength();
                int field = l4 + (protocol == IpProtocol.TCP ? 16 : 6);
                if (packet.isChecksumPartial()) {
                    ok &= ip.buffer().getUnsignedShort(field) == ip.pseudoHeaderSum(length)
                            || ip.buffer().getUnsignedShort(field) == (~ip.pseudoHeaderSum(length) & 0xFFFF);
                } else if (protocol == IpProtocol.TCP || ip.buffer().getUnsignedShort(field) != 0) {
                    ok &= InternetChecksum.sum(ip.buffer(), l4, length, ip.pseudoHeaderSum(length)) == 0xFFFF;
                }
            } else if (protocol == IpProtocol.ICMP) {
                int l4 = ip.offset() + ip.headerLength();
                ok &= InternetChecksum.sum(ip.buffer(), l4, ip.totalLength() - ip.headerLength(), 0) == 0xFFFF;
            }
            if (!ok) {
                bad.incrementAndGet();
            }
        }
        ctx.fireChannelRead(msg);
    }
}
