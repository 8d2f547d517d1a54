package io.loadshare.transport.rawsocket;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loadshare.core.netns.NetworkNamespace;
import io.loadshare.core.packet.MacAddress;
import io.loadshare.testbed.NetnsTestbed;
import io.loadshare.transport.rawsocket.RawSocketTestSupport.Mode;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A real TCP connection, carried by a trivial bridge pipeline over two raw-socket channels, with veth offloads
 * left on: the client's segments arrive with partial checksums and as GSO super-frames, and must leave intact
 * through the virtio-net header path. 1 MB each way, compared byte for byte.
 *
 * <pre>
 * [cli] c0 192.0.2.1 ── dc [disp] ds ── s0 192.0.2.2 [srv]
 * </pre>
 * The client and server reach each other through static neighbour entries pointing at the dispatcher's MACs; the
 * bridge rewrites both MACs, as a layer-2 dispatcher does.
 */
class RawSocketBridgeTcpTest {
    private static final int SIZE = 1 << 20;

    /** Forwards every frame to the other channel with new MACs, flushing once per read batch. */
    @ChannelHandler.Sharable
    static final class Bridge extends ChannelInboundHandlerAdapter {
        volatile RawSocketChannel toServer;
        volatile RawSocketChannel toClient;
        volatile long serverMac;
        volatile long clientMac;
        final AtomicInteger largestFrame = new AtomicInteger();

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf frame = (ByteBuf) msg;
            boolean fromClient = ctx.channel() != toServer;
            Channel out = fromClient ? toServer : toClient;
            RawSocketChannel outChannel = (RawSocketChannel) out;
            largestFrame.accumulateAndGet(frame.readableBytes(), Math::max);
            MacAddress.set(frame, frame.readerIndex(), fromClient ? serverMac : clientMac);
            MacAddress.set(frame, frame.readerIndex() + 6, outChannel.hardwareAddress());
            out.write(frame, out.voidPromise());
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            toServer.flush();
            toClient.flush();
        }
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void oneMegabyteEachWayIsByteExact(Mode mode) throws Exception {
        EventLoopGroup loops = RawSocketTestSupport.loops(1);
        try (NetnsTestbed testbed = NetnsTestbed.create()) {
            String cli = testbed.namespace("cli");
            String disp = testbed.namespace("disp");
            String srv = testbed.namespace("srv");
            testbed.veth(cli, "c0", disp, "dc");
            testbed.veth(disp, "ds", srv, "s0");
            testbed.address(cli, "c0", "192.0.2.1/24");
            testbed.address(srv, "s0", "192.0.2.2/24");
            testbed.exec(cli, "ip", "neigh", "add", "192.0.2.2", "lladdr", testbed.mac(disp, "dc"), "dev", "c0",
                    "nud", "permanent");
            testbed.exec(srv, "ip", "neigh", "add", "192.0.2.1", "lladdr", testbed.mac(disp, "ds"), "dev", "s0",
                    "nud", "permanent");

            Bridge bridge = new Bridge();
            bridge.clientMac = MacAddress.parse(testbed.mac(cli, "c0"));
            bridge.serverMac = MacAddress.parse(testbed.mac(srv, "s0"));
            bridge.toClient = RawSocketTestSupport.bind(loops, disp, "dc", bridge, b -> mode.apply(b, 11));
            bridge.toServer = RawSocketTestSupport.bind(loops, disp, "ds", bridge, b -> mode.apply(b, 12));

            SplittableRandom random = new SplittableRandom(1);
            byte[] upload = new byte[SIZE];
            byte[] download = new byte[SIZE];
            random.nextBytes(upload);
            random.nextBytes(download);

            // A socket belongs to the namespace of the thread that creates it: create (and bind, connect) inside.
            ServerSocket server = NetworkNamespace.named(srv).run(() -> {
                ServerSocket s = ServerSocketChannel.open().socket();
                s.bind(new InetSocketAddress("192.0.2.2", 8080));
                return s;
            });
            CompletableFuture<byte[]> received = CompletableFuture.supplyAsync(() -> {
                try (server; Socket accepted = server.accept()) {
                    byte[] got = readFully(Channels.newInputStream(accepted.getChannel()));
                    OutputStream out = Channels.newOutputStream(accepted.getChannel());
                    out.write(download);
                    out.flush();
                    accepted.shutdownOutput();
                    return got;
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            Socket client = NetworkNamespace.named(cli).run(() -> {
                Socket s = SocketChannel.open().socket();
                s.connect(new InetSocketAddress("192.0.2.2", 8080), 5_000);
                return s;
            });
            try (client) {
                OutputStream out = Channels.newOutputStream(client.getChannel());
                out.write(upload);
                out.flush();
                client.shutdownOutput();
                byte[] got = readFully(Channels.newInputStream(client.getChannel()));
                assertArrayEquals(download, got, "download");
            }
            assertArrayEquals(upload, received.get(20, TimeUnit.SECONDS), "upload");
            assertTrue(bridge.largestFrame.get() > 1514,
                    "expected GSO super-frames with offloads on, largest frame was " + bridge.largestFrame.get());
            if (mode == Mode.FRAME_RING) {
                // Super-frames do not fit a 2 KiB slot: each came whole through the socket's queue.
                assertTrue(bridge.toServer.stats().receiveCalls() > 0, bridge.toServer.stats().toString());
            }
            assertEquals(0, bridge.toServer.stats().receivedOversize() + bridge.toClient.stats().receivedOversize());
            assertEquals(0, testbedCounter(testbed, srv, "TcpInCsumErrors"), "checksum errors at the server");
            assertEquals(0, testbedCounter(testbed, cli, "TcpInCsumErrors"), "checksum errors at the client");
            bridge.toClient.close().sync();
            bridge.toServer.close().sync();
        } finally {
            loops.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }

    private static byte[] readFully(InputStream in) throws IOException {
        byte[] all = new byte[SIZE];
        new DataInputStream(in).readFully(all);
        return all;
    }

    /** A counter from /proc/net/snmp ("Tcp: ... InCsumErrors") inside a namespace. */
    private static long testbedCounter(NetnsTestbed testbed, String namespace, String name) {
        String[] lines = testbed.exec(namespace, "cat", "/proc/net/snmp").split("\n");
        for (int i = 0; i + 1 < lines.length; i++) {
            if (lines[i].startsWith("Tcp:") && lines[i + 1].startsWith("Tcp:")) {
                String[] names = lines[i].split("\\s+");
                String[] values = lines[i + 1].split("\\s+");
                for (int k = 0; k < names.length; k++) {
                    if (("Tcp" + names[k]).equals(name)) {
                        return Long.parseLong(values[k]);
                    }
                }
            }
        }
        throw new AssertionError(name + " not found in /proc/net/snmp");
    }
}
