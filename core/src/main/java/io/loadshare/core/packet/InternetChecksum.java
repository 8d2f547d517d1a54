package io.loadshare.core.packet;

import io.netty.buffer.ByteBuf;

/**
 * The Internet checksum: the full computation of RFC 1071 and the incremental update of RFC 1624.
 *
 * <p>All sums are 16-bit one's-complement values held in an {@code int}. A <em>partial</em> checksum is what a
 * sender with checksum offload leaves in a TCP/UDP header (the kernel's CHECKSUM_PARTIAL): the folded pseudo-header
 * sum, not yet complemented, which the NIC (or the kernel, for a veth) completes on transmit.
 */
public final class InternetChecksum {
    private InternetChecksum() {
    }

    /**
     * Adds {@code length} bytes at {@code index} to a running sum (RFC 1071 section 4.1), returning it folded to 16
     * bits. An odd trailing byte is padded with zero, as the RFC requires.
     */
    public static int sum(ByteBuf buf, int index, int length, int initial) {
        long sum = initial;
        int end = index + length;
        int i = index;
        for (; i + 4 <= end; i += 4) {
            sum += buf.getUnsignedInt(i);
        }
        if (i + 2 <= end) {
            sum += buf.getUnsignedShort(i);
            i += 2;
        }
        if (i < end) {
            sum += buf.getUnsignedByte(i) << 8;
        }
        return fold(sum);
    }

    /** The checksum field value for {@code length} bytes whose checksum field is zero (RFC 1071). */
    public static int checksum(ByteBuf buf, int index, int length) {
        return ~sum(buf, index, length, 0) & 0xFFFF;
    }

    /** Folds carries into 16 bits (end-around carry). */
    public static int fold(long sum) {
        while ((sum >>> 16) != 0) {
            sum = (sum & 0xFFFF) + (sum >>> 16);
        }
        return (int) sum;
    }

    /**
     * Updates a complete checksum after one 16-bit word changed from {@code oldWord} to {@code newWord}:
     * {@code HC' = ~(~HC + ~m + m')}, RFC 1624 section 3, equation 3, which never yields the -0 that
     * equation 2 can.
     */
    public static int update16(int checksum, int oldWord, int newWord) {
        int sum = (~checksum & 0xFFFF) + (~oldWord & 0xFFFF) + (newWord & 0xFFFF);
        return ~fold(sum) & 0xFFFF;
    }

    /** {@link #update16} for a 32-bit field, such as an IPv4 address, as two 16-bit words. */
    public static int update32(int checksum, int oldValue, int newValue) {
        int sum = (~checksum & 0xFFFF)
                + (~oldValue >>> 16 & 0xFFFF) + (~oldValue & 0xFFFF)
                + (newValue >>> 16) + (newValue & 0xFFFF);
        return ~fold(sum) & 0xFFFF;
    }

    /**
     * Updates a partial checksum (the uncomplemented pseudo-header sum of CHECKSUM_PARTIAL) after a pseudo-header
     * word changed: {@code P' = P + m' - m}, the opposite sign of {@link #update16}, since nothing was complemented.
     */
    public static int updatePartial16(int partial, int oldWord, int newWord) {
        return fold((partial & 0xFFFF) + (~oldWord & 0xFFFF) + (newWord & 0xFFFF));
    }

    /** {@link #updatePartial16} for a 32-bit pseudo-header field, such as an IPv4 address. */
    public static int updatePartial32(int partial, int oldValue, int newValue) {
        return fold((partial & 0xFFFF)
                + (~oldValue >>> 16 & 0xFFFF) + (~oldValue & 0xFFFF)
                + (newValue >>> 16) + (newValue & 0xFFFF));
    }
}
