package io.loadshare.core.packet;

import com.google.common.net.InetAddresses;
import java.net.Inet4Address;
import java.net.InetAddress;

/** IPv4 addresses held in an {@code int} in network order, so the data path never allocates for one. */
public final class Ipv4Address {
    private Ipv4Address() {
    }

    /** Parses a dotted quad; rejects host names, so no DNS lookup can happen. */
    public static int parse(String text) {
        InetAddress address;
        try {
            address = InetAddresses.forString(text.trim());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("not an IPv4 address: " + text, e);
        }
        if (!(address instanceof Inet4Address v4)) {
            throw new IllegalArgumentException("not an IPv4 address (IPv6 is not supported): " + text);
        }
        return InetAddresses.coerceToInteger(v4);
    }

    /** Formats as a dotted quad. */
    public static String format(int address) {
        return (address >>> 24) + "." + ((address >>> 16) & 0xFF) + "." + ((address >>> 8) & 0xFF) + "." + (address & 0xFF);
    }

    /** Converts to a JDK address for control-plane use (sockets, logging). */
    public static Inet4Address toInetAddress(int address) {
        return InetAddresses.fromInteger(address);
    }
}
