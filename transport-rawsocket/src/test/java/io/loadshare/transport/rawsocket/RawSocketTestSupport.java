package io.loadshare.transport.rawsocket;

import io.loadshare.core.netns.NetworkNamespace;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.function.Consumer;

/** Shared set-up of the raw-socket tests: event loops, channel binding, and a handler that keeps frames. */
final class RawSocketTestSupport {
    /** Experimental EtherType (IEEE 802 local experimental 1), so test frames never mean anything to a kernel. */
    static final int TEST_ETHER_TYPE = 0x88B5;

    private RawSocketTestSupport() {
    }

    static EventLoopGroup loops(int threads) {
        return new MultiThreadIoEventLoopGroup(threads, EpollIoHandler.newFactory());
    }

    /** The channel modes every round-trip test runs in. */
    enum Mode {
        PLAIN,
        FRAME_RING,
        BLOCK_RING,
        BLOCK_RING_FANOUT_QDISC_BYPASS;

        void apply(Bootstrap bootstrap, int fanoutGroup) {
            if (this == FRAME_RING) {
                bootstrap.option(RawSocketChannelOption.RX_RING, RingSettings.frames(64 * 1024, 8, 2048));
            } else if (this != PLAIN) {
                bootstrap.option(RawSocketChannelOption.RX_RING, RingSettings.blocks(256 * 1024, 16, 2048, 1));
            }
            if (this == BLOCK_RING_FANOUT_QDISC_BYPASS) {
                bootstrap.option(RawSocketChannelOption.FANOUT_GROUP, fanoutGroup);
                bootstrap.option(RawSocketChannelOption.QDISC_BYPASS, true);
            }
        }
    }

    /** Binds a raw-socket channel in a namespace with the given handler and options. */
    static RawSocketChannel bind(EventLoopGroup group, String namespace, String interfaceName, ChannelHandler handler,
            Consumer<Bootstrap> options) throws InterruptedException {
        Bootstrap bootstrap = new Bootstrap().group(group)
                .channelFactory(() -> new RawSocketChannel(NetworkNamespace.named(namespace)))
                .handler(handler);
        options.accept(bootstrap);
        return (RawSocketChannel) bootstrap.bind(new RawSocketAddress(interfaceName)).sync().channel();
    }

    /** Keeps a copy of every received frame with the test EtherType, releasing the buffers. */
    @ChannelHandler.Sharable
    static final class Collector extends ChannelInboundHandlerAdapter {
        final BlockingQueue<byte[]> frames = new LinkedBlockingQueue<>();

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf frame = (ByteBuf) msg;
            try {
                if (frame.readableBytes() >= 14 && frame.getUnsignedShort(frame.readerIndex() + 12) == TEST_ETHER_TYPE) {
                    frames.add(ByteBufUtil.getBytes(frame));
                }
            } finally {
                frame.release();
            }
        }
    }
}
