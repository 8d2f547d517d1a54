package io.loadshare.core.packet;

/**
 * Ethernet II header, with at most one IEEE 802.1Q tag, which is passed through untouched.
 *
 * <pre>
 * dst(6) src(6) [0x8100 tci(2)] ethertype(2)
 * </pre>
 */
public final class EthernetHeader extends HeaderView {
    public static final int LENGTH = 14;
    public static final int VLAN_TAG_LENGTH = 4;

    public long destination() {
        return MacAddress.get(buf, offset);
    }

    public void setDestination(long mac) {
        MacAddress.set(buf, offset, mac);
    }

    public long source() {
        return MacAddress.get(buf, offset + 6);
    }

    public void setSource(long mac) {
        MacAddress.set(buf, offset + 6, mac);
    }

    /** Whether the outer EtherType is an 802.1Q tag; the caller must have checked that 18 bytes are present. */
    public boolean hasVlanTag() {
        return buf.getUnsignedShort(offset + 12) == EtherType.VLAN;
    }

    /** The 802.1Q tag control information (PCP, DEI, VID), or -1 when untagged. */
    public int vlanTci() {
        return hasVlanTag() ? buf.getUnsignedShort(offset + 14) : -1;
    }

    /** The EtherType of the payload, after the tag if there is one. */
    public int etherType() {
        return hasVlanTag() ? buf.getUnsignedShort(offset + 16) : buf.getUnsignedShort(offset + 12);
    }

    /** 14, or 18 with a tag. */
    public int headerLength() {
        return hasVlanTag() ? LENGTH + VLAN_TAG_LENGTH : LENGTH;
    }
}
