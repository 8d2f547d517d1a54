package io.loadshare.core.pipeline;

import java.net.SocketAddress;
import java.util.Objects;

/** A network interface, by name, as the local address of a channel bound to it; each transport names its own. */
public abstract class InterfaceAddress extends SocketAddress {
    private static final long serialVersionUID = 1L;
    private final String interfaceName;

    protected InterfaceAddress(String interfaceName) {
        this.interfaceName = Objects.requireNonNull(interfaceName, "interfaceName");
    }

    public final String interfaceName() {
        return interfaceName;
    }

    @Override
    public final boolean equals(Object o) {
        return o != null && o.getClass() == getClass() && ((InterfaceAddress) o).interfaceName.equals(interfaceName);
    }

    @Override
    public final int hashCode() {
        return interfaceName.hashCode();
    }

    @Override
    public final String toString() {
        return interfaceName;
    }
}
