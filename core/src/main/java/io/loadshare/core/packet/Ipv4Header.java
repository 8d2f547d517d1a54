package io.loadshare.core.packet;

/**
 * IPv4 header (RFC 791), options included: every length is taken from IHL, never assumed to be 20.
 */
public final class Ipv4Header extends HeaderView {
    public static final int MIN_LENGTH = 20;
    /** Offset of the source address in the header. */
    public static final int SOURCE = 12;
    /** Offset of the destination address in the header. */
    public static final int DESTINATION = 16;
    private static final int FLAG_MORE_FRAGMENTS = 0x2000;
    private static final int FRAGMENT_OFFSET_MASK = 0x1FFF;

    public int version() {
        return buf.getUnsignedByte(offset) >>> 4;
    }

    /** Header length in 32-bit words. */
    public int ihl() {
        return buf.getUnsignedByte(offset) & 0x0F;
    }

    /** Header length in bytes, options included. */
    public int headerLength() {
        return ihl() << 2;
    }

    public int totalLength() {
        return buf.getUnsignedShort(offset + 2);
    }

    public int identification() {
        return buf.getUnsignedShort(offset + 4);
    }

    public boolean dontFragment() {
        return (buf.getUnsignedShort(offset + 6) & 0x4000) != 0;
    }

    public boolean moreFragments() {
        return (buf.getUnsignedShort(offset + 6) & FLAG_MORE_FRAGMENTS) != 0;
    }

    /** Fragment offset in 8-byte units. */
    public int fragmentOffset() {
        return buf.getUnsignedShort(offset + 6) & FRAGMENT_OFFSET_MASK;
    }

    /** Whether this datagram is any fragment: the first (MF set, offset 0) or a later one. */
    public boolean isFragment() {
        return (buf.getUnsignedShort(offset + 6) & (FLAG_MORE_FRAGMENTS | FRAGMENT_OFFSET_MASK)) != 0;
    }

    public int ttl() {
        return buf.getUnsignedByte(offset + 8);
    }

    public void setTtl(int ttl) {
        buf.setByte(offset + 8, ttl);
    }

    public int protocol() {
        return buf.getUnsignedByte(offset + 9);
    }

    public int checksum() {
        return buf.getUnsignedShort(offset + 10);
    }

    public void setChecksum(int checksum) {
        buf.setShort(offset + 10, checksum);
    }

    public int source() {
        return buf.getInt(offset + 12);
    }

    public void setSource(int address) {
        buf.setInt(offset + 12, address);
    }

    public int destination() {
        return buf.getInt(offset + 16);
    }

    public void setDestination(int address) {
        buf.setInt(offset + 16, address);
    }

    /** Whether the header checksum verifies (RFC 1071: the sum over the header folds to 0xFFFF). */
    public boolean isChecksumValid() {
        return InternetChecksum.sum(buf, offset, headerLength(), 0) == 0xFFFF;
    }

    /** Recomputes the header checksum from scratch; the data path uses {@link InternetChecksum#update32} instead. */
    public void computeChecksum() {
        setChecksum(0);
        setChecksum(InternetChecksum.checksum(buf, offset, headerLength()));
    }

    /**
     * The one's-complement sum of the TCP/UDP pseudo header (RFC 793 section 3.1, RFC 768), unfolded into 16 bits
     * but not complemented, for a transport segment of {@code l4Length} bytes.
     */
    public int pseudoHeaderSum(int l4Length) {
        long sum = (buf.getUnsignedShort(offset + 12) + buf.getUnsignedShort(offset + 14)
                + buf.getUnsignedShort(offset + 16) + buf.getUnsignedShort(offset + 18)
                + protocol() + l4Length);
        return InternetChecksum.fold(sum);
    }
}
