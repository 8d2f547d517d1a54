package io.loadshare.transport.rawsocket;

import io.loadshare.core.pipeline.InterfaceAddress;

/** The interface a {@link RawSocketChannel} binds to, by name. */
public final class RawSocketAddress extends InterfaceAddress {
    private static final long serialVersionUID = 1L;

    public RawSocketAddress(String interfaceName) {
        super(interfaceName);
    }
}
