package io.loadshare.transport.pcap;

import io.netty.buffer.ByteBuf;
import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * The classic pcap format (microsecond and nanosecond magic, either byte order), read in Java so that every
 * error names the byte offset of the bad header or record.
 *
 * <pre>
 * global header (24): magic, version 2.4, thiszone, sigfigs, snaplen, linktype (1 = Ethernet)
 * record header (16): seconds, micro- or nanoseconds, captured length, original length; then the bytes
 * </pre>
 */
final class ClassicPcapReader implements CaptureFileReader {
    static final int MAGIC_MICROS = 0xA1B2C3D4;
    static final int MAGIC_NANOS = 0xA1B23C4D;
    static final int MAGIC_PCAPNG = 0x0A0D0D0A;
    static final int LINKTYPE_ETHERNET = 1;
    static final int GLOBAL_HEADER = 24;
    static final int RECORD_HEADER = 16;
    /** Largest record accepted: libpcap's own maximum snapshot length. */
    static final int MAX_RECORD = 262_144;

    private final Path file;
    private final InputStream in;
    private final boolean swapped;
    private final boolean nanos;
    private final int snaplen;
    private final byte[] header = new byte[RECORD_HEADER];
    private long offset;
    private long recordOffset;
    private long timestampNanos;
    private int capturedLength;
    private int originalLength;

    private ClassicPcapReader(Path file, InputStream in, boolean swapped, boolean nanos, int snaplen) {
        this.file = file;
        this.in = in;
        this.swapped = swapped;
        this.nanos = nanos;
        this.snaplen = snaplen;
        this.offset = GLOBAL_HEADER;
    }

    /** The first four bytes of a file, or an error naming it when it is missing or shorter. */
    static int magic(Path file) throws PcapFileException {
        try (InputStream in = Files.newInputStream(file)) {
            byte[] bytes = in.readNBytes(4);
            if (bytes.length < 4) {
                throw new PcapFileException(file, 0, "truncated file header: " + bytes.length + " of 4 magic bytes");
            }
            return ((bytes[0] & 0xFF) << 24) | ((bytes[1] & 0xFF) << 16) | ((bytes[2] & 0xFF) << 8) | (bytes[3] & 0xFF);
        } catch (NoSuchFileException e) {
            throw new PcapFileException(file, -1, "no such file");
        } catch (IOException e) {
            throw new PcapFileException(file, -1, "cannot read: " + e.getMessage());
        }
    }

    static ClassicPcapReader open(Path file) throws IOException {
        InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
        try {
            byte[] global = in.readNBytes(GLOBAL_HEADER);
            if (global.length < GLOBAL_HEADER) {
                throw new PcapFileException(file, 0, "truncated global header: " + global.length + " of "
                        + GLOBAL_HEADER + " bytes");
            }
            int magic = intAt(global, 0, false);
            boolean swapped = magic == Integer.reverseBytes(MAGIC_MICROS) || magic == Integer.reverseBytes(MAGIC_NANOS);
            int native32 = swapped ? Integer.reverseBytes(magic) : magic;
            if (native32 != MAGIC_MICROS && native32 != MAGIC_NANOS) {
                throw new PcapFileException(file, 0, String.format("not a pcap file: magic 0x%08x (expected 0x%08x or"
                        + " 0x%08x in either byte order, or pcapng's 0x%08x)", magic, MAGIC_MICROS, MAGIC_NANOS,
                        MAGIC_PCAPNG));
            }
            int snaplen = intAt(global, 16, swapped);
            int linktype = intAt(global, 20, swapped);
            if (linktype != LINKTYPE_ETHERNET) {
                throw new PcapFileException(file, 20, "link type " + linktype + " is not Ethernet (1)");
            }
            return new ClassicPcapReader(file, in, swapped, native32 == MAGIC_NANOS, snaplen);
        } catch (IOException | RuntimeException e) {
            in.close();
            throw e;
        }
    }

    private static int intAt(byte[] bytes, int at, boolean swapped) {
        int value = ((bytes[at] & 0xFF) << 24) | ((bytes[at + 1] & 0xFF) << 16) | ((bytes[at + 2] & 0xFF) << 8)
                | (bytes[at + 3] & 0xFF);
        return swapped ? Integer.reverseBytes(value) : value;
    }

    @Override
    public boolean next() throws IOException {
        recordOffset = offset;
        int got = in.readNBytes(header, 0, RECORD_HEADER);
        if (got == 0) {
            return false;
        }
        if (got < RECORD_HEADER) {
            throw new PcapFileException(file, recordOffset, "truncated record header: " + got + " of "
                    + RECORD_HEADER + " bytes");
        }
        long seconds = intAt(header, 0, swapped) & 0xFFFF_FFFFL;
        long fraction = intAt(header, 4, swapped) & 0xFFFF_FFFFL;
        capturedLength = intAt(header, 8, swapped);
        originalLength = intAt(header, 12, swapped);
        if (capturedLength < 0 || capturedLength > MAX_RECORD) {
            throw new PcapFileException(file, recordOffset, "corrupt record: captured length "
                    + Integer.toUnsignedString(capturedLength));
        }
        if (capturedLength > snaplen) {
            throw new PcapFileException(file, recordOffset, "record of " + capturedLength
                    + " bytes exceeds the file's snaplen of " + snaplen);
        }
        if (Integer.compareUnsigned(originalLength, capturedLength) < 0) {
            throw new PcapFileException(file, recordOffset, "corrupt record: captured length " + capturedLength
                    + " exceeds original length " + Integer.toUnsignedString(originalLength));
        }
        timestampNanos = seconds * 1_000_000_000L + (nanos ? fraction : fraction * 1_000L);
        offset += RECORD_HEADER;
        return true;
    }

    @Override
    public void copyFrame(ByteBuf into) throws IOException {
        int start = into.writerIndex();
        try {
            into.writeBytes(in, capturedLength);
            int copied = into.writerIndex() - start;
            if (copied < capturedLength) {
                throw new EOFException();
            }
        } catch (EOFException e) {
            throw new PcapFileException(file, recordOffset, "truncated record: header says " + capturedLength
                    + " bytes, the file ends after " + Math.max(0, into.writerIndex() - start));
        }
        offset += capturedLength;
    }

    @Override
    public long timestampNanos() {
        return timestampNanos;
    }

    @Override
    public int capturedLength() {
        return capturedLength;
    }

    @Override
    public int originalLength() {
        return originalLength;
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}
