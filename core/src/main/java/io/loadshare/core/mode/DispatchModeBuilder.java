package io.loadshare.core.mode;

import io.loadshare.core.config.CoreSettings;
import io.loadshare.core.scheduler.SchedulerRegistry;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What every {@link DispatchMode}'s builder collects: its services and its module's settings, the core settings,
 * the schedulers, the workers and any pinned backend MACs. Every setting but the services has a default from
 * reference.conf.
 *
 * @param <S> the mode's service description
 * @param <T> the mode's settings
 * @param <B> the builder itself, so that its own methods chain with these
 */
public abstract class DispatchModeBuilder<S, T, B extends DispatchModeBuilder<S, T, B>> {
    private final List<S> services = new ArrayList<>();
    private final Map<Integer, Long> pinnedMacs = new HashMap<>();
    private CoreSettings coreSettings = CoreSettings.defaults();
    private T settings;
    private SchedulerRegistry registry;
    private int workers = 1;

    /** @param defaults the mode's settings from its reference.conf */
    protected DispatchModeBuilder(T defaults) {
        this.settings = defaults;
    }

    @SuppressWarnings("unchecked")
    private B self() {
        return (B) this;
    }

    public B service(S service) {
        services.add(Objects.requireNonNull(service, "service"));
        return self();
    }

    public B coreSettings(CoreSettings coreSettings) {
        this.coreSettings = Objects.requireNonNull(coreSettings, "coreSettings");
        return self();
    }

    public B settings(T settings) {
        this.settings = Objects.requireNonNull(settings, "settings");
        return self();
    }

    /** The schedulers to choose from; by default every plugin on the class path. */
    public B schedulers(SchedulerRegistry registry) {
        this.registry = Objects.requireNonNull(registry, "registry");
        return self();
    }

    /** Event loops, each with its own channels and session table (1 by default); see {@link DispatchMode}. */
    public B workers(int workers) {
        if (workers < 1) {
            throw new IllegalArgumentException("workers must be at least 1, was " + workers);
        }
        this.workers = workers;
        return self();
    }

    /** A static backend's MAC, given rather than resolved by ARP (replaying a capture). */
    public B pinBackendMac(int address, long mac) {
        pinnedMacs.put(address, mac);
        return self();
    }

    /**
     * Checks what every mode needs before it is built: at least one service; and loads the schedulers unless given.
     *
     * @param mode the mode's name, for the error
     */
    protected final void validate(String mode) {
        if (services.isEmpty()) {
            throw new IllegalStateException("an " + mode + " dispatcher needs at least one service");
        }
        if (registry == null) {
            registry = SchedulerRegistry.load();
        }
    }

    public final List<S> services() {
        return List.copyOf(services);
    }

    public final T settings() {
        return settings;
    }

    public final CoreSettings coreSettings() {
        return coreSettings;
    }

    public final SchedulerRegistry registry() {
        return registry;
    }

    public final Map<Integer, Long> pinnedMacs() {
        return Map.copyOf(pinnedMacs);
    }

    public final int workers() {
        return workers;
    }
}
