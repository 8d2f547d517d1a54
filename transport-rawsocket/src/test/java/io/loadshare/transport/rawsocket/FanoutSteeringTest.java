package io.loadshare.transport.rawsocket;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loadshare.core.packet.Frames;
import io.loadshare.core.packet.Ipv4Address;
import io.loadshare.core.packet.TcpHeader;
import io.loadshare.testbed.NetnsTestbed;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The kernel runs the steering program over a fanout group of two sockets, each on its own event loop: a request,
 * its reply, a reply to a full-NAT port and ICMP errors quoting either direction all reach the socket the flow's
 * client side names.
 */
class FanoutSteeringTest {
    private static final int VIP = Ipv4Address.parse("198.51.100.10");
    private static final int SNAT = Ipv4Address.parse("198.51.100.20");
    private static final int BACKEND = Ipv4Address.parse("192.0.2.11");
    private static final int TEST_FRAMES = 64;

    /** Records, per received frame, which socket of the group it reached. */
    private static final class Tagger extends ChannelInboundHandlerAdapter {
        private final int socket;
        private final BlockingQueue<int[]> arrivals;

        Tagger(int socket, BlockingQueue<int[]> arrivals) {
            this.socket = socket;
            this.arrivals = arrivals;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf frame = (ByteBuf) msg;
            // The frames carry their number in the IPv4 identification field.
            if (frame.readableBytes() > 20 && frame.getUnsignedShort(frame.readerIndex() + 12) == 0x0800) {
                arrivals.add(new int[] {frame.getUnsignedShort(frame.readerIndex() + 18), socket});
            }
            frame.release();
        }
    }

    /** A fanout group of two sockets on b0, fed by a0; records which socket each numbered frame reached. */
    private static final class Group implements AutoCloseable {
        final EventLoopGroup loops = RawSocketTestSupport.loops(2);
        final NetnsTestbed testbed = NetnsTestbed.create();
        final BlockingQueue<int[]> arrivals = new LinkedBlockingQueue<>();
        final RawSocketChannel sender;
        final long to;
        final long from;

        Group(FanoutSteering steering) throws Exception {
            String a = testbed.namespace("a");
            String b = testbed.namespace("b");
            testbed.veth(a, "a0", b, "b0");
            testbed.sysctl(a, "net.ipv6.conf.all.disable_ipv6", "1");
            testbed.sysctl(b, "net.ipv6.conf.all.disable_ipv6", "1");
            sender = RawSocketTestSupport.bind(loops, a, "a0", new ChannelInboundHandlerAdapter(), bootstrap -> { });
            RawSocketChannel first = RawSocketTestSupport.bind(loops, b, "b0", new Tagger(0, arrivals), bootstrap ->
                    bootstrap.option(RawSocketChannelOption.FANOUT_GROUP, RawSocketChannel.NEW_FANOUT_GROUP)
                            .option(RawSocketChannelOption.FANOUT_STEERING, steering));
            int group = first.fanoutGroup();
            assertTrue(group >= 0 && group <= 0xFFFF, "the kernel picked group " + group);
            RawSocketChannel second = RawSocketTestSupport.bind(loops, b, "b0", new Tagger(1, arrivals), bootstrap ->
                    bootstrap.option(RawSocketChannelOption.FANOUT_GROUP, group)
                            .option(RawSocketChannelOption.FANOUT_STEERING, steering));
            assertTrue(first.eventLoop() != second.eventLoop());
            assertEquals(group, second.fanoutGroup());
            to = first.hardwareAddress();
            from = sender.hardwareAddress();
        }

        /** Checks that frame {@code n} of {@code expected.length} reached socket {@code expected[n]}. */
        void expect(int[] expected) throws InterruptedException {
            int[] seen = new int[2];
            for (int i = 0; i < expected.length; i++) {
                int[] arrival = arrivals.poll(5, TimeUnit.SECONDS);
                assertNotNull(arrival, "frame " + i + " of " + expected.length);
                assertEquals(expected[arrival[0]], arrival[1], "frame " + arrival[0]);
                seen[arrival[1]]++;
            }
            assertTrue(seen[0] > 0 && seen[1] > 0, "both sockets get flows: " + seen[0] + " / " + seen[1]);
        }

        @Override
        public void close() throws Exception {
            loops.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
            testbed.close();
        }
    }

    @Test
    void bothDirectionsOfEveryFlowMeetOnOneSocket() throws Exception {
        FanoutSteering steering = FanoutSteering.builder().requestsTo(List.of(VIP)).portSlicesOf(List.of(SNAT))
                .build();
        try (Group group = new Group(steering)) {
            long to = group.to;
            long from = group.from;
            int[] expected = new int[TEST_FRAMES * 5];
            int n = 0;
            for (int i = 0; i < TEST_FRAMES; i++) {
                int client = Ipv4Address.parse("203.0.113." + (1 + i % 7));
                int port = 40000 + i * 13;
                int socket = Integer.remainderUnsigned(FanoutSteering.hash(client, port), 2);
                ByteBuf request = tcp(to, from, client, port, VIP, 80, n);
                expected[n++] = socket;
                ByteBuf reply = tcp(to, from, BACKEND, 80, client, port, n);
                expected[n++] = socket;
                int natPort = 1024 + i * 7;
                ByteBuf natReply = tcp(to, from, BACKEND, 80, SNAT, natPort, n);
                expected[n++] = natPort % 2;
                // A backend-side router quotes the request as forwarded; a client quotes the reply it got.
                ByteBuf aboutRequest = icmpError(to, from, BACKEND, client, tcp(0, 0, client, port, BACKEND, 80, 0), n);
                expected[n++] = socket;
                ByteBuf aboutReply = icmpError(to, from, client, VIP, tcp(0, 0, VIP, 80, client, port, 0), n);
                expected[n++] = socket;
                for (ByteBuf frame : List.of(request, reply, natReply, aboutRequest, aboutReply)) {
                    group.sender.write(frame);
                }
                group.sender.flush();
            }
            group.expect(expected);
        }
    }

    /** Persistence: a client network's connections all meet one worker, whatever their ports. */
    @Test
    void persistentClientsAreSteeredByTheirNetwork() throws Exception {
        int netmask = Ipv4Address.parse("255.255.255.192");
        FanoutSteering steering = FanoutSteering.builder().requestsTo(List.of(VIP)).clientAddressOnly(netmask)
                .build();
        try (Group group = new Group(steering)) {
            int[] expected = new int[TEST_FRAMES * 2];
            int n = 0;
            for (int i = 0; i < TEST_FRAMES; i++) {
                // Four client networks (/26s of 203.0.113.0/24); their hashes differ, so both sockets get some.
                int client = Ipv4Address.parse("203.0.113." + (i % 4 * 64 + 1 + i % 9));
                int port = 30000 + i * 31;
                int socket = Integer.remainderUnsigned(FanoutSteering.hash(client & netmask, 0), 2);
                group.sender.write(tcp(group.to, group.from, client, port, VIP, 80, n));
                expected[n++] = socket;
                group.sender.write(tcp(group.to, group.from, BACKEND, 80, client, port, n));
                expected[n++] = socket;
                group.sender.flush();
            }
            group.expect(expected);
        }
    }

    private static ByteBuf tcp(long to, long from, int source, int sourcePort, int destination, int destinationPort,
            int number) {
        ByteBuf frame = Frames.tcp(Unpooled.directBuffer(), to, from, source, sourcePort, destination,
                destinationPort, 1, 0, TcpHeader.ACK, new byte[0]);
        frame.setShort(18, number);
        return frame;
    }

    /** ICMP destination unreachable (fragmentation needed), quoting {@code quoted}'s IPv4 header and 8 bytes. */
    private static ByteBuf icmpError(long to, long from, int source, int destination, ByteBuf quoted, int number) {
        ByteBuf frame = Unpooled.directBuffer();
        frame.writeShort((int) (to >>> 32)).writeInt((int) to).writeShort((int) (from >>> 32)).writeInt((int) from);
        frame.writeShort(0x0800);
        frame.writeByte(0x45).writeByte(0).writeShort(20 + 8 + 28).writeShort(number).writeShort(0)
                .writeByte(64).writeByte(1).writeShort(0).writeInt(source).writeInt(destination);
        frame.writeByte(3).writeByte(4).writeShort(0).writeShort(0).writeShort(1400);
        frame.writeBytes(quoted, 14, 28);
        quoted.release();
        return frame;
    }
}
