package io.loadshare.core.packet;

import io.netty.buffer.ByteBuf;

/**
 * MAC addresses held in the low 48 bits of a {@code long}, so the data path never allocates for one.
 */
public final class MacAddress {
    /** Marks a MAC address that is not known (yet). */
    public static final long UNKNOWN = -1L;
    /** The Ethernet broadcast address ff:ff:ff:ff:ff:ff. */
    public static final long BROADCAST = 0xFFFF_FFFF_FFFFL;
    /** The all-zero address, as ARP requests carry in their target hardware field. */
    public static final long ZERO = 0L;

    private MacAddress() {
    }

    /** Reads six bytes at an absolute index. */
    public static long get(ByteBuf buf, int index) {
        return ((long) buf.getUnsignedShort(index) << 32) | buf.getUnsignedInt(index + 2);
    }

    /** Writes six bytes at an absolute index. */
    public static void set(ByteBuf buf, int index, long mac) {
        buf.setShort(index, (int) (mac >>> 32));
        buf.setInt(index + 2, (int) mac);
    }

    /** Parses {@code aa:bb:cc:dd:ee:ff} (or with dashes). */
    public static long parse(String text) {
        String[] parts = text.trim().split("[:-]");
        if (parts.length != 6) {
            throw new IllegalArgumentException("not a MAC address (expected six hex octets): " + text);
        }
        long mac = 0;
        for (String part : parts) {
            if (part.isEmpty() || part.length() > 2) {
                throw new IllegalArgumentException("not a MAC address (bad octet '" + part + "'): " + text);
            }
            try {
                mac = (mac << 8) | Integer.parseInt(part, 16);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("not a MAC address (bad octet '" + part + "'): " + text, e);
            }
        }
        return mac;
    }

    /** Formats as lower-case {@code aa:bb:cc:dd:ee:ff}, or {@code unknown}. */
    public static String format(long mac) {
        if (mac == UNKNOWN) {
            return "unknown";
        }
        StringBuilder sb = new StringBuilder(17);
        for (int shift = 40; shift >= 0; shift -= 8) {
            int octet = (int) (mac >>> shift) & 0xFF;
            if (sb.length() > 0) {
                sb.append(':');
            }
            sb.append(Character.forDigit(octet >>> 4, 16)).append(Character.forDigit(octet & 0xF, 16));
        }
        return sb.toString();
    }

    /** Whether the group bit is set (broadcast or multicast). */
    public static boolean isGroup(long mac) {
        return (mac & 0x0100_0000_0000L) != 0;
    }
}
