package io.loadshare.core.packet;

/**
 * ICMP header (RFC 792). Error messages quote the offending datagram's IP header and at least its first eight
 * payload bytes (enough for the ports) starting at {@link #quotedOffset()}.
 */
public final class IcmpHeader extends HeaderView {
    public static final int LENGTH = 8;
    public static final int CHECKSUM_OFFSET = 2;

    public static final int ECHO_REPLY = 0;
    public static final int DESTINATION_UNREACHABLE = 3;
    public static final int SOURCE_QUENCH = 4;
    public static final int ECHO_REQUEST = 8;
    public static final int TIME_EXCEEDED = 11;
    public static final int PARAMETER_PROBLEM = 12;
    /** Destination-unreachable code for "fragmentation needed and DF set" (RFC 1191 path MTU discovery). */
    public static final int CODE_FRAGMENTATION_NEEDED = 4;

    public int type() {
        return buf.getUnsignedByte(offset);
    }

    public int code() {
        return buf.getUnsignedByte(offset + 1);
    }

    public int checksum() {
        return buf.getUnsignedShort(offset + CHECKSUM_OFFSET);
    }

    public void setChecksum(int checksum) {
        buf.setShort(offset + CHECKSUM_OFFSET, checksum);
    }

    /** The next-hop MTU of a "fragmentation needed" message (RFC 1191). */
    public int nextHopMtu() {
        return buf.getUnsignedShort(offset + 6);
    }

    /** Whether this type quotes an offending datagram. */
    public boolean isError() {
        return isErrorType(type());
    }

    /** The absolute index of the quoted IP header of an error message. */
    public int quotedOffset() {
        return offset + LENGTH;
    }

    public static boolean isErrorType(int type) {
        return type == DESTINATION_UNREACHABLE || type == TIME_EXCEEDED || type == PARAMETER_PROBLEM
                || type == SOURCE_QUENCH;
    }
}
