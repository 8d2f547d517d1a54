package io.loadshare.core.packet;

import static io.loadshare.core.testing.GoldenFrames.ARP_WHO_HAS_VIP;
import static io.loadshare.core.testing.GoldenFrames.ICMP_FRAG_NEEDED;
import static io.loadshare.core.testing.GoldenFrames.TCP_DATA_IP_OPTIONS;
import static io.loadshare.core.testing.GoldenFrames.TCP_FIN_VLAN;
import static io.loadshare.core.testing.GoldenFrames.TCP_SYN;
import static io.loadshare.core.testing.GoldenFrames.UDP_DNS;
import static io.loadshare.core.testing.TestFrames.hex;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import org.junit.jupiter.api.Test;

/** Each view read over scapy-made frames (see {@code GoldenFrames}), and written back. */
class HeaderViewsTest {
    private static final int CLIENT = Ipv4Address.parse("203.0.113.5");
    private static final int VIP = Ipv4Address.parse("192.0.2.10");

    @Test
    void ethernetAndIpv4AndTcp() {
        ByteBuf frame = hex(TCP_SYN);
        EthernetHeader eth = new EthernetHeader();
        eth.wrap(frame, 0);
        assertEquals(MacAddress.parse("02:00:00:00:00:fe"), eth.destination());
        assertEquals(MacAddress.parse("02:00:00:00:00:01"), eth.source());
        assertFalse(eth.hasVlanTag());
        assertEquals(-1, eth.vlanTci());
        assertEquals(EtherType.IPV4, eth.etherType());
        assertEquals(14, eth.headerLength());

        Ipv4Header ip = new Ipv4Header();
        ip.wrap(frame, 14);
        assertEquals(4, ip.version());
        assertEquals(20, ip.headerLength());
        assertEquals(44, ip.totalLength());
        assertEquals(1, ip.identification());
        assertEquals(64, ip.ttl());
        assertEquals(IpProtocol.TCP, ip.protocol());
        assertEquals(0x7cbb, ip.checksum());
        assertEquals(CLIENT, ip.source());
        assertEquals(VIP, ip.destination());
        assertTrue(ip.isChecksumValid());
        assertFalse(ip.isFragment());

        TcpHeader tcp = new TcpHeader();
        tcp.wrap(frame, 34);
        assertEquals(40000, tcp.sourcePort());
        assertEquals(80, tcp.destinationPort());
        assertEquals(1000, tcp.sequenceNumber());
        assertEquals(0, tcp.acknowledgementNumber());
        assertEquals(24, tcp.headerLength());
        assertEquals(TcpHeader.SYN, tcp.flags());
        assertEquals(0xfeac, tcp.checksum());
    }

    @Test
    void ipv4OptionsAreSkippedByIhl() {
        ByteBuf frame = hex(TCP_DATA_IP_OPTIONS);
        Ipv4Header ip = new Ipv4Header();
        ip.wrap(frame, 14);
        assertEquals(8, ip.ihl());
        assertEquals(32, ip.headerLength());
        assertTrue(ip.isChecksumValid());
        TcpHeader tcp = new TcpHeader();
        tcp.wrap(frame, 14 + ip.headerLength());
        assertEquals(40000, tcp.sourcePort());
        assertEquals(TcpHeader.PSH | TcpHeader.ACK, tcp.flags());
    }

    @Test
    void vlanTagIsSeen() {
        ByteBuf frame = hex(TCP_FIN_VLAN);
        EthernetHeader eth = new EthernetHeader();
        eth.wrap(frame, 0);
        assertTrue(eth.hasVlanTag());
        assertEquals((3 << 13) | 100, eth.vlanTci());
        assertEquals(EtherType.IPV4, eth.etherType());
        assertEquals(18, eth.headerLength());
    }

    @Test
    void udp() {
        ByteBuf frame = hex(UDP_DNS);
        UdpHeader udp = new UdpHeader();
        udp.wrap(frame, 34);
        assertEquals(53000, udp.sourcePort());
        assertEquals(53, udp.destinationPort());
        assertEquals(20, udp.length());
        assertEquals(0x1f43, udp.checksum());
    }

    @Test
    void icmpErrorQuotesTheOffendingHeader() {
        ByteBuf frame = hex(ICMP_FRAG_NEEDED);
        IcmpHeader icmp = new IcmpHeader();
        icmp.wrap(frame, 34);
        assertEquals(IcmpHeader.DESTINATION_UNREACHABLE, icmp.type());
        assertEquals(IcmpHeader.CODE_FRAGMENTATION_NEEDED, icmp.code());
        assertEquals(1400, icmp.nextHopMtu());
        assertTrue(icmp.isError());
        Ipv4Header quoted = new Ipv4Header();
        quoted.wrap(frame, icmp.quotedOffset());
        assertEquals(VIP, quoted.source());
        assertEquals(CLIENT, quoted.destination());
        assertEquals(1500, quoted.totalLength());
        assertTrue(quoted.dontFragment());
        TcpHeader tcp = new TcpHeader();
        tcp.wrap(frame, icmp.quotedOffset() + quoted.headerLength());
        assertEquals(80, tcp.sourcePort());
        assertEquals(40000, tcp.destinationPort());
    }

    @Test
    void arpRequest() {
        ByteBuf frame = hex(ARP_WHO_HAS_VIP);
        ArpHeader arp = new ArpHeader();
        arp.wrap(frame, 14);
        assertTrue(arp.isEthernetIpv4());
        assertEquals(ArpHeader.REQUEST, arp.operation());
        assertEquals(MacAddress.parse("02:00:00:00:00:fe"), arp.senderHardwareAddress());
        assertEquals(Ipv4Address.parse("192.0.2.1"), arp.senderProtocolAddress());
        assertEquals(MacAddress.ZERO, arp.targetHardwareAddress());
        assertEquals(VIP, arp.targetProtocolAddress());
    }

    @Test
    void arpWriterReproducesScapyBytes() {
        ByteBuf frame = hex(ARP_WHO_HAS_VIP);
        ByteBuf copy = frame.copy();
        copy.setZero(14, ArpHeader.LENGTH);
        ArpHeader arp = new ArpHeader();
        arp.wrap(copy, 14);
        arp.set(ArpHeader.REQUEST, MacAddress.parse("02:00:00:00:00:fe"), Ipv4Address.parse("192.0.2.1"),
                MacAddress.ZERO, VIP);
        assertEquals(frame, copy);
    }

    @Test
    void writersTouchOnlyTheirField() {
        ByteBuf frame = hex(TCP_SYN);
        EthernetHeader eth = new EthernetHeader();
        eth.wrap(frame, 0);
        eth.setDestination(MacAddress.parse("02:00:00:00:00:0b"));
        eth.setSource(MacAddress.parse("02:00:00:00:00:fe"));
        assertEquals(hex(io.loadshare.core.testing.GoldenFrames.TCP_SYN_TO_BACKEND_MAC), frame);
    }

    @Test
    void addressesRoundTrip() {
        assertEquals("203.0.113.5", Ipv4Address.format(CLIENT));
        assertEquals("02:00:00:00:00:fe", MacAddress.format(MacAddress.parse("02-00-00-00-00-FE")));
        assertTrue(MacAddress.isGroup(MacAddress.BROADCAST));
        assertFalse(MacAddress.isGroup(MacAddress.parse("02:00:00:00:00:01")));
        assertEquals("unknown", MacAddress.format(MacAddress.UNKNOWN));
    }
}
