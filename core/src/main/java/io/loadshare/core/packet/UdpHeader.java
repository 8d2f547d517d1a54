package io.loadshare.core.packet;

/** UDP header (RFC 768). A checksum of zero means that the sender computed none. */
public final class UdpHeader extends HeaderView {
    public static final int LENGTH = 8;
    public static final int CHECKSUM_OFFSET = 6;

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

    /** Header plus payload, in bytes. */
    public int length() {
        return buf.getUnsignedShort(offset + 4);
    }

    public int checksum() {
        return buf.getUnsignedShort(offset + CHECKSUM_OFFSET);
    }

    public void setChecksum(int checksum) {
        buf.setShort(offset + CHECKSUM_OFFSET, checksum);
    }
}
