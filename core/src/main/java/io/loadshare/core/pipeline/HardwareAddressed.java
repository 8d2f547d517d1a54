package io.loadshare.core.pipeline;

/** A channel bound to a network interface whose MAC address it knows once bound. */
public interface HardwareAddressed {
    /** The interface's MAC address, or {@code MacAddress.UNKNOWN} before the channel is bound. */
    long hardwareAddress();
}
