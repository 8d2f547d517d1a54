package io.loadshare.transport.pcap;

import io.netty.buffer.ByteBuf;
import java.io.IOException;

/** Reads the records of a capture file in order: {@link #next} a record's header, then {@link #copyFrame} its bytes. */
interface CaptureFileReader extends AutoCloseable {
    /**
     * Moves to the next record.
     *
     * @return false at a clean end of file
     * @throws PcapFileException when the record is corrupt or cut short; records before it stay valid
     */
    boolean next() throws IOException;

    long timestampNanos();

    int capturedLength();

    int originalLength();

    /** Appends the current record's captured bytes to {@code into}. */
    void copyFrame(ByteBuf into) throws IOException;

    @Override
    void close() throws IOException;
}
