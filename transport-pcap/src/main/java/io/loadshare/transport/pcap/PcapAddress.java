package io.loadshare.transport.pcap;

import java.net.SocketAddress;
import java.util.Objects;

/** The interface a {@link PcapChannel} captures on and injects into. */
public final class PcapAddress extends SocketAddress {
    private static final long serialVersionUID = 1L;
    private final String interfaceName;

    public PcapAddress(String interfaceName) {
        this.interfaceName = Objects.requireNonNull(interfaceName, "interfaceName");
    }

    public String interfaceName() {
        return interfaceName;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PcapAddress other && other.interfaceName.equals(interfaceName);
    }

    @Override
    public int hashCode() {
        return interfaceName.hashCode();
    }

    @Override
    public String toString() {
        return interfaceName;
    }
}
