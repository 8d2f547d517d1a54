package io.loadshare.transport.pcap;

import java.nio.file.Path;

/** A capture file is missing, truncated or corrupt; the message names the file and the offset where it went wrong. */
public final class PcapFileException extends PcapException {
    private static final long serialVersionUID = 1L;
    private final transient Path file;
    private final long offset;

    PcapFileException(Path file, long offset, String problem) {
        super(file + (offset >= 0 ? " at offset " + offset : "") + ": " + problem);
        this.file = file;
        this.offset = offset;
    }

    public Path file() {
        return file;
    }

    /** Byte offset of the bad header or record, or -1 when the file could not be read at all. */
    public long offset() {
        return offset;
    }
}
