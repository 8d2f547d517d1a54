package io.loadshare.transport.rawsocket;

import io.loadshare.core.packet.EthernetHeader;
import io.loadshare.core.packet.VirtioNetHeader;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * 802.1Q tags between the wire and a packet socket. The kernel takes a frame's tag off into metadata before a
 * packet socket sees it (PACKET_AUXDATA, or a ring frame's header, gives it back), and a frame a channel sends on a
 * VLAN gets its tag gathered in after the MAC addresses. A virtio-net header's offsets count from the Ethernet
 * header, so they move with a tag.
 */
final class VlanTags {
    /** A VLAN id's bits in a TCI. */
    static final int VLAN_ID_MASK = 0xFFF;
    private static final ValueLayout.OfShort LE_SHORT =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt BE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    private VlanTags() {
    }

    /** {@code tpid << 16 | tci} when the packet status says the kernel took a tag off, else -1. */
    static int fromStatus(int status, int tci, int tpid) {
        if ((status & Linux.TP_STATUS_VLAN_VALID) == 0) {
            return -1;
        }
        return ((status & Linux.TP_STATUS_VLAN_TPID_VALID) != 0 ? tpid : Linux.ETH_P_8021Q) << 16 | tci;
    }

    /** Writes the 4-byte 802.1Q tag of {@code vlan} (priority 0) into {@code tag}. */
    static void write(MemorySegment tag, int vlan) {
        tag.set(BE_INT, 0, Linux.ETH_P_8021Q << 16 | vlan);
    }

    /** A virtio-net header's hdr_len and csum_start count from the Ethernet header, which grew by a tag. */
    static void shiftVnetOffsets(MemorySegment header) {
        int headerLength = header.get(LE_SHORT, 2) & 0xFFFF;
        if (headerLength != 0) {
            header.set(LE_SHORT, 2, (short) (headerLength + EthernetHeader.VLAN_TAG_LENGTH));
        }
        if ((header.get(ValueLayout.JAVA_BYTE, 0) & VirtioNetHeader.FLAG_NEEDS_CSUM) != 0) {
            header.set(LE_SHORT, 6, (short) ((header.get(LE_SHORT, 6) & 0xFFFF) + EthernetHeader.VLAN_TAG_LENGTH));
        }
    }
}
