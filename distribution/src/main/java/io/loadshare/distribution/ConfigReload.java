package io.loadshare.distribution;

import com.typesafe.config.ConfigException;
import io.loadshare.core.mode.DispatchMode;
import io.loadshare.core.pipeline.Service;
import io.loadshare.core.scheduler.SchedulerRegistry;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Re-reads a running dispatcher's configuration file and swaps in, service by service, what can change while
 * sessions run: the backends (new ones join once ARP resolves them; dropped ones drain and leave when their last
 * session ends), the scheduler and its settings (each event loop's new scheduler starts from the sessions every
 * backend holds), and the health check. Anything else needs a restart, and a file that changes it is refused as a
 * whole, as is one that is not valid: the running configuration stays.
 */
final class ConfigReload {
    private static final Logger LOG = LoggerFactory.getLogger(ConfigReload.class);

    private final DispatchMode mode;
    private final HealthChecker health;
    /** Read by the admin and drain threads while a reload may run: never behind the reload's lock. */
    private volatile DispatcherConfig running;

    ConfigReload(DispatcherConfig running, DispatchMode mode, HealthChecker health) {
        this.running = running;
        this.mode = mode;
        this.health = health;
    }

    /** The configuration in force. */
    DispatcherConfig running() {
        return running;
    }

    /**
     * @return what changed, one line each; empty when nothing did
     * @throws ConfigException when the file is not valid, naming the file, line and key
     * @throws IllegalStateException when the file changes what only a restart applies, naming each key
     */
    synchronized List<String> reload() {
        SchedulerRegistry registry = SchedulerRegistry.load();
        DispatcherConfig next = DispatcherConfig.load(running.file(), registry);
        List<String> restart = running.restartNeeded(next);
        if (!restart.isEmpty()) {
            throw new IllegalStateException("reload refused, the running configuration stays: "
                    + String.join("; ", restart) + " (these need a restart)");
        }
        List<String> changes = new ArrayList<>();
        List<Runnable> steps = new ArrayList<>();
        for (int i = 0; i < next.services().size(); i++) {
            DispatcherConfig.ServiceConfig before = running.services().get(i);
            DispatcherConfig.ServiceConfig after = next.services().get(i);
            Service service = mode.services().get(i);
            boolean backends = !before.backends().equals(after.backends());
            boolean scheduler = !before.scheduler().equals(after.scheduler())
                    || !before.schedulerSettings().equals(after.schedulerSettings());
            if (scheduler) {
                try {
                    registry.create(after.scheduler(), after.schedulerSettings());
                } catch (RuntimeException e) {
                    throw refused(i, after, "scheduler " + after.scheduler() + " does not accept its settings: "
                            + e.getMessage(), e);
                }
                changes.add(after.name() + ": scheduler " + before.scheduler() + " -> " + after.scheduler());
            }
            if (backends) {
                changes.add(after.name() + ": backends " + before.backends() + " -> " + after.backends());
            }
            if (backends || scheduler) {
                int index = i;
                steps.add(() -> mode.reconfigure(index, after.backends(), scheduler ? after.scheduler() : null,
                        after.schedulerSettings()).syncUninterruptibly());
            }
            if (!Objects.equals(before.healthCheck(), after.healthCheck())) {
                try {
                    health.prepare(after);
                } catch (IOException | InterruptedException e) {
                    throw refused(i, after, "its health check cannot run: " + e.getMessage(), e);
                }
                changes.add(after.name() + ": health check " + (after.healthCheck() == null ? "off"
                        : after.healthCheck().type() + " every " + after.healthCheck().intervalMillis() + " ms"));
                steps.add(() -> health.watch(service, after.healthCheck()));
            }
        }
        steps.forEach(Runnable::run);
        running = next;
        LOG.info("reloaded {}: {}", next.file(), changes.isEmpty() ? "nothing changed" : String.join("; ", changes));
        return changes;
    }

    private static IllegalStateException refused(int index, DispatcherConfig.ServiceConfig service, String why,
            Exception cause) {
        return new IllegalStateException("reload refused, the running configuration stays: " + DispatcherConfig.ROOT
                + ".services[" + index + "] (" + service.name() + "): " + why, cause);
    }
}
