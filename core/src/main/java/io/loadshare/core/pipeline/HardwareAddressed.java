package io.loadshare.core.pipeline;

/** A channel bound to a network interface whose MAC address (and, where the transport can tell, MTU) it knows. */
public interface HardwareAddressed {
    /** The interface's MAC address, or {@code MacAddress.UNKNOWN} before the channel is bound. */
    long hardwareAddress();

    /**
     * The interface's MTU once bound, the largest IP datagram it sends; 0 when the transport cannot tell, and then
     * nothing checks sizes before sending.
     */
    default int mtu() {
        return 0;
    }
}
