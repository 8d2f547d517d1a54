package io.loadshare.core.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import io.loadshare.core.backend.Backend;
import io.loadshare.core.session.SessionSettings;
import io.loadshare.core.session.SourceLimitSettings;
import java.util.Set;

/**
 * Everything core reads from {@code io.loadshare.core}.
 *
 * @param session session-table limits and timeouts
 * @param sourceLimit per-source limits on new sessions
 * @param maxBackendId the largest backend id; counters are preallocated up to it
 */
public record CoreSettings(SessionSettings session, SourceLimitSettings sourceLimit, int maxBackendId) {
    public static final String ROOT = "io.loadshare.core";

    public CoreSettings {
        if (maxBackendId < 0 || maxBackendId > Backend.MAX_ID) {
            throw new IllegalArgumentException("max-backend-id must be 0.." + Backend.MAX_ID + ", was " + maxBackendId);
        }
    }

    /**
     * Validates {@code config} strictly against core's {@code reference.conf} and builds the settings.
     *
     * @throws ConfigException naming the key path and what was expected
     */
    public static CoreSettings from(Config config) {
        Config resolved = config.withFallback(ConfigFactory.defaultReference()).resolve();
        StrictConfig.validate(resolved, ConfigFactory.defaultReference(), ROOT, Set.of());
        try {
            return new CoreSettings(SessionSettings.from(resolved, ROOT + ".session"),
                    SourceLimitSettings.from(resolved, ROOT + ".source-limit"),
                    resolved.getInt(ROOT + ".max-backend-id"));
        } catch (IllegalArgumentException e) {
            throw new ConfigException.BadValue(resolved.getConfig(ROOT).origin(), ROOT, e.getMessage(), e);
        }
    }

    /**
     * One worker's share when {@code workers} event loops each keep a session table and source buckets; see
     * {@link SessionSettings#perWorker} and {@link SourceLimitSettings#perWorker}.
     */
    public CoreSettings perWorker(int workers) {
        return new CoreSettings(session.perWorker(workers), sourceLimit.perWorker(workers), maxBackendId);
    }

    /** The defaults of {@code reference.conf} alone. */
    public static CoreSettings defaults() {
        return from(ConfigFactory.empty());
    }
}
