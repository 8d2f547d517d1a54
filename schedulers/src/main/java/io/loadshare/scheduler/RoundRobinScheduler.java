package io.loadshare.scheduler;

import com.typesafe.config.Config;
import io.loadshare.core.backend.Backend;
import io.loadshare.core.backend.BackendPool;
import io.loadshare.core.scheduler.Scheduler;
import io.loadshare.core.scheduler.SchedulerFactory;
import io.loadshare.core.session.Flow;
import java.util.Set;

/**
 * Round robin, the paper's algorithm (section 3.3): each available backend in turn. As in IPVS {@code rr},
 * weights only decide availability (0 takes nothing); use {@code weighted-round-robin} for proportional shares.
 */
public final class RoundRobinScheduler implements Scheduler {
    private int next;

    @Override
    public Backend pick(BackendPool pool, Flow flow) {
        int n = pool.availableCount();
        if (n == 0) {
            return null;
        }
        if (next >= n) {
            next = 0;
        }
        return pool.available(next++);
    }

    /** Plugin entry: {@code round-robin}, alias {@code rr}. */
    public static final class Factory implements SchedulerFactory {
        @Override
        public String name() {
            return "round-robin";
        }

        @Override
        public Set<String> aliases() {
            return Set.of("rr");
        }

        @Override
        public Scheduler create(Config settings) {
            return new RoundRobinScheduler();
        }
    }
}
