package io.loadshare.transport.rawsocket;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.loadshare.core.packet.Frames;
import io.loadshare.core.packet.Ipv4Address;
import io.loadshare.core.packet.TcpHeader;
import io.loadshare.testbed.NetnsTestbed;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The kernel runs the filter: only IPv4 to the cluster address (and ARP) reaches user space. */
class SocketFilterTest {
    private static final int VIP = Ipv4Address.parse("192.0.2.10");
    private static final int OTHER = Ipv4Address.parse("192.0.2.99");
    private static final int CLIENT = Ipv4Address.parse("203.0.113.5");

    @ChannelHandler.Sharable
    static final class Keep extends ChannelInboundHandlerAdapter {
        final BlockingQueue<byte[]> frames = new LinkedBlockingQueue<>();

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf frame = (ByteBuf) msg;
            frames.add(ByteBufUtil.getBytes(frame));
            frame.release();
        }
    }

    @Test
    void onlyFramesForTheClusterAddressArrive() throws Exception {
        EventLoopGroup loops = RawSocketTestSupport.loops(1);
        try (NetnsTestbed testbed = NetnsTestbed.create()) {
            String a = testbed.namespace("a");
            String b = testbed.namespace("b");
            testbed.veth(a, "a0", b, "b0");
            // Keep the kernels quiet on this link, so that only the test's frames appear.
            testbed.sysctl(a, "net.ipv6.conf.all.disable_ipv6", "1");
            testbed.sysctl(b, "net.ipv6.conf.all.disable_ipv6", "1");
            Keep atB = new Keep();
            RawSocketChannel sender = RawSocketTestSupport.bind(loops, a, "a0", new Keep(), bootstrap -> { });
            RawSocketChannel receiver = RawSocketTestSupport.bind(loops, b, "b0", atB, bootstrap -> bootstrap.option(
                    RawSocketChannelOption.SOCKET_FILTER, SocketFilter.builder().ipv4Destinations(List.of(VIP)).build()));
            long to = receiver.hardwareAddress();
            long from = sender.hardwareAddress();
            ByteBuf toOther = Frames.tcp(Unpooled.directBuffer(), to, from, CLIENT, 1000, OTHER, 80, 1, 0, TcpHeader.SYN,
                    new byte[0]);
            ByteBuf toVip = Frames.tcp(Unpooled.directBuffer(), to, from, CLIENT, 1000, VIP, 80, 1, 0, TcpHeader.SYN,
                    new byte[0]);
            byte[] expected = ByteBufUtil.getBytes(toVip);
            sender.writeAndFlush(toOther).sync();
            sender.writeAndFlush(toVip).sync();
            assertArrayEquals(expected, atB.frames.poll(5, TimeUnit.SECONDS));
            assertNull(atB.frames.poll(300, TimeUnit.MILLISECONDS));
        } finally {
            loops.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }

    @Test
    void programsAreBoundedAndWellFormed() {
        assertEquals(4, SocketFilter.hostOnly().instructions().size());
        assertThrows(IllegalArgumentException.class,
                () -> SocketFilter.builder().ipv4Destinations(Collections.nCopies(101, VIP)).build());
        SocketFilter withBroadcast = SocketFilter.builder().acceptBroadcast(true).ipv4Destinations(List.of(VIP)).build();
        for (long insn : withBroadcast.instructions()) {
            int code = (int) (insn >>> 48);
            int jt = (int) (insn >>> 40) & 0xFF;
            int jf = (int) (insn >>> 32) & 0xFF;
            assertEquals(0, code & ~0xFF, "code fits 8 bits in these programs");
            assertEquals(jt, jt & 0xFF);
            assertEquals(jf, jf & 0xFF);
        }
    }
}
