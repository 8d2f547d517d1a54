package io.loadshare.core.testing;

import io.loadshare.core.packet.EtherType;
import io.loadshare.core.packet.InternetChecksum;
import io.loadshare.core.packet.IpProtocol;
import io.loadshare.core.packet.Ipv4Header;
import io.loadshare.core.packet.MacAddress;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;

/**
 * Builds valid Ethernet/IPv4/TCP and UDP frames for tests that need many variants (lifecycle, fuzzing).
 * Golden tests use scapy-made bytes instead; {@code TestFramesTest} checks this builder against them.
 */
public final class TestFrames {
    public static final long CLIENT_MAC = MacAddress.parse("02:00:00:00:00:01");
    public static final long DISPATCHER_MAC = MacAddress.parse("02:00:00:00:00:fe");
    public static final long BACKEND_MAC = MacAddress.parse("02:00:00:00:00:0b");

    private TestFrames() {
    }

    /** A buffer holding the given hex bytes. */
    public static ByteBuf hex(String hex) {
        return Unpooled.wrappedBuffer(ByteBufUtil.decodeHexDump(hex));
    }

    /** The hex of a buffer's readable bytes, without consuming them. */
    public static String hex(ByteBuf buf) {
        return ByteBufUtil.hexDump(buf);
    }

    /** A TCP segment without options, IP id 1, TTL 64, window 8192, with valid checksums. */
    public static ByteBuf tcp(int source, int sourcePort, int destination, int destinationPort, int flags,
            byte[] payload) {
        int l4Length = 20 + payload.length;
        ByteBuf buf = ipv4(source, destination, IpProtocol.TCP, l4Length);
        int l4 = buf.writerIndex();
        buf.writeShort(sourcePort).writeShort(destinationPort).writeInt(1000).writeInt(flags == 0x02 ? 0 : 5001);
        buf.writeByte(5 << 4).writeByte(flags).writeShort(8192).writeShort(0).writeShort(0);
        buf.writeBytes(payload);
        finishL4(buf, l4, l4Length, 16);
        return buf;
    }

    /** A UDP datagram with valid checksums. */
    public static ByteBuf udp(int source, int sourcePort, int destination, int destinationPort, byte[] payload) {
        int l4Length = 8 + payload.length;
        ByteBuf buf = ipv4(source, destination, IpProtocol.UDP, l4Length);
        int l4 = buf.writerIndex();
        buf.writeShort(sourcePort).writeShort(destinationPort).writeShort(l4Length).writeShort(0);
        buf.writeBytes(payload);
        finishL4(buf, l4, l4Length, 6);
        return buf;
    }

    private static ByteBuf ipv4(int source, int destination, int protocol, int l4Length) {
        ByteBuf buf = Unpooled.buffer(14 + 20 + l4Length);
        buf.writeShort((int) (DISPATCHER_MAC >>> 32)).writeInt((int) DISPATCHER_MAC);
        buf.writeShort((int) (CLIENT_MAC >>> 32)).writeInt((int) CLIENT_MAC);
        buf.writeShort(EtherType.IPV4);
        buf.writeByte(0x45).writeByte(0).writeShort(20 + l4Length).writeShort(1).writeShort(0);
        buf.writeByte(64).writeByte(protocol).writeShort(0).writeInt(source).writeInt(destination);
        Ipv4Header ip = new Ipv4Header();
        ip.wrap(buf, 14);
        ip.computeChecksum();
        return buf;
    }

    private static void finishL4(ByteBuf buf, int l4, int l4Length, int checksumOffset) {
        Ipv4Header ip = new Ipv4Header();
        ip.wrap(buf, 14);
        int sum = InternetChecksum.sum(buf, l4, l4Length, ip.pseudoHeaderSum(l4Length));
        buf.setShort(l4 + checksumOffset, ~sum & 0xFFFF);
    }
}
