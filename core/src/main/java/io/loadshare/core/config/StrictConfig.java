package io.loadshare.core.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigValue;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Validation on top of Typesafe Config's {@code checkValid}, which checks types but lets unknown keys pass: a
 * typo must fail at start, naming the file, the line and the key path.
 */
public final class StrictConfig {
    private StrictConfig() {
    }

    /**
     * Checks types against the reference, then rejects every key under {@code path} that the reference does not
     * have.
     *
     * @param openPaths paths below {@code path} whose contents are free-form (plugin settings, lists of services)
     * @throws ConfigException.ValidationFailed listing every problem found, each with its origin
     */
    public static void validate(Config config, Config reference, String path, Set<String> openPaths) {
        config.checkValid(reference, path);
        List<ConfigException.ValidationProblem> problems = new ArrayList<>();
        Set<String> reported = new java.util.HashSet<>();
        if (config.hasPath(path)) {
            for (Map.Entry<String, ConfigValue> entry : config.getConfig(path).entrySet()) {
                String key = path + "." + entry.getKey();
                if (isUnder(key, openPaths)) {
                    continue;
                }
                String unknown = firstUnknown(reference, path, entry.getKey());
                if (unknown != null && reported.add(unknown)) {
                    problems.add(new ConfigException.ValidationProblem(unknown, entry.getValue().origin(),
                            "unknown key" + suggestion(reference, unknown)));
                }
            }
        }
        if (!problems.isEmpty()) {
            throw new ConfigException.ValidationFailed(problems);
        }
    }

    /** The shortest path below {@code path} on the way to {@code relativeKey} that the reference lacks, or null. */
    private static String firstUnknown(Config reference, String path, String relativeKey) {
        String prefix = path;
        for (String segment : com.typesafe.config.ConfigUtil.splitPath(relativeKey)) {
            prefix = prefix + "." + com.typesafe.config.ConfigUtil.quoteString(segment).replaceAll("^\"(.*)\"$", "$1");
            if (!reference.hasPathOrNull(prefix)) {
                return prefix;
            }
        }
        return null;
    }

    private static boolean isUnder(String key, Set<String> openPaths) {
        for (String open : openPaths) {
            if (key.equals(open) || key.startsWith(open + ".")) {
                return true;
            }
        }
        return false;
    }

    private static String suggestion(Config reference, String key) {
        int dot = key.lastIndexOf('.');
        String parent = dot < 0 ? "" : key.substring(0, dot);
        if (parent.isEmpty() || !reference.hasPath(parent)) {
            return "";
        }
        List<String> siblings = new ArrayList<>(reference.getObject(parent).keySet());
        siblings.sort(null);
        return "; expected one of: " + String.join(", ", siblings);
    }
}
