package io.loadshare.dispatch.l3;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.loadshare.core.config.SettingsReader;
import java.time.Duration;

/**
 * LSNAT's own settings, from {@code io.loadshare.dispatch.l3} (see the module's {@code reference.conf}).
 *
 * @param arpInterval how often backends' MACs are refreshed by ARP
 * @param arpMissLimit rounds without a reply after which a backend goes down
 * @param gratuitousArpCount gratuitous ARPs sent for each owned address when a channel comes up
 * @param neighborCacheSize slots of the learned client-neighbour cache (a power of two)
 */
public record L3Settings(Duration arpInterval, int arpMissLimit, int gratuitousArpCount, int neighborCacheSize) {
    public static final String ROOT = "io.loadshare.dispatch.l3";

    public L3Settings {
        if (arpInterval.compareTo(Duration.ofMillis(100)) < 0) {
            throw new IllegalArgumentException("arp.interval must be at least 100ms, was " + arpInterval);
        }
        if (arpMissLimit < 1) {
            throw new IllegalArgumentException("arp.miss-limit must be at least 1, was " + arpMissLimit);
        }
        if (gratuitousArpCount < 0) {
            throw new IllegalArgumentException("arp.gratuitous-count must not be negative, was " + gratuitousArpCount);
        }
        if (neighborCacheSize < 16 || Integer.bitCount(neighborCacheSize) != 1) {
            throw new IllegalArgumentException("neighbor-cache-size must be a power of two of at least 16, was "
                    + neighborCacheSize);
        }
    }

    public static L3Settings from(Config config, String path) {
        return SettingsReader.read(config, ROOT, path, c -> new L3Settings(c.getDuration("arp.interval"),
                c.getInt("arp.miss-limit"), c.getInt("arp.gratuitous-count"), c.getInt("neighbor-cache-size")));
    }

    public static L3Settings defaults() {
        return from(ConfigFactory.empty(), ROOT);
    }
}
