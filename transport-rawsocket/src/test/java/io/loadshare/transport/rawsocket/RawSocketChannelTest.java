package io.loadshare.transport.rawsocket;

import static io.loadshare.transport.rawsocket.RawSocketTestSupport.TEST_ETHER_TYPE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loadshare.core.packet.MacAddress;
import io.loadshare.core.testing.NetnsTestbed;
import io.loadshare.transport.rawsocket.RawSocketTestSupport.Collector;
import io.loadshare.transport.rawsocket.RawSocketTestSupport.Mode;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Frames between two namespaces over a veth pair, both ways, byte for byte; and the errors, stated plainly. */
class RawSocketChannelTest {
    private NetnsTestbed testbed;
    private EventLoopGroup loops;
    private String a;
    private String b;

    @BeforeEach
    void setUp() {
        testbed = NetnsTestbed.create();
        a = testbed.namespace("a");
        b = testbed.namespace("b");
        testbed.veth(a, "a0", b, "b0");
        loops = RawSocketTestSupport.loops(1);
    }

    @AfterEach
    void tearDown() throws InterruptedException {
        loops.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        testbed.close();
    }

    private static ByteBuf frame(long destination, long source, int payloadLength, SplittableRandom random) {
        ByteBuf frame = Unpooled.directBuffer(14 + payloadLength);
        frame.writeShort((int) (destination >>> 32)).writeInt((int) destination);
        frame.writeShort((int) (source >>> 32)).writeInt((int) source);
        frame.writeShort(TEST_ETHER_TYPE);
        byte[] payload = new byte[payloadLength];
        random.nextBytes(payload);
        return frame.writeBytes(payload);
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void framesArriveByteExactBothWays(Mode mode) throws Exception {
        Collector atA = new Collector();
        Collector atB = new Collector();
        RawSocketChannel channelA = RawSocketTestSupport.bind(loops, a, "a0", atA, bootstrap -> mode.apply(bootstrap, 7));
        RawSocketChannel channelB = RawSocketTestSupport.bind(loops, b, "b0", atB, bootstrap -> mode.apply(bootstrap, 8));
        assertEquals(MacAddress.parse(testbed.mac(a, "a0")), channelA.hardwareAddress());
        assertEquals(1500, channelB.mtu());

        SplittableRandom random = new SplittableRandom(4);
        List<byte[]> sentToB = new ArrayList<>();
        List<byte[]> sentToA = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            ByteBuf toB = frame(channelB.hardwareAddress(), channelA.hardwareAddress(), random.nextInt(46, 1487), random);
            ByteBuf toA = frame(channelA.hardwareAddress(), channelB.hardwareAddress(), random.nextInt(46, 1487), random);
            sentToB.add(io.netty.buffer.ByteBufUtil.getBytes(toB));
            sentToA.add(io.netty.buffer.ByteBufUtil.getBytes(toA));
            channelA.write(toB);
            channelB.write(toA);
            if (i % 10 == 9) {
                channelA.flush();
                channelB.flush();
            }
        }
        for (int i = 0; i < 100; i++) {
            assertArrayEquals(sentToB.get(i), atB.frames.poll(5, TimeUnit.SECONDS), "frame " + i + " to b");
            assertArrayEquals(sentToA.get(i), atA.frames.poll(5, TimeUnit.SECONDS), "frame " + i + " to a");
        }
        assertEquals(100, channelA.stats().sentFrames());
        assertTrue(channelB.stats().receivedFrames() >= 100);
        channelA.close().sync();
        channelB.close().sync();
    }

    @Test
    void framesForOtherHostsAreFilteredInTheKernel() throws Exception {
        Collector atB = new Collector();
        RawSocketChannel channelA = RawSocketTestSupport.bind(loops, a, "a0", new Collector(), bootstrap -> { });
        RawSocketChannel channelB = RawSocketTestSupport.bind(loops, b, "b0", atB, bootstrap -> { });
        SplittableRandom random = new SplittableRandom(5);
        channelA.writeAndFlush(frame(0x0200_0000_0099L, channelA.hardwareAddress(), 60, random)).sync();
        channelA.writeAndFlush(frame(MacAddress.BROADCAST, channelA.hardwareAddress(), 60, random)).sync();
        ByteBuf mine = frame(channelB.hardwareAddress(), channelA.hardwareAddress(), 60, random);
        byte[] expected = io.netty.buffer.ByteBufUtil.getBytes(mine);
        channelA.writeAndFlush(mine).sync();
        assertArrayEquals(expected, atB.frames.poll(5, TimeUnit.SECONDS));
        assertNull(atB.frames.poll(200, TimeUnit.MILLISECONDS), "other host's and broadcast frames must not arrive");
    }

    @Test
    void oversizeFramesAreCountedNotTruncated() throws Exception {
        Collector atB = new Collector();
        RawSocketChannel channelA = RawSocketTestSupport.bind(loops, a, "a0", new Collector(), bootstrap -> { });
        RawSocketChannel channelB = RawSocketTestSupport.bind(loops, b, "b0", atB,
                bootstrap -> bootstrap.option(RawSocketChannelOption.MAX_FRAME_SIZE, 200));
        SplittableRandom random = new SplittableRandom(6);
        channelA.writeAndFlush(frame(channelB.hardwareAddress(), channelA.hardwareAddress(), 500, random)).sync();
        ByteBuf small = frame(channelB.hardwareAddress(), channelA.hardwareAddress(), 100, random);
        byte[] expected = io.netty.buffer.ByteBufUtil.getBytes(small);
        channelA.writeAndFlush(small).sync();
        assertArrayEquals(expected, atB.frames.poll(5, TimeUnit.SECONDS));
        assertEquals(1, channelB.stats().receivedOversize());
    }

    @Test
    void anUnknownInterfaceIsNamedWithThoseThatExist() {
        Exception e = assertThrows(Exception.class,
                () -> RawSocketTestSupport.bind(loops, a, "nosuch0", new Collector(), bootstrap -> { }));
        assertTrue(e.getMessage().contains("no network interface 'nosuch0'; interfaces here: lo, a0"), e.getMessage());
    }

    @Test
    void anInterfaceGoingDownClosesTheChannelWithTheCause() throws Exception {
        CompletableFuture<Throwable> caught = new CompletableFuture<>();
        CompletableFuture<Void> inactive = new CompletableFuture<>();
        RawSocketChannel channel = RawSocketTestSupport.bind(loops, b, "b0", new ChannelInboundHandlerAdapter() {
            @Override
            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                caught.complete(cause);
            }

            @Override
            public void channelInactive(ChannelHandlerContext ctx) {
                inactive.complete(null);
            }
        }, bootstrap -> { });
        testbed.exec(b, "ip", "link", "set", "b0", "down");
        Throwable cause = caught.get(5, TimeUnit.SECONDS);
        inactive.get(5, TimeUnit.SECONDS);
        assertTrue(cause.getMessage().contains("interface b0 went down or disappeared: ENETDOWN"), cause.getMessage());
        assertFalse(channel.isOpen());
        assertNotNull(channel.closeCause());
    }

    @Test
    void missingCapabilitySaysWhichOneAndHowToGrantIt() throws Exception {
        String javaCommand = ProcessHandle.current().info().command().orElseThrow();
        Process probe = new ProcessBuilder("setpriv", "--bounding-set=-net_raw", "--inh-caps=-net_raw", javaCommand,
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                OpenProbe.class.getName()).redirectErrorStream(true).start();
        String output = new String(probe.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(probe.waitFor(30, TimeUnit.SECONDS));
        assertTrue(output.contains("EPERM") && output.contains("needs the CAP_NET_RAW capability")
                && output.contains("setcap") && output.contains("AmbientCapabilities"), output);
    }
}
