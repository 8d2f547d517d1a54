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
 * @param icmpRate ICMP errors the dispatcher originates per second at most ("fragmentation needed")
 * @param icmpBurst ICMP errors it may send at once before {@code icmpRate} applies
 */
public record L3Settings(Duration arpInterval, int arpMissLimit, int gratuitousArpCount, int icmpRate,
        int icmpBurst) {
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
        if (icmpRate < 1) {
            throw new IllegalArgumentException("icmp.rate must be at least 1, was " + icmpRate);
        }
        if (icmpBurst < 1) {
            throw new IllegalArgumentException("icmp.burst must be at least 1, was " + icmpBurst);
        }
    }

    public static L3Settings from(Config config, String path) {
        return SettingsReader.read(config, ROOT, path, c -> new L3Settings(c.getDuration("arp.interval"),
                c.getInt("arp.miss-limit"), c.getInt("arp.gratuitous-count"), c.getInt("icmp.rate"),
                c.getInt("icmp.burst")));
    }

    public static L3Settings defaults() {
        return from(ConfigFactory.empty(), ROOT);
    }
}
