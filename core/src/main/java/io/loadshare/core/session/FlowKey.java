package io.loadshare.core.session;

import io.loadshare.core.packet.IpProtocol;
import io.loadshare.core.packet.Ipv4Address;

/** A flow's identity as a value, for the control plane, logs and tests; the data path reads {@link Flow}. */
public record FlowKey(int protocol, int sourceAddress, int sourcePort, int destinationAddress, int destinationPort)
        implements Flow {

    public FlowKey {
        if (protocol < 1 || protocol > 255) {
            throw new IllegalArgumentException("protocol must be 1..255, was " + protocol);
        }
        if ((sourcePort & ~0xFFFF) != 0 || (destinationPort & ~0xFFFF) != 0) {
            throw new IllegalArgumentException("ports must be 0..65535, were " + sourcePort + " and " + destinationPort);
        }
    }

    /** Copies any flow, such as a packet, into a value. */
    public static FlowKey of(Flow flow) {
        return new FlowKey(flow.protocol(), flow.sourceAddress(), flow.sourcePort(),
                flow.destinationAddress(), flow.destinationPort());
    }

    /** The same flow seen from the other end. */
    public FlowKey reversed() {
        return new FlowKey(protocol, destinationAddress, destinationPort, sourceAddress, sourcePort);
    }

    @Override
    public String toString() {
        return IpProtocol.name(protocol) + " " + Ipv4Address.format(sourceAddress) + ":" + sourcePort + " -> "
                + Ipv4Address.format(destinationAddress) + ":" + destinationPort;
    }
}
