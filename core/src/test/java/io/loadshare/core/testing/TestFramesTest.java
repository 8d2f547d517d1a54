package io.loadshare.core.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.loadshare.core.packet.ArpHeader;
import io.loadshare.core.packet.Frames;
import io.loadshare.core.packet.Ipv4Address;
import io.loadshare.core.packet.MacAddress;
import io.loadshare.core.packet.TcpHeader;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

/** The frame writers used by lifecycle tests and the control plane must produce what scapy produces. */
class TestFramesTest {
    /**
     * Made with scapy 2.5: {@code Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:fe") / IP(src="203.0.113.5",
     * dst="192.0.2.10", id=1, ttl=64) / TCP(sport=40000, dport=80, seq=1000, ack=5001, flags="PA", window=8192) /
     * Raw(b"hi")}.
     */
    private static final String PSH_ACK = "0200000000fe02000000000108004500002a0001000040067cbdcb007105c000020a9c400050000003e80000138950182000754f00006869";

    @Test
    void tcpBuilderMatchesScapy() {
        ByteBuf built = TestFrames.tcp(Ipv4Address.parse("203.0.113.5"), 40000, Ipv4Address.parse("192.0.2.10"), 80,
                TcpHeader.PSH | TcpHeader.ACK, new byte[] {'h', 'i'});
        assertEquals(PSH_ACK, TestFrames.hex(built));
        built.release();
    }

    @Test
    void arpWriterMatchesScapy() {
        ByteBuf built = Frames.arp(Unpooled.buffer(), MacAddress.BROADCAST, TestFrames.DISPATCHER_MAC,
                ArpHeader.REQUEST, TestFrames.DISPATCHER_MAC, Ipv4Address.parse("192.0.2.1"), MacAddress.ZERO,
                Ipv4Address.parse("192.0.2.10"));
        assertEquals(GoldenFrames.ARP_WHO_HAS_VIP, TestFrames.hex(built));
        built.release();
    }
}
