package io.loadshare.core.backend;

import io.loadshare.core.packet.Ipv4Address;
import io.loadshare.core.packet.MacAddress;

/**
 * One real server behind a cluster address.
 *
 * @param id a small number, unique among all backends of one dispatcher and stable across pool changes; sessions
 *     and counters refer to a backend by it
 * @param address IPv4 address
 * @param port the server port for address-translating modes, or 0 to keep the virtual port
 * @param mac hardware address, or {@link MacAddress#UNKNOWN} until resolved
 * @param weight relative share of new sessions; 0 takes none
 * @param state whether it takes new sessions
 */
public record Backend(int id, int address, int port, long mac, int weight, BackendState state) {
    /** Backend ids fit the session table's 16-bit field. */
    public static final int MAX_ID = 0xFFFF;
    /** The largest weight, as IPVS allows. */
    public static final int MAX_WEIGHT = 65_535;

    public Backend {
        if (id < 0 || id > MAX_ID) {
            throw new IllegalArgumentException("backend id must be 0.." + MAX_ID + ", was " + id);
        }
        if (port < 0 || port > 0xFFFF) {
            throw new IllegalArgumentException("backend port must be 0..65535, was " + port);
        }
        if (weight < 0 || weight > MAX_WEIGHT) {
            throw new IllegalArgumentException("backend weight must be 0.." + MAX_WEIGHT + ", was " + weight);
        }
        if (state == null) {
            throw new IllegalArgumentException("backend state must be set");
        }
    }

    /** Whether the scheduler may give it a new session. */
    public boolean isAvailable() {
        return state == BackendState.ACTIVE && weight > 0;
    }

    public Backend withState(BackendState newState) {
        return new Backend(id, address, port, mac, weight, newState);
    }

    public Backend withWeight(int newWeight) {
        return new Backend(id, address, port, mac, newWeight, state);
    }

    public Backend withMac(long newMac) {
        return new Backend(id, address, port, newMac, weight, state);
    }

    /** The port an address-translating mode sends to: this backend's own, or {@code virtualPort} when it keeps it. */
    public int serverPort(int virtualPort) {
        return port == 0 ? virtualPort : port;
    }

    @Override
    public String toString() {
        return "backend#" + id + " " + Ipv4Address.format(address) + (port == 0 ? "" : ":" + port)
                + " mac=" + MacAddress.format(mac) + " weight=" + weight + " " + state.label();
    }
}
