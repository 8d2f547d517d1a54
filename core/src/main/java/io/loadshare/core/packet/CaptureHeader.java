package io.loadshare.core.packet;

import io.netty.buffer.ByteBuf;

/**
 * A frame's capture timestamp and original (on-the-wire) length, carried as headroom just before the Ethernet
 * header: the four tag bytes {@link #TAG}, the timestamp in nanoseconds since the epoch (8 bytes), and the
 * original length (4 bytes), big-endian. The pcap transports put it there when they read a frame, and write it
 * back out when a frame that carries it is written to a file, so a replayed capture keeps its timing.
 */
public final class CaptureHeader {
    /** "LSPC": marks a buffer whose headroom holds capture metadata. */
    public static final int TAG = 0x4C53_5043;
    /** Tag, timestamp and original length. */
    public static final int HEADROOM = 16;

    private CaptureHeader() {
    }

    /** Whether the frame at the reader index carries capture metadata. */
    public static boolean isPresent(ByteBuf frame) {
        int r = frame.readerIndex();
        return r >= HEADROOM && frame.getInt(r - HEADROOM) == TAG;
    }

    /** Capture time in nanoseconds since the epoch; valid when {@link #isPresent}. */
    public static long timestampNanos(ByteBuf frame) {
        return frame.getLong(frame.readerIndex() - 12);
    }

    /** The frame's length on the wire, which may exceed the bytes captured; valid when {@link #isPresent}. */
    public static int originalLength(ByteBuf frame) {
        return frame.getInt(frame.readerIndex() - 4);
    }

    /** Writes the headroom at the buffer's writer index; the frame must follow it. */
    public static void write(ByteBuf buf, long timestampNanos, int originalLength) {
        buf.writeInt(TAG).writeLong(timestampNanos).writeInt(originalLength);
    }
}
