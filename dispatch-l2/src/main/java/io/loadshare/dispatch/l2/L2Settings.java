package io.loadshare.dispatch.l2;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.loadshare.core.arp.DiscoveryLimits;
import io.loadshare.core.config.SettingsReader;
import io.loadshare.core.packet.Ipv4Address;
import io.loadshare.core.packet.MacAddress;
import java.time.Duration;
import java.util.stream.Collectors;

/**
 * LSMAC's own settings, from {@code io.loadshare.dispatch.l2} (see the module's {@code reference.conf}).
 *
 * @param arpInterval how often backends are asked for by ARP (discovery and MAC refresh)
 * @param arpMissLimit rounds without a reply after which a backend leaves the pool (discovery) or goes down
 * @param arpSenderAddress the sender address of the dispatcher's ARP requests; 0.0.0.0 sends ARP probes
 * @param discovery who may join a service by answering ARP discovery, and how many
 */
public record L2Settings(Duration arpInterval, int arpMissLimit, int arpSenderAddress, DiscoveryLimits discovery) {
    public static final String ROOT = "io.loadshare.dispatch.l2";

    public L2Settings {
        if (arpInterval.compareTo(Duration.ofMillis(100)) < 0) {
            throw new IllegalArgumentException("arp.interval must be at least 100ms, was " + arpInterval);
        }
        if (arpMissLimit < 1) {
            throw new IllegalArgumentException("arp.miss-limit must be at least 1, was " + arpMissLimit);
        }
    }

    public static L2Settings from(Config config, String path) {
        return SettingsReader.read(config, ROOT, path, c -> new L2Settings(c.getDuration("arp.interval"),
                c.getInt("arp.miss-limit"), Ipv4Address.parse(c.getString("arp.sender-address")),
                new DiscoveryLimits(c.getStringList("arp.discovery.allowed-macs").stream().map(MacAddress::parse)
                        .collect(Collectors.toSet()), c.getInt("arp.discovery.max-backends"))));
    }

    public static L2Settings defaults() {
        return from(ConfigFactory.empty(), ROOT);
    }
}
