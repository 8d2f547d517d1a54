package io.loadshare.core.packet;

/**
 * ARP for IPv4 over Ethernet (RFC 826): the only kind loadshare speaks.
 *
 * <pre>
 * htype(2)=1 ptype(2)=0x0800 hlen(1)=6 plen(1)=4 op(2) sha(6) spa(4) tha(6) tpa(4)
 * </pre>
 */
public final class ArpHeader extends HeaderView {
    public static final int LENGTH = 28;
    public static final int REQUEST = 1;
    public static final int REPLY = 2;

    /** Whether this is Ethernet/IPv4 ARP; anything else is malformed for our purposes. */
    public boolean isEthernetIpv4() {
        return buf.getUnsignedShort(offset) == 1
                && buf.getUnsignedShort(offset + 2) == EtherType.IPV4
                && buf.getUnsignedByte(offset + 4) == 6
                && buf.getUnsignedByte(offset + 5) == 4;
    }

    public int operation() {
        return buf.getUnsignedShort(offset + 6);
    }

    public long senderHardwareAddress() {
        return MacAddress.get(buf, offset + 8);
    }

    public int senderProtocolAddress() {
        return buf.getInt(offset + 14);
    }

    public long targetHardwareAddress() {
        return MacAddress.get(buf, offset + 18);
    }

    public int targetProtocolAddress() {
        return buf.getInt(offset + 24);
    }

    /** Writes a complete Ethernet/IPv4 ARP body at this view's offset. */
    public void set(int operation, long senderMac, int senderIp, long targetMac, int targetIp) {
        buf.setShort(offset, 1);
        buf.setShort(offset + 2, EtherType.IPV4);
        buf.setByte(offset + 4, 6);
        buf.setByte(offset + 5, 4);
        buf.setShort(offset + 6, operation);
        MacAddress.set(buf, offset + 8, senderMac);
        buf.setInt(offset + 14, senderIp);
        MacAddress.set(buf, offset + 18, targetMac);
        buf.setInt(offset + 24, targetIp);
    }
}
