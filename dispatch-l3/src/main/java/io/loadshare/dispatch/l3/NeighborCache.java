package io.loadshare.dispatch.l3;

import io.loadshare.core.packet.MacAddress;

/**
 * Client-side neighbours (a client on the link, or the router before it) by IPv4 address, learned from the source
 * of inbound frames and from ARP, so that replies can be addressed without an ARP round trip. Open addressing
 * over primitive arrays with a bounded probe: a full neighbourhood evicts the entry at the key's home slot. Owned
 * by the event loop; no locks, no allocation.
 */
final class NeighborCache {
    private static final int MAX_PROBE = 8;
    private final int[] addresses;
    private final long[] macs;
    private final int mask;

    NeighborCache(int size) {
        this.addresses = new int[size];
        this.macs = new long[size];
        this.mask = size - 1;
    }

    private int home(int address) {
        return (address * 0x9E37_79B9) >>> 16 & mask;
    }

    void learn(int address, long mac) {
        if (address == 0) {
            return;
        }
        int home = home(address);
        for (int i = 0; i < MAX_PROBE; i++) {
            int slot = (home + i) & mask;
            if (addresses[slot] == address || addresses[slot] == 0) {
                addresses[slot] = address;
                macs[slot] = mac;
                return;
            }
        }
        addresses[home] = address;
        macs[home] = mac;
    }

    /** The neighbour's MAC, or {@link MacAddress#UNKNOWN}. */
    long lookup(int address) {
        int home = home(address);
        for (int i = 0; i < MAX_PROBE; i++) {
            int slot = (home + i) & mask;
            if (addresses[slot] == address) {
                return macs[slot];
            }
            if (addresses[slot] == 0) {
                break;
            }
        }
        return MacAddress.UNKNOWN;
    }
}
