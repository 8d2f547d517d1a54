package io.loadshare.core.session;

import com.typesafe.config.Config;
import io.loadshare.core.packet.Ipv4Address;

/**
 * Per-source limits on new sessions, read from {@code io.loadshare.core.source-limit}.
 *
 * @param rate new sessions a second one source (client network) may open in the long run; 0 turns the limit off
 * @param burst new sessions a source may open at once after a quiet spell
 * @param netmask which clients share one limit: the client address with this mask applied
 * @param sources how many sources one event loop tracks at once
 */
public record SourceLimitSettings(int rate, int burst, int netmask, int sources) {
    /** Keeps a bucket's fill, in thousandths of a session, within 32 bits. */
    static final int MAX_BURST = 1_000_000;
    static final int MAX_SOURCES = 1 << 26;

    public SourceLimitSettings {
        if (rate < 0 || rate > MAX_BURST) {
            throw new IllegalArgumentException("source-limit.rate must be 0 (off) to " + MAX_BURST + ", was " + rate);
        }
        if (burst < 1 || burst > MAX_BURST) {
            throw new IllegalArgumentException("source-limit.burst must be 1.." + MAX_BURST + ", was " + burst);
        }
        int inverted = ~netmask;
        if ((inverted & (inverted + 1)) != 0) {
            throw new IllegalArgumentException("source-limit.netmask must be contiguous ones, was "
                    + Ipv4Address.format(netmask));
        }
        if (sources < SourceLimiter.WAYS || sources > MAX_SOURCES) {
            throw new IllegalArgumentException("source-limit.sources must be " + SourceLimiter.WAYS + ".."
                    + MAX_SOURCES + ", was " + sources);
        }
    }

    /** Reads the settings from the block at {@code path}, by full key path so that an error names the whole path. */
    public static SourceLimitSettings from(Config config, String path) {
        String netmask = config.getString(path + ".netmask");
        int mask;
        try {
            mask = Ipv4Address.parse(netmask);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("source-limit.netmask: " + e.getMessage(), e);
        }
        return new SourceLimitSettings(config.getInt(path + ".rate"), config.getInt(path + ".burst"), mask,
                config.getInt(path + ".sources"));
    }

    public boolean enabled() {
        return rate > 0;
    }

    /**
     * One worker's share when {@code workers} event loops each keep their own buckets: the fanout steering spreads a
     * source's connections evenly over the workers, so each gets the rate and burst split evenly (rounded up); each
     * still tracks {@code sources}.
     */
    public SourceLimitSettings perWorker(int workers) {
        if (workers < 1) {
            throw new IllegalArgumentException("workers must be at least 1, was " + workers);
        }
        return new SourceLimitSettings(Math.ceilDiv(rate, workers), Math.ceilDiv(burst, workers), netmask, sources);
    }
}
