package io.loadshare.transport.pcap;

import java.io.IOException;

/** A libpcap call failed; the message carries libpcap's own error text. */
public class PcapException extends IOException {
    private static final long serialVersionUID = 1L;

    public PcapException(String message) {
        super(message);
    }

    public PcapException(String message, Throwable cause) {
        super(message, cause);
    }
}
