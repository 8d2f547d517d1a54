package io.loadshare.transport.pcap;

import io.loadshare.core.pipeline.InterfaceAddress;

/** The interface a {@link PcapChannel} captures on and injects into. */
public final class PcapAddress extends InterfaceAddress {
    private static final long serialVersionUID = 1L;

    public PcapAddress(String interfaceName) {
        super(interfaceName);
    }
}
