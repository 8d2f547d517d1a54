package io.loadshare.dispatch.l3;

import io.loadshare.core.mode.Arm;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loadshare.core.metrics.DropReason;
import io.loadshare.core.packet.EthernetHeader;
import io.loadshare.core.packet.Frames;
import io.loadshare.core.packet.Ipv4Address;
import io.loadshare.core.packet.MacAddress;
import io.loadshare.core.packet.TcpHeader;
import io.loadshare.core.testing.TestFrames;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * LSNAT at its edges, on embedded channels: full-NAT ports shared by services on one address, replies that a
 * spoofed frame cannot redirect, and arms bound in any order but never on two event loops. Frames are built with
 * {@link Frames}; each test checks the fields it is about.
 */
class LsnatEdgesTest {
    private static final L3Settings SETTINGS = new L3Settings(Duration.ofMillis(100), 2, 0, 1000, 50);
    private static final int CLIENT = Ipv4Address.parse("203.0.113.2");
    private static final int OTHER_CLIENT = Ipv4Address.parse("203.0.113.3");
    private static final int VIP_A = Ipv4Address.parse("203.0.113.10");
    private static final int VIP_B = Ipv4Address.parse("203.0.113.20");
    private static final int BACKEND = Ipv4Address.parse("192.0.2.11");
    private static final int SOURCE_NAT = Ipv4Address.parse("192.0.2.250");
    private static final long ATTACKER_MAC = MacAddress.parse("02:00:00:00:00:66");
    private static final int IP = EthernetHeader.LENGTH;
    private static final int TCP = IP + 20;

    private static ByteBuf fromClient(long mac, int client, int clientPort, int vip, int flags) {
        return Frames.tcp(Unpooled.buffer(), TestFrames.DISPATCHER_MAC, mac, client, clientPort, vip, 80, 1000,
                flags == TcpHeader.SYN ? 0 : 5001, flags, new byte[0]);
    }

    private static ByteBuf fromBackend(int destination, int destinationPort, int flags) {
        return Frames.tcp(Unpooled.buffer(), TestFrames.DISPATCHER_MAC, TestFrames.BACKEND_MAC, BACKEND, 80,
                destination, destinationPort, 5000, 1001, flags, new byte[0]);
    }

    /** Writes a frame and returns the IPv4 frame that left for it, or null; ARP rounds' requests are skipped. */
    private static ByteBuf through(EmbeddedChannel channel, ByteBuf frame) {
        channel.writeInbound(frame);
        for (ByteBuf out; (out = channel.readOutbound()) != null; out.release()) {
            if (out.getUnsignedShort(12) == 0x0800) {
                return out;
            }
        }
        return null;
    }

    @Test
    void servicesSharingASourceNatAddressNeverHandOutTheSamePort() throws Exception {
        L3Dispatcher lsnat = L3Dispatcher.builder()
                .service(L3Service.of("a", "203.0.113.10", 80, "round-robin", "192.0.2.11").withSourceNat("192.0.2.250"))
                .service(L3Service.of("b", "203.0.113.20", 80, "round-robin", "192.0.2.11").withSourceNat("192.0.2.250"))
                .settings(SETTINGS)
                .build();
        LsnatHarness.MacChannel channel = new LsnatHarness.MacChannel(lsnat.initializer(Arm.BOTH));
        try {
            LsnatHarness.bringUp(channel, lsnat, "192.0.2.11");
            // The same client port to both services, and another client to the second one.
            int[][] flows = {{CLIENT, VIP_A}, {CLIENT, VIP_B}, {OTHER_CLIENT, VIP_B}};
            int[] ports = new int[flows.length];
            Set<Integer> distinct = new HashSet<>();
            for (int i = 0; i < flows.length; i++) {
                ByteBuf out = through(channel, fromClient(TestFrames.CLIENT_MAC, flows[i][0], 40000, flows[i][1],
                        TcpHeader.SYN));
                assertNotNull(out, "SYN " + i + " forwarded");
                assertEquals(SOURCE_NAT, out.getInt(IP + 12), "source-NAT address");
                ports[i] = out.getUnsignedShort(TCP);
                distinct.add(ports[i]);
                out.release();
            }
            assertEquals(3, distinct.size(), "one port per session on the shared address: " + distinct);
            assertEquals(3, lsnat.natPortsInUse(0));
            assertEquals(3, lsnat.natPortsInUse(1));
            // Each reply goes back to its own client, from its own cluster address.
            for (int i = flows.length - 1; i >= 0; i--) {
                ByteBuf reply = through(channel, fromBackend(SOURCE_NAT, ports[i], TcpHeader.SYN | TcpHeader.ACK));
                assertNotNull(reply, "reply " + i + " forwarded");
                assertEquals(flows[i][1], reply.getInt(IP + 12), "reply " + i + " from its cluster address");
                assertEquals(flows[i][0], reply.getInt(IP + 16), "reply " + i + " to its client");
                assertEquals(40000, reply.getUnsignedShort(TCP + 2));
                reply.release();
            }
        } finally {
            channel.finishAndReleaseAll();
        }
    }

    @Test
    void aSpoofedFrameDoesNotMoveAClientsReplies() throws Exception {
        L3Dispatcher lsnat = L3Dispatcher.builder()
                .service(L3Service.of("web", "203.0.113.10", 80, "round-robin", "192.0.2.11"))
                .settings(SETTINGS)
                .build();
        LsnatHarness.MacChannel channel = new LsnatHarness.MacChannel(lsnat.initializer(Arm.BOTH));
        try {
            LsnatHarness.bringUp(channel, lsnat, "192.0.2.11");
            through(channel, fromClient(TestFrames.CLIENT_MAC, CLIENT, 40000, VIP_A, TcpHeader.SYN)).release();
            // The attacker claims the client's address: in the client's own session, and in a new one.
            through(channel, fromClient(ATTACKER_MAC, CLIENT, 40000, VIP_A, TcpHeader.ACK)).release();
            through(channel, fromClient(ATTACKER_MAC, CLIENT, 40001, VIP_A, TcpHeader.SYN)).release();

            ByteBuf reply = through(channel, fromBackend(CLIENT, 40000, TcpHeader.SYN | TcpHeader.ACK));
            assertEquals(MacAddress.format(TestFrames.CLIENT_MAC), MacAddress.format(reply.getLong(0) >>> 16),
                    "the client's replies still go to the client");
            reply.release();
            ByteBuf spoofedReply = through(channel, fromBackend(CLIENT, 40001, TcpHeader.SYN | TcpHeader.ACK));
            assertEquals(MacAddress.format(ATTACKER_MAC), MacAddress.format(spoofedReply.getLong(0) >>> 16),
                    "the spoofed session's replies go where it came from, and nowhere else");
            spoofedReply.release();
        } finally {
            channel.finishAndReleaseAll();
        }
    }

    @Test
    void aRequestBeforeTheBackendArmIsBoundIsDroppedAndCounted() {
        L3Dispatcher lsnat = L3Dispatcher.builder()
                .service(L3Service.of("web", "203.0.113.10", 80, "round-robin", "192.0.2.11"))
                .settings(SETTINGS)
                .pinBackendMac(BACKEND, TestFrames.BACKEND_MAC)
                .build();
        LsnatHarness.MacChannel clientArm = new LsnatHarness.MacChannel(lsnat.initializer(Arm.CLIENT));
        try {
            assertNull(through(clientArm, fromClient(TestFrames.CLIENT_MAC, CLIENT, 40000, VIP_A, TcpHeader.SYN)));
            assertEquals(1, lsnat.context().counters().drops(DropReason.ARM_NOT_READY));
            clientArm.checkException();
        } finally {
            clientArm.finishAndReleaseAll();
        }
    }

    @Test
    void armsOnTwoEventLoopsAreRefused() {
        L3Dispatcher lsnat = L3Dispatcher.builder()
                .service(L3Service.of("web", "203.0.113.10", 80, "round-robin", "192.0.2.11"))
                .settings(SETTINGS)
                .build();
        LsnatHarness.MacChannel clientArm = new LsnatHarness.MacChannel(lsnat.initializer(Arm.CLIENT));
        EmbeddedChannel elsewhere = new EmbeddedChannel();
        try {
            IllegalStateException refused = assertThrows(IllegalStateException.class,
                    () -> lsnat.attach(Arm.BACKEND, elsewhere));
            assertTrue(refused.getMessage().contains("must share one event loop"), refused.getMessage());
            // Through a pipeline, the channel whose initializer refused is closed.
            LsnatHarness.MacChannel backendArm = new LsnatHarness.MacChannel(lsnat.initializer(Arm.BACKEND));
            assertFalse(backendArm.isOpen(), "the backend arm on another loop was closed");
            assertNotEquals(backendArm.eventLoop(), clientArm.eventLoop());
            backendArm.finishAndReleaseAll();
        } finally {
            clientArm.finishAndReleaseAll();
            elsewhere.finishAndReleaseAll();
        }
    }
}
