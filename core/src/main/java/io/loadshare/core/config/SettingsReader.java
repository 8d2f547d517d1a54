package io.loadshare.core.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import java.util.Set;
import java.util.function.Function;

/**
 * Reads one module's settings block the same way everywhere: the module's {@code reference.conf} block under
 * {@code root} supplies the defaults, the block at {@code path} is validated strictly against it (types and unknown
 * keys), and a value the settings record refuses becomes a {@link ConfigException} naming the path.
 */
public final class SettingsReader {
    private SettingsReader() {
    }

    /**
     * @param root where the module keeps its defaults in {@code reference.conf}
     * @param path where the block to read is (the root itself, or a block of an application's config)
     * @param read builds the settings record from the validated block
     */
    public static <T> T read(Config config, String root, String path, Function<Config, T> read) {
        Config reference = ConfigFactory.defaultReference().getConfig(root).atPath(path);
        Config resolved = config.withFallback(reference).resolve();
        StrictConfig.validate(resolved, reference, path, Set.of());
        Config block = resolved.getConfig(path);
        try {
            return read.apply(block);
        } catch (IllegalArgumentException e) {
            throw new ConfigException.BadValue(block.origin(), path, e.getMessage(), e);
        }
    }
}
