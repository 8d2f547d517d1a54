package io.loadshare.core.scheduler;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.TreeMap;

/**
 * Every {@link SchedulerFactory} on the class path, by name and alias. Two plugins claiming one name is a
 * start-up error, never a silent choice.
 */
public final class SchedulerRegistry {
    /** Where each algorithm's defaults live in {@code reference.conf}. */
    public static final String SETTINGS_ROOT = "io.loadshare.scheduler";

    private final Map<String, SchedulerFactory> byName;
    private final List<String> allNames;
    private final List<String> canonicalNames;
    private final Config root;

    private SchedulerRegistry(Iterable<SchedulerFactory> factories, Config root) {
        Map<String, SchedulerFactory> names = new TreeMap<>();
        List<String> canonical = new ArrayList<>();
        for (SchedulerFactory factory : factories) {
            String name = normalise(factory.name());
            register(names, name, factory);
            canonical.add(name);
            for (String alias : factory.aliases()) {
                register(names, normalise(alias), factory);
            }
        }
        Collections.sort(canonical);
        this.byName = Map.copyOf(names);
        this.allNames = List.copyOf(names.keySet());
        this.canonicalNames = List.copyOf(canonical);
        this.root = root;
    }

    /** Loads every factory visible to the class loader, with defaults from the class path's reference config. */
    public static SchedulerRegistry load(ClassLoader loader) {
        return new SchedulerRegistry(ServiceLoader.load(SchedulerFactory.class, loader),
                ConfigFactory.defaultReference(loader));
    }

    /** Loads from the thread's context class loader. */
    public static SchedulerRegistry load() {
        return load(Thread.currentThread().getContextClassLoader());
    }

    /** A registry over given factories, for tests and embedders who assemble pipelines in code. */
    public static SchedulerRegistry of(Iterable<SchedulerFactory> factories, Config root) {
        return new SchedulerRegistry(factories, root);
    }

    private static void register(Map<String, SchedulerFactory> names, String name, SchedulerFactory factory) {
        if (name.isEmpty()) {
            throw new IllegalStateException("scheduler plugin " + factory.getClass().getName() + " has an empty name");
        }
        SchedulerFactory previous = names.putIfAbsent(name, factory);
        if (previous != null) {
            throw new IllegalStateException("duplicate scheduler name '" + name + "': claimed by both "
                    + previous.getClass().getName() + " and " + factory.getClass().getName());
        }
    }

    private static String normalise(String name) {
        return name.trim().toLowerCase(Locale.ROOT);
    }

    /** The factory for a name or alias. */
    public SchedulerFactory factory(String name) {
        SchedulerFactory factory = byName.get(normalise(name));
        if (factory == null) {
            throw new UnknownSchedulerException(name, available());
        }
        return factory;
    }

    /**
     * Creates a scheduler, with the service's {@code overrides} falling back to the algorithm's
     * {@code io.loadshare.scheduler.<name>} defaults.
     */
    public Scheduler create(String name, Config overrides) {
        SchedulerFactory factory = factory(name);
        String path = SETTINGS_ROOT + "." + normalise(factory.name());
        Config settings = root.hasPath(path) ? overrides.withFallback(root.getConfig(path)) : overrides;
        return factory.create(settings);
    }

    /** The canonical name of the algorithm behind a name or alias. */
    public String canonicalName(String name) {
        return normalise(factory(name).name());
    }

    /** Every accepted name, aliases included, sorted. */
    public List<String> available() {
        return allNames;
    }

    /** One name per algorithm, sorted. */
    public List<String> names() {
        return canonicalNames;
    }
}
