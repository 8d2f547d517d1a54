package io.loadshare.transport.pcap;

import java.net.SocketAddress;
import java.nio.file.Path;
import java.util.Objects;

/**
 * The files a {@link PcapFileChannel} reads frames from and writes frames to; either may be null.
 *
 * @param input a pcap (microsecond or nanosecond) or pcapng file to read
 * @param output a pcap file to write (nanosecond timestamps), replaced if it exists
 */
public record PcapFileAddress(Path input, Path output) {
    public PcapFileAddress {
        if (input == null && output == null) {
            throw new IllegalArgumentException("a pcap file channel needs an input file, an output file, or both");
        }
    }

    /** As a socket address, for {@code bind}. */
    public SocketAddress asSocketAddress() {
        return new Bound(this);
    }

    /** The socket-address form of a {@link PcapFileAddress}. */
    static final class Bound extends SocketAddress {
        private static final long serialVersionUID = 1L;
        final transient PcapFileAddress files;

        Bound(PcapFileAddress files) {
            this.files = Objects.requireNonNull(files);
        }

        @Override
        public String toString() {
            return (files.input() == null ? "" : "in=" + files.input()) + (files.input() != null && files.output() != null
                    ? " " : "") + (files.output() == null ? "" : "out=" + files.output());
        }
    }
}
