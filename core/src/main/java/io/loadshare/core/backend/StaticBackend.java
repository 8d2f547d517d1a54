package io.loadshare.core.backend;

import io.loadshare.core.packet.Ipv4Address;
import java.util.Arrays;
import java.util.List;

/**
 * A backend named in a service's configuration, rather than discovered: its address and its weight, the relative
 * share of new sessions that weighted schedulers give it (IPVS's {@code -w}; 0 takes none).
 */
public record StaticBackend(int address, int weight) {
    public StaticBackend {
        if (weight < 0 || weight > Backend.MAX_WEIGHT) {
            throw new IllegalArgumentException("backend weight must be 0.." + Backend.MAX_WEIGHT + ", was " + weight);
        }
    }

    /** Backends at these dotted-quad addresses, each of weight 1, as IPVS adds them by default. */
    public static List<StaticBackend> of(String... addresses) {
        return Arrays.stream(addresses).map(a -> new StaticBackend(Ipv4Address.parse(a), 1)).toList();
    }

    @Override
    public String toString() {
        return Ipv4Address.format(address) + (weight == 1 ? "" : " weight " + weight);
    }
}
