package io.loadshare.core.packet;

import io.netty.buffer.ByteBuf;

/**
 * Writes whole Ethernet frames with valid checksums: ARP for discovery and announcements, TCP and UDP for
 * health probes, demos and tests. Control-plane code: it computes checksums in full.
 */
public final class Frames {
    private static final int TTL = 64;

    private Frames() {
    }

    /** Appends an Ethernet/IPv4 ARP frame. */
    public static ByteBuf arp(ByteBuf out, long destinationMac, long sourceMac, int operation, long senderMac,
            int senderIp, long targetMac, int targetIp) {
        ethernet(out, destinationMac, sourceMac, EtherType.ARP);
        int at = out.writerIndex();
        out.writeZero(ArpHeader.LENGTH);
        ArpHeader arp = new ArpHeader();
        arp.wrap(out, at);
        arp.set(operation, senderMac, senderIp, targetMac, targetIp);
        return out;
    }

    /** Appends an Ethernet/IPv4/TCP frame without options (IP id 1, window 8192). */
    public static ByteBuf tcp(ByteBuf out, long destinationMac, long sourceMac, int source, int sourcePort,
            int destination, int destinationPort, long sequence, long acknowledgement, int flags, byte[] payload) {
        int l4Length = TcpHeader.MIN_LENGTH + payload.length;
        int l3 = ipv4(out, destinationMac, sourceMac, source, destination, IpProtocol.TCP, l4Length);
        int l4 = out.writerIndex();
        out.writeShort(sourcePort).writeShort(destinationPort).writeInt((int) sequence).writeInt((int) acknowledgement);
        out.writeByte(5 << 4).writeByte(flags).writeShort(8192).writeShort(0).writeShort(0);
        out.writeBytes(payload);
        finishTransport(out, l3, l4, l4Length, TcpHeader.CHECKSUM_OFFSET);
        return out;
    }

    /** Appends an Ethernet/IPv4/UDP frame. */
    public static ByteBuf udp(ByteBuf out, long destinationMac, long sourceMac, int source, int sourcePort,
            int destination, int destinationPort, byte[] payload) {
        int l4Length = UdpHeader.LENGTH + payload.length;
        int l3 = ipv4(out, destinationMac, sourceMac, source, destination, IpProtocol.UDP, l4Length);
        int l4 = out.writerIndex();
        out.writeShort(sourcePort).writeShort(destinationPort).writeShort(l4Length).writeShort(0);
        out.writeBytes(payload);
        finishTransport(out, l3, l4, l4Length, UdpHeader.CHECKSUM_OFFSET);
        return out;
    }

    private static void ethernet(ByteBuf out, long destinationMac, long sourceMac, int etherType) {
        int at = out.writerIndex();
        out.writeZero(EthernetHeader.LENGTH);
        MacAddress.set(out, at, destinationMac);
        MacAddress.set(out, at + 6, sourceMac);
        out.setShort(at + 12, etherType);
    }

    private static int ipv4(ByteBuf out, long destinationMac, long sourceMac, int source, int destination,
            int protocol, int l4Length) {
        ethernet(out, destinationMac, sourceMac, EtherType.IPV4);
        int l3 = out.writerIndex();
        out.writeByte(0x45).writeByte(0).writeShort(Ipv4Header.MIN_LENGTH + l4Length).writeShort(1).writeShort(0);
        out.writeByte(TTL).writeByte(protocol).writeShort(0).writeInt(source).writeInt(destination);
        Ipv4Header ip = new Ipv4Header();
        ip.wrap(out, l3);
        ip.computeChecksum();
        return l3;
    }

    private static void finishTransport(ByteBuf out, int l3, int l4, int l4Length, int checksumOffset) {
        Ipv4Header ip = new Ipv4Header();
        ip.wrap(out, l3);
        int checksum = ~InternetChecksum.sum(out, l4, l4Length, ip.pseudoHeaderSum(l4Length)) & 0xFFFF;
        // UDP reserves 0 for "no checksum"; the one's-complement zero 0xFFFF means the same sum.
        out.setShort(l4 + checksumOffset, checksum == 0 && checksumOffset == UdpHeader.CHECKSUM_OFFSET ? 0xFFFF : checksum);
    }
}
