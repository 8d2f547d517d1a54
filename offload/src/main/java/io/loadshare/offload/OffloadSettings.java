package io.loadshare.offload;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.loadshare.core.config.SettingsReader;
import java.util.Locale;

/**
 * The fast path's settings, from {@code io.loadshare.offload} (see the module's {@code reference.conf}).
 *
 * @param mode whether the fast path is used
 * @param attach where the XDP program runs
 * @param maxFlows flows the fast path holds at most
 * @param placeNewFlows whether the program places new TCP flows itself for services scheduled by maglev
 */
public record OffloadSettings(Mode mode, Attach attach, int maxFlows, boolean placeNewFlows) {
    public static final String ROOT = "io.loadshare.offload";

    /** Whether the fast path is used. */
    public enum Mode {
        OFF, AUTO, ON
    }

    /** Where the XDP program runs. */
    public enum Attach {
        GENERIC, NATIVE
    }

    public OffloadSettings {
        if (maxFlows < 1) {
            throw new IllegalArgumentException("max-flows must be at least 1, was " + maxFlows);
        }
    }

    public static OffloadSettings from(Config config, String path) {
        return SettingsReader.read(config, ROOT, path, c -> new OffloadSettings(
                choice(Mode.class, c.getString("mode"), "mode"), choice(Attach.class, c.getString("attach"), "attach"),
                c.getInt("max-flows"), c.getBoolean("place-new-flows")));
    }

    public static OffloadSettings defaults() {
        return from(ConfigFactory.empty(), ROOT);
    }

    private static <E extends Enum<E>> E choice(Class<E> type, String value, String key) {
        for (E constant : type.getEnumConstants()) {
            if (constant.name().toLowerCase(Locale.ROOT).equals(value)) {
                return constant;
            }
        }
        StringBuilder allowed = new StringBuilder();
        for (E constant : type.getEnumConstants()) {
            allowed.append(allowed.isEmpty() ? "" : ", ").append(constant.name().toLowerCase(Locale.ROOT));
        }
        throw new IllegalArgumentException(key + " must be one of " + allowed + ", was " + value);
    }
}
