package io.loadshare.transport.pcap;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.loadshare.core.config.SettingsReader;

/**
 * The pcap transport's settings, from {@code io.loadshare.transport.pcap} (see the module's
 * {@code reference.conf}).
 *
 * @param snaplen bytes captured per frame; longer frames are counted and dropped
 * @param promiscuous capture frames for other hosts too
 * @param bufferSize libpcap's kernel buffer, in bytes
 * @param filter a BPF filter expression in tcpdump syntax, or empty
 * @param readBatch most frames read per readiness event (live) or per read task (files)
 * @param pace replay files at the speed they were captured, instead of as fast as possible
 */
public record PcapSettings(int snaplen, boolean promiscuous, int bufferSize, String filter, int readBatch,
        boolean pace) {
    public static final String ROOT = "io.loadshare.transport.pcap";

    public PcapSettings {
        if (snaplen < 64 || snaplen > 262_144) {
            throw new IllegalArgumentException("snaplen must be 64..262144, was " + snaplen);
        }
        if (bufferSize < 65_536) {
            throw new IllegalArgumentException("buffer-size must be at least 64 KiB, was " + bufferSize);
        }
        if (readBatch < 1) {
            throw new IllegalArgumentException("read-batch must be at least 1, was " + readBatch);
        }
    }

    /** Validates the block at {@code path} strictly against the reference and reads it. */
    public static PcapSettings from(Config config, String path) {
        return SettingsReader.read(config, ROOT, path, c -> new PcapSettings(c.getInt("snaplen"),
                c.getBoolean("promiscuous"), c.getBytes("buffer-size").intValue(), c.getString("filter"),
                c.getInt("read-batch"), c.getBoolean("pace")));
    }

    public static PcapSettings defaults() {
        return from(ConfigFactory.empty(), ROOT);
    }
}
