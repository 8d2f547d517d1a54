package io.loadshare.core.session;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * Session-table limits and timeouts, read from {@code io.loadshare.core.session}.
 *
 * @param maxSessions sessions one event loop's table holds before it refuses new ones
 * @param tcpSynTimeout lifetime of a session that has seen only its SYN
 * @param pressureWatermark the share of {@code maxSessions} above which the table is under pressure
 * @param tcpSynTimeoutUnderPressure lifetime of a half-open session while the table is under pressure
 * @param tcpIdleTimeout lifetime of an idle established TCP session
 * @param tcpLinger how long a session follows its flow after FIN or RST (LSNAT: after both sides' FINs)
 * @param tcpHalfClosedTimeout lifetime of an idle half-closed session: one side's FIN seen, the other still open
 *     (LSMAC, which sees the client alone: every session after the client's FIN)
 * @param udpIdleTimeout lifetime of an idle UDP session
 * @param sweepInterval how often the expiry sweep runs on the event loop
 * @param sweepCycle how long one sweep takes to visit every slot
 * @param persistenceTemplates persistence templates one event loop holds, when a service persists clients
 */
public record SessionSettings(
        int maxSessions,
        Duration tcpSynTimeout,
        double pressureWatermark,
        Duration tcpSynTimeoutUnderPressure,
        Duration tcpIdleTimeout,
        Duration tcpLinger,
        Duration tcpHalfClosedTimeout,
        Duration udpIdleTimeout,
        Duration sweepInterval,
        Duration sweepCycle,
        int persistenceTemplates) {

    /** Largest timeout the table's 32-bit millisecond deadlines can express without wrapping. */
    static final Duration MAX_TIMEOUT = Duration.ofDays(24);
    /** Keeps a table of two words a slot within one Java array. */
    private static final int MAX_SESSIONS_PER_ARRAY = 500_000_000;

    public SessionSettings {
        if (maxSessions < 1 || maxSessions > SessionTable.MAX_SESSIONS) {
            throw new IllegalArgumentException(
                    "max-sessions must be 1.." + SessionTable.MAX_SESSIONS + ", was " + maxSessions);
        }
        requireTimeout("tcp-syn-timeout", tcpSynTimeout);
        if (!(pressureWatermark > 0 && pressureWatermark <= 1)) {
            throw new IllegalArgumentException("pressure.watermark must be above 0 and at most 1, was "
                    + pressureWatermark);
        }
        requireTimeout("pressure.tcp-syn-timeout", tcpSynTimeoutUnderPressure);
        requireTimeout("tcp-idle-timeout", tcpIdleTimeout);
        requireTimeout("tcp-linger", tcpLinger);
        requireTimeout("tcp-half-closed-timeout", tcpHalfClosedTimeout);
        requireTimeout("udp-idle-timeout", udpIdleTimeout);
        requireTimeout("sweep-interval", sweepInterval);
        requireTimeout("sweep-cycle", sweepCycle);
        if (persistenceTemplates < 1 || persistenceTemplates > MAX_SESSIONS_PER_ARRAY) {
            throw new IllegalArgumentException("persistence-templates must be 1.." + MAX_SESSIONS_PER_ARRAY + ", was "
                    + persistenceTemplates);
        }
        if (sweepCycle.compareTo(sweepInterval) < 0) {
            throw new IllegalArgumentException("sweep-cycle (" + sweepCycle + ") must not be shorter than sweep-interval ("
                    + sweepInterval + ")");
        }
    }

    /**
     * Reads the settings from the block at {@code path}, by full key path so that an error names the whole path.
     */
    public static SessionSettings from(Config config, String path) {
        return new SessionSettings(
                config.getInt(path + ".max-sessions"),
                config.getDuration(path + ".tcp-syn-timeout"),
                config.getDouble(path + ".pressure.watermark"),
                config.getDuration(path + ".pressure.tcp-syn-timeout"),
                config.getDuration(path + ".tcp-idle-timeout"),
                config.getDuration(path + ".tcp-linger"),
                config.getDuration(path + ".tcp-half-closed-timeout"),
                config.getDuration(path + ".udp-idle-timeout"),
                config.getDuration(path + ".sweep-interval"),
                config.getDuration(path + ".sweep-cycle"),
                config.getInt(path + ".persistence-templates"));
    }

    /**
     * One worker's share when {@code workers} event loops each keep a table: {@code max-sessions} and
     * {@code persistence-templates} are the dispatcher's totals, split evenly (rounded up).
     */
    public SessionSettings perWorker(int workers) {
        if (workers < 1) {
            throw new IllegalArgumentException("workers must be at least 1, was " + workers);
        }
        return new SessionSettings(Math.ceilDiv(maxSessions, workers), tcpSynTimeout, pressureWatermark,
                tcpSynTimeoutUnderPressure, tcpIdleTimeout, tcpLinger, tcpHalfClosedTimeout, udpIdleTimeout,
                sweepInterval, sweepCycle, Math.ceilDiv(persistenceTemplates, workers));
    }

    private static void requireTimeout(String key, Duration value) {
        if (value.isNegative() || value.isZero() || value.compareTo(MAX_TIMEOUT) > 0) {
            throw new IllegalArgumentException(key + " must be positive and at most " + MAX_TIMEOUT.toDays()
                    + " days, was " + value);
        }
    }
}
