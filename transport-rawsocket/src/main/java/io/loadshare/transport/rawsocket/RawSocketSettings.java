package io.loadshare.transport.rawsocket;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.loadshare.core.config.SettingsReader;

/**
 * The raw-socket transport's settings, from {@code io.loadshare.transport.rawsocket} (see the module's
 * {@code reference.conf} for what each means).
 */
public record RawSocketSettings(
        boolean vnetHeader,
        boolean ignoreOutgoing,
        boolean acceptBroadcast,
        int maxFrameSize,
        int receiveBufferSize,
        int readBatch,
        int sendBatch,
        int writeBufferLow,
        int writeBufferHigh,
        RingSettings ring,
        int fanoutGroup,
        boolean qdiscBypass,
        int vlan) {

    public static final String ROOT = "io.loadshare.transport.rawsocket";
    /** The most frames one sendmmsg call takes (UIO_MAXIOV). */
    static final int MAX_SEND_BATCH = 1024;
    /** The largest 802.1Q VLAN id (4095 is reserved). */
    static final int MAX_VLAN = 4094;

    public RawSocketSettings {
        if (maxFrameSize < 64 || maxFrameSize > 262_144) {
            throw new IllegalArgumentException("max-frame-size must be 64..262144 bytes, was " + maxFrameSize);
        }
        if (receiveBufferSize < 0) {
            throw new IllegalArgumentException("receive-buffer-size must not be negative, was " + receiveBufferSize);
        }
        if (readBatch < 1) {
            throw new IllegalArgumentException("read-batch must be at least 1, was " + readBatch);
        }
        if (sendBatch < 1 || sendBatch > MAX_SEND_BATCH) {
            throw new IllegalArgumentException("send-batch must be 1.." + MAX_SEND_BATCH + ", was " + sendBatch);
        }
        if (writeBufferLow < 0 || writeBufferLow > writeBufferHigh || writeBufferHigh < maxFrameSize) {
            throw new IllegalArgumentException("write-buffer must have 0 <= low <= high and high >= max-frame-size ("
                    + maxFrameSize + "), was low " + writeBufferLow + ", high " + writeBufferHigh);
        }
        if (ring.version() == 3 && ring.blockSize() <= maxFrameSize) {
            throw new IllegalArgumentException("ring.block-size (" + ring.blockSize()
                    + ") must be larger than max-frame-size (" + maxFrameSize + ")");
        }
        if (fanoutGroup < -1 || fanoutGroup > 0xFFFF) {
            throw new IllegalArgumentException("fanout-group must be -1 (off) or 0..65535, was " + fanoutGroup);
        }
        if (vlan < 0 || vlan > MAX_VLAN) {
            throw new IllegalArgumentException("vlan must be 0 (none) or 1.." + MAX_VLAN + ", was " + vlan);
        }
    }

    /**
     * Validates the block at {@code path} (by default {@value #ROOT}) strictly against the reference and reads it.
     *
     * @throws ConfigException naming the key path and what was expected
     */
    public static RawSocketSettings from(Config config, String path) {
        return SettingsReader.read(config, ROOT, path, c -> {
            int version = c.getInt("ring.version");
            RingSettings ring = !c.getBoolean("ring.enabled") ? RingSettings.DISABLED
                    : new RingSettings(version, c.getBytes("ring.block-size").intValue(), c.getInt("ring.block-count"),
                            c.getBytes("ring.frame-size").intValue(),
                            version == 3 ? (int) c.getDuration("ring.block-timeout").toMillis() : 0);
            return new RawSocketSettings(c.getBoolean("vnet-header"), c.getBoolean("ignore-outgoing"),
                    c.getBoolean("accept-broadcast"), c.getBytes("max-frame-size").intValue(),
                    c.getBytes("receive-buffer-size").intValue(), c.getInt("read-batch"), c.getInt("send-batch"),
                    c.getBytes("write-buffer.low").intValue(), c.getBytes("write-buffer.high").intValue(), ring,
                    c.getInt("fanout-group"), c.getBoolean("qdisc-bypass"), c.getInt("vlan"));
        });
    }

    /** The defaults of {@code reference.conf} alone. */
    public static RawSocketSettings defaults() {
        return from(ConfigFactory.empty(), ROOT);
    }
}
