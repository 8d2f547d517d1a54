package io.loadshare.core.scheduler;

import com.typesafe.config.Config;
import java.util.Set;

/**
 * Creates schedulers of one algorithm. Implementations are listed in
 * {@code META-INF/services/io.loadshare.core.scheduler.SchedulerFactory} and found by {@link SchedulerRegistry}.
 */
public interface SchedulerFactory {
    /** The readable kebab-case name operators write in config, such as {@code weighted-round-robin}. */
    String name();

    /** Other names accepted for the same algorithm, such as the IPVS name {@code wrr}. */
    default Set<String> aliases() {
        return Set.of();
    }

    /**
     * Creates a scheduler.
     *
     * @param settings this algorithm's settings: the service's own, with the algorithm's
     *     {@code io.loadshare.scheduler.<name>} block from {@code reference.conf} as fallback
     */
    Scheduler create(Config settings);
}
