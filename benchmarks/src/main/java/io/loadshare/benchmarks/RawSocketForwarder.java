package io.loadshare.benchmarks;

import io.loadshare.core.packet.MacAddress;
import io.loadshare.transport.rawsocket.RawSocketAddress;
import io.loadshare.transport.rawsocket.RawSocketChannel;
import io.loadshare.transport.rawsocket.RawSocketChannelOption;
import io.loadshare.transport.rawsocket.RawSocketSettings;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import java.lang.management.ManagementFactory;

/**
 * The Java side of {@code dev/bench-rawsocket}: forwards every frame from one interface to another over two
 * {@link RawSocketChannel}s on one event loop, rewriting both MACs, as the C reference forwarder does. Prints, once
 * a second, the frames forwarded so far and the bytes the event-loop thread has allocated, so the harness can
 * compute packets per second and bytes per packet.
 *
 * <p>Usage: {@code RawSocketForwarder IN_IF OUT_IF DST_MAC plain|ring}
 */
public final class RawSocketForwarder {
    private RawSocketForwarder() {
    }

    /** Counts and forwards; runs on the one event loop, so plain fields suffice. */
    @ChannelHandler.Sharable
    static final class Forward extends ChannelInboundHandlerAdapter {
        Channel out;
        long destination;
        long source;
        volatile long forwarded;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf frame = (ByteBuf) msg;
            if (ctx.channel() == out) {
                frame.release();
                return;
            }
            MacAddress.set(frame, frame.readerIndex(), destination);
            MacAddress.set(frame, frame.readerIndex() + 6, source);
            out.write(frame, out.voidPromise());
            forwarded++;
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            out.flush();
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 4) {
            System.err.println("usage: RawSocketForwarder IN_IF OUT_IF DST_MAC plain|ring");
            System.exit(2);
        }
        boolean ring = args[3].equals("ring");
        EventLoopGroup loop = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        Forward forward = new Forward();
        forward.destination = MacAddress.parse(args[2]);
        Bootstrap bootstrap = new Bootstrap().group(loop).channel(RawSocketChannel.class).handler(forward);
        if (ring) {
            bootstrap.option(RawSocketChannelOption.RX_RING, RawSocketSettings.from(
                    com.typesafe.config.ConfigFactory.parseString(RawSocketSettings.ROOT + ".ring.enabled = true"),
                    RawSocketSettings.ROOT).ring());
        }
        RawSocketChannel out = (RawSocketChannel) bootstrap.bind(new RawSocketAddress(args[1])).sync().channel();
        forward.out = out;
        forward.source = out.hardwareAddress();
        bootstrap.bind(new RawSocketAddress(args[0])).sync();
        long loopThread = loop.next().submit(() -> Thread.currentThread().threadId()).get();
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        while (true) {
            Thread.sleep(1000);
            System.out.println("forwarded=" + forward.forwarded + " allocated=" + threads.getThreadAllocatedBytes(loopThread)
                    + " tx-blocked=" + out.stats().sendBlocked() + " tx-nobufs=" + out.stats().sendNoBufferDrops());
        }
    }
}
