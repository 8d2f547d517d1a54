package io.loadshare.core.packet;

import io.netty.buffer.ByteBuf;

/**
 * The {@code virtio_net_hdr} a Linux packet socket exchanges with PACKET_VNET_HDR (linux/virtio_net.h): it says
 * whether the transport checksum is still partial (CHECKSUM_PARTIAL, as veth and offloading NICs leave it) and
 * whether the frame is a GSO super-frame to be segmented on transmit.
 *
 * <p>Frame buffers carry it as headroom: a transport that received one puts the four tag bytes {@link #TAG} and
 * the ten header bytes just before the Ethernet header, at the reader index, so the header travels with the
 * frame through the pipeline and out again without allocation or copying. A buffer without the tag has no
 * header; a transport sends it with a zero header ("checksum complete, not GSO"). Multi-byte fields are
 * little-endian, as the kernel writes them on x86 and arm64.
 */
public final class VirtioNetHeader {
    /** Bytes of the header itself. */
    public static final int LENGTH = 10;
    /** "LSVN": marks a buffer whose headroom holds a header. */
    public static final int TAG = 0x4C53_564E;
    /** Tag plus header: the headroom a transport reserves before the frame. */
    public static final int HEADROOM = 4 + LENGTH;

    /** {@code flags}: the transport checksum must be completed from {@code csum_start}. */
    public static final int FLAG_NEEDS_CSUM = 1;
    /** {@code flags}: the checksum was already verified. */
    public static final int FLAG_DATA_VALID = 2;
    public static final int GSO_NONE = 0;
    public static final int GSO_TCPV4 = 1;
    public static final int GSO_UDP = 3;
    public static final int GSO_TCPV6 = 4;
    public static final int GSO_UDP_L4 = 5;
    public static final int GSO_ECN = 0x80;

    private VirtioNetHeader() {
    }

    /** Whether the frame at the buffer's reader index carries a header in its headroom. */
    public static boolean isPresent(ByteBuf frame) {
        int r = frame.readerIndex();
        return r >= HEADROOM && frame.getInt(r - HEADROOM) == TAG;
    }

    /** The absolute index of the header; valid when {@link #isPresent}. */
    public static int offset(ByteBuf frame) {
        return frame.readerIndex() - LENGTH;
    }

    /** Whether the frame's TCP/UDP checksum field holds only the pseudo-header sum (CHECKSUM_PARTIAL). */
    public static boolean isChecksumPartial(ByteBuf frame) {
        return isPresent(frame) && (frame.getUnsignedByte(offset(frame)) & FLAG_NEEDS_CSUM) != 0;
    }

    public static int flags(ByteBuf frame) {
        return frame.getUnsignedByte(offset(frame));
    }

    public static int gsoType(ByteBuf frame) {
        return frame.getUnsignedByte(offset(frame) + 1);
    }

    public static int headerLength(ByteBuf frame) {
        return frame.getUnsignedShortLE(offset(frame) + 2);
    }

    public static int gsoSize(ByteBuf frame) {
        return frame.getUnsignedShortLE(offset(frame) + 4);
    }

    /** Where checksumming starts, counted from the Ethernet header. */
    public static int checksumStart(ByteBuf frame) {
        return frame.getUnsignedShortLE(offset(frame) + 6);
    }

    /** Where the checksum goes, counted from {@link #checksumStart}. */
    public static int checksumOffset(ByteBuf frame) {
        return frame.getUnsignedShortLE(offset(frame) + 8);
    }

    /** Writes the tag at {@code headroomIndex}; the header's ten bytes follow it, then the frame. */
    public static void tag(ByteBuf buf, int headroomIndex) {
        buf.setInt(headroomIndex, TAG);
    }
}
