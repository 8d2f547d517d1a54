package io.loadshare.core.packet;

/** The IP protocol numbers loadshare dispatches. */
public final class IpProtocol {
    public static final int ICMP = 1;
    public static final int TCP = 6;
    public static final int UDP = 17;

    private IpProtocol() {
    }

    /** A short lower-case name for logs and metrics labels. */
    public static String name(int protocol) {
        return switch (protocol) {
            case ICMP -> "icmp";
            case TCP -> "tcp";
            case UDP -> "udp";
            default -> Integer.toString(protocol);
        };
    }

    /** Parses {@code tcp}, {@code udp} or {@code icmp}. */
    public static int parse(String name) {
        return switch (name.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "icmp" -> ICMP;
            case "tcp" -> TCP;
            case "udp" -> UDP;
            default -> throw new IllegalArgumentException("unknown protocol '" + name + "' (expected tcp, udp or icmp)");
        };
    }
}
