package io.loadshare.core.packet;

/** TCP header (RFC 793), options included. */
public final class TcpHeader extends HeaderView {
    public static final int MIN_LENGTH = 20;
    public static final int CHECKSUM_OFFSET = 16;

    public static final int FIN = 0x01;
    public static final int SYN = 0x02;
    public static final int RST = 0x04;
    public static final int PSH = 0x08;
    public static final int ACK = 0x10;

    public int sourcePort() {
        return buf.getUnsignedShort(offset);
    }

    public void setSourcePort(int port) {
        buf.setShort(offset, port);
    }

    public int destinationPort() {
        return buf.getUnsignedShort(offset + 2);
    }

    public void setDestinationPort(int port) {
        buf.setShort(offset + 2, port);
    }

    public long sequenceNumber() {
        return buf.getUnsignedInt(offset + 4);
    }

    public long acknowledgementNumber() {
        return buf.getUnsignedInt(offset + 8);
    }

    /** Data offset in bytes, options included. */
    public int headerLength() {
        return (buf.getUnsignedByte(offset + 12) >>> 4) << 2;
    }

    /** The low eight flag bits (CWR ECE URG ACK PSH RST SYN FIN). */
    public int flags() {
        return buf.getUnsignedByte(offset + 13);
    }

    public int checksum() {
        return buf.getUnsignedShort(offset + CHECKSUM_OFFSET);
    }

    public void setChecksum(int checksum) {
        buf.setShort(offset + CHECKSUM_OFFSET, checksum);
    }
}
