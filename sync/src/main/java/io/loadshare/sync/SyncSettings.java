package io.loadshare.sync;

import com.google.common.net.HostAndPort;
import com.google.common.net.InetAddresses;
import com.typesafe.config.Config;
import io.loadshare.core.config.SettingsReader;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Session sync's settings, from {@code loadshare.sync} (see the module's {@code reference.conf}).
 *
 * @param key the tier's shared key, read from {@code key-file}; empty when sync is off
 * @param handoverFile where a stopping process leaves its sessions, or null
 */
public record SyncSettings(boolean enabled, InetSocketAddress listen, List<InetSocketAddress> peers, byte[] key,
        Duration batchInterval, Duration reconnectInterval, Duration peerTimeout, Duration initialSyncTimeout,
        int maxStandbySessions,
        int journalCapacity, Path handoverFile) {
    public static final String ROOT = "loadshare.sync";
    /** The shortest key: HMAC-SHA256's own output length (RFC 2104 section 3). */
    static final int MIN_KEY_BYTES = 32;
    /** Owners are one byte in a standby entry; 0 is the previous process. */
    static final int MAX_PEERS = 254;

    public SyncSettings {
        peers = List.copyOf(peers);
        key = key.clone();
        if (batchInterval.toMillis() < 1) {
            throw new IllegalArgumentException("batch-interval must be at least 1ms, was " + batchInterval);
        }
        if (reconnectInterval.toMillis() < 10) {
            throw new IllegalArgumentException("reconnect-interval must be at least 10ms, was " + reconnectInterval);
        }
        if (peerTimeout.toMillis() < 40) {
            throw new IllegalArgumentException("peer-timeout must be at least 40ms, was " + peerTimeout);
        }
        if (maxStandbySessions < 1) {
            throw new IllegalArgumentException("max-standby-sessions must be at least 1, was " + maxStandbySessions);
        }
        if (Integer.bitCount(journalCapacity) != 1 || journalCapacity < 64) {
            throw new IllegalArgumentException("journal-capacity must be a power of two, at least 64, was "
                    + journalCapacity);
        }
        if (peers.size() > MAX_PEERS) {
            throw new IllegalArgumentException("peers: at most " + MAX_PEERS + ", were " + peers.size());
        }
    }

    /** Whether sessions outlive this process or this dispatcher: sync, a hand-over file, or both. */
    public boolean keepsSessions() {
        return enabled || handoverFile != null;
    }

    public static SyncSettings from(Config config, String path) {
        return SettingsReader.read(config, ROOT, path, c -> {
            boolean enabled = c.getBoolean("enabled");
            int port = c.getInt("port");
            if (port < 1 || port > 65535) {
                throw new IllegalArgumentException("port must be 1..65535, was " + port);
            }
            InetSocketAddress listen = new InetSocketAddress(address(c.getString("listen-address"),
                    "listen-address"), port);
            List<InetSocketAddress> peers = new ArrayList<>();
            for (String peer : c.getStringList("peers")) {
                HostAndPort parsed;
                try {
                    parsed = HostAndPort.fromString(peer).requireBracketsForIPv6();
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("peers: expected \"address:port\", got '" + peer + "'");
                }
                if (!parsed.hasPort()) {
                    throw new IllegalArgumentException("peers: '" + peer + "' has no port");
                }
                InetSocketAddress resolved = new InetSocketAddress(address(parsed.getHost(), "peers"),
                        parsed.getPort());
                if (peers.contains(resolved)) {
                    throw new IllegalArgumentException("peers: '" + peer + "' is listed twice");
                }
                peers.add(resolved);
            }
            byte[] key = new byte[0];
            String keyFile = c.getString("key-file");
            if (enabled) {
                if (peers.isEmpty()) {
                    throw new IllegalArgumentException("peers: expected at least one other dispatcher when enabled");
                }
                key = key(keyFile);
            }
            String handover = c.getString("handover-file");
            return new SyncSettings(enabled, listen, peers, key, c.getDuration("batch-interval"),
                    c.getDuration("reconnect-interval"), c.getDuration("peer-timeout"),
                    c.getDuration("initial-sync-timeout"),
                    c.getInt("max-standby-sessions"), c.getInt("journal-capacity"),
                    handover.isEmpty() ? null : Path.of(handover));
        });
    }

    private static InetAddress address(String literal, String key) {
        try {
            return InetAddresses.forString(literal);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(key + ": expected an IP address literal, got '" + literal + "'");
        }
    }

    private static byte[] key(String keyFile) {
        if (keyFile.isEmpty()) {
            throw new IllegalArgumentException("key-file: expected the file of the tier's shared key when enabled");
        }
        byte[] key;
        try {
            key = Files.readAllBytes(Path.of(keyFile));
        } catch (IOException e) {
            throw new IllegalArgumentException("key-file: cannot read " + keyFile + ": " + e);
        }
        if (key.length < MIN_KEY_BYTES) {
            throw new IllegalArgumentException("key-file: expected at least " + MIN_KEY_BYTES + " bytes in " + keyFile
                    + ", found " + key.length);
        }
        return key;
    }
}
