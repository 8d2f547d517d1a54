package io.loadshare.transport.pcap;

import io.netty.buffer.ByteBuf;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;

/**
 * Capture formats the Java reader does not parse (pcapng), read through libpcap. libpcap reports no offsets, so
 * errors name the record number instead.
 */
final class LibpcapFileReader implements CaptureFileReader {
    private final Path file;
    private final PcapHandle handle;
    private long records;

    private LibpcapFileReader(Path file, PcapHandle handle) {
        this.file = file;
        this.handle = handle;
    }

    static LibpcapFileReader open(Path file) throws PcapException {
        return new LibpcapFileReader(file, PcapHandle.offline(file.toString()));
    }

    @Override
    public boolean next() throws PcapFileException {
        int result = handle.next();
        if (result == PcapHandle.READ_EOF) {
            return false;
        }
        if (result != PcapHandle.READ_OK) {
            throw new PcapFileException(file, -1, "record " + (records + 1) + ": " + handle.errorText());
        }
        records++;
        return true;
    }

    @Override
    public long timestampNanos() {
        return handle.timestampNanos();
    }

    @Override
    public int capturedLength() {
        return handle.capturedLength();
    }

    @Override
    public int originalLength() {
        return handle.originalLength();
    }

    @Override
    public void copyFrame(ByteBuf into) {
        long address = handle.dataAddress();
        for (int i = 0, n = handle.capturedLength(); i < n; i++) {
            into.writeByte(PcapHandle.ALL_MEMORY.get(ValueLayout.JAVA_BYTE, address + i));
        }
    }

    @Override
    public void close() {
        handle.close();
    }
}
