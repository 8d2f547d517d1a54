package io.loadshare.transport.rawsocket;

import java.net.SocketAddress;
import java.util.Objects;

/** The interface a {@link RawSocketChannel} binds to, by name. */
public final class RawSocketAddress extends SocketAddress {
    private static final long serialVersionUID = 1L;
    private final String interfaceName;

    public RawSocketAddress(String interfaceName) {
        this.interfaceName = Objects.requireNonNull(interfaceName, "interfaceName");
    }

    public String interfaceName() {
        return interfaceName;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RawSocketAddress other && other.interfaceName.equals(interfaceName);
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
