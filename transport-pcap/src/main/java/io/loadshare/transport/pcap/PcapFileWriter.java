package io.loadshare.transport.pcap;

import io.loadshare.core.packet.CaptureHeader;
import io.netty.buffer.ByteBuf;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Writes frames as a classic pcap file with nanosecond timestamps (magic 0xa1b23c4d, Ethernet), which tcpdump and
 * Wireshark read. A frame that carries capture metadata ({@link CaptureHeader}) keeps its timestamp and original
 * length; any other is stamped with the current time.
 */
final class PcapFileWriter implements AutoCloseable {
    private final OutputStream out;
    private final byte[] header = new byte[ClassicPcapReader.RECORD_HEADER];

    private PcapFileWriter(OutputStream out) {
        this.out = out;
    }

    static PcapFileWriter create(Path file) throws IOException {
        OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 16);
        byte[] global = new byte[ClassicPcapReader.GLOBAL_HEADER];
        putInt(global, 0, ClassicPcapReader.MAGIC_NANOS);
        global[4] = 0;
        global[5] = 2;
        global[6] = 0;
        global[7] = 4;
        putInt(global, 16, ClassicPcapReader.MAX_RECORD);
        putInt(global, 20, ClassicPcapReader.LINKTYPE_ETHERNET);
        out.write(global);
        return new PcapFileWriter(out);
    }

    private static void putInt(byte[] bytes, int at, int value) {
        bytes[at] = (byte) (value >>> 24);
        bytes[at + 1] = (byte) (value >>> 16);
        bytes[at + 2] = (byte) (value >>> 8);
        bytes[at + 3] = (byte) value;
    }

    void write(ByteBuf frame) throws IOException {
        int length = frame.readableBytes();
        long timestamp;
        int original;
        if (CaptureHeader.isPresent(frame)) {
            timestamp = CaptureHeader.timestampNanos(frame);
            original = Math.max(length, CaptureHeader.originalLength(frame));
        } else {
            java.time.Instant now = java.time.Instant.now();
            timestamp = now.getEpochSecond() * 1_000_000_000L + now.getNano();
            original = length;
        }
        putInt(header, 0, (int) (timestamp / 1_000_000_000L));
        putInt(header, 4, (int) (timestamp % 1_000_000_000L));
        putInt(header, 8, length);
        putInt(header, 12, original);
        out.write(header);
        frame.getBytes(frame.readerIndex(), out, length);
    }

    void flush() throws IOException {
        out.flush();
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
