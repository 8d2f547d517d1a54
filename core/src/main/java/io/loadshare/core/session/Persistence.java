package io.loadshare.core.session;

import io.loadshare.core.packet.Ipv4Address;
import java.time.Duration;

/**
 * A service's persistence (IPVS's {@code -p}, keepalived's {@code persistence_timeout}): a client's new
 * connections go to the backend its earlier ones went to, across ports, while its template lives.
 *
 * @param timeout how long a template lives after the client's last new connection
 * @param netmask which clients share a template: the client address with this mask applied
 */
public record Persistence(Duration timeout, int netmask) {
    public Persistence {
        if (timeout.isNegative() || timeout.isZero() || timeout.compareTo(SessionSettings.MAX_TIMEOUT) > 0) {
            throw new IllegalArgumentException("persistence timeout must be above 0 and at most "
                    + SessionSettings.MAX_TIMEOUT + ", was " + timeout);
        }
        int inverted = ~netmask;
        if ((inverted & (inverted + 1)) != 0) {
            throw new IllegalArgumentException("persistence netmask must be contiguous ones, was "
                    + Ipv4Address.format(netmask));
        }
    }

    /** The network a client address shares its template with. */
    public int network(int clientAddress) {
        return clientAddress & netmask;
    }

    public int timeoutMillis() {
        return (int) timeout.toMillis();
    }
}
