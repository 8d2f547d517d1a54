package io.loadshare.transport.pcap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loadshare.core.netns.NetworkNamespace;
import io.loadshare.core.packet.CaptureHeader;
import io.loadshare.core.packet.Frames;
import io.loadshare.core.packet.Ipv4Address;
import io.loadshare.core.packet.MacAddress;
import io.loadshare.testbed.NetnsTestbed;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Live capture and injection through libpcap between two namespaces, with a BPF filter applied. */
class PcapChannelTest {
    private NetnsTestbed testbed;
    private EventLoopGroup loops;
    private String a;
    private String b;

    @ChannelHandler.Sharable
    static final class Keep extends ChannelInboundHandlerAdapter {
        final BlockingQueue<byte[]> frames = new LinkedBlockingQueue<>();
        volatile boolean stamped = true;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf frame = (ByteBuf) msg;
            stamped &= CaptureHeader.isPresent(frame) && CaptureHeader.originalLength(frame) == frame.readableBytes();
            frames.add(ByteBufUtil.getBytes(frame));
            frame.release();
        }
    }

    @BeforeEach
    void setUp() {
        testbed = NetnsTestbed.create();
        a = testbed.namespace("a");
        b = testbed.namespace("b");
        testbed.veth(a, "a0", b, "b0");
        testbed.sysctl(a, "net.ipv6.conf.all.disable_ipv6", "1");
        testbed.sysctl(b, "net.ipv6.conf.all.disable_ipv6", "1");
        loops = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
    }

    @AfterEach
    void tearDown() throws InterruptedException {
        loops.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        testbed.close();
    }

    private Channel bind(String namespace, String interfaceName, Keep keep, String filter) throws Exception {
        return new Bootstrap().group(loops).channelFactory(() -> new PcapChannel(NetworkNamespace.named(namespace)))
                .option(PcapChannelOption.FILTER, filter).handler(keep)
                .bind(new PcapAddress(interfaceName)).sync().channel();
    }

    private static ByteBuf udp(long to, long from, int port, int payload) {
        return Frames.udp(Unpooled.directBuffer(), to, from, Ipv4Address.parse("192.0.2.1"), 40000,
                Ipv4Address.parse("192.0.2.2"), port, new byte[payload]);
    }

    @Test
    void filteredFramesArriveAndInjectedFramesReachThePeer() throws Exception {
        Keep atA = new Keep();
        Keep atB = new Keep();
        Channel channelA = bind(a, "a0", atA, "udp");
        Channel channelB = bind(b, "b0", atB, "udp dst port 9999");
        long macA = MacAddress.parse(testbed.mac(a, "a0"));
        long macB = MacAddress.parse(testbed.mac(b, "b0"));
        channelA.writeAndFlush(udp(macB, macA, 8888, 10)).sync();
        ByteBuf wanted = udp(macB, macA, 9999, 30);
        byte[] expected = ByteBufUtil.getBytes(wanted);
        channelA.writeAndFlush(wanted).sync();
        assertArrayEquals(expected, atB.frames.poll(5, TimeUnit.SECONDS));
        assertNull(atB.frames.poll(300, TimeUnit.MILLISECONDS), "the filter must drop port 8888");
        assertTrue(atB.stamped, "frames carry their capture time and original length");

        ByteBuf back = udp(macA, macB, 7777, 40);
        byte[] backBytes = ByteBufUtil.getBytes(back);
        channelB.writeAndFlush(back).sync();
        assertArrayEquals(backBytes, atA.frames.poll(5, TimeUnit.SECONDS));
        assertNull(atA.frames.poll(300, TimeUnit.MILLISECONDS), "injected frames must not be captured again");
        channelA.close().sync();
        channelB.close().sync();
    }

    @Test
    void aBadFilterFailsWithLibpcapsOwnText() {
        Exception e = assertThrows(Exception.class, () -> bind(b, "b0", new Keep(), "udp portt 9"));
        assertTrue(e.getMessage().startsWith("bad capture filter 'udp portt 9': can't parse filter expression: syntax error"),
                e.getMessage());
    }

    @Test
    void libpcapReportsItsVersion() throws PcapException {
        assertTrue(PcapLibrary.get().version().startsWith("libpcap version 1."), PcapLibrary.get().version());
    }
}
