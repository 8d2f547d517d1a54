package io.loadshare.core.testing;

import com.typesafe.config.Config;
import io.loadshare.core.backend.Backend;
import io.loadshare.core.backend.BackendPool;
import io.loadshare.core.scheduler.Scheduler;
import io.loadshare.core.scheduler.SchedulerFactory;
import io.loadshare.core.session.Flow;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * Core's one scheduler, for its own tests: cycles through the available backends and remembers the open and
 * close calls it was given. Registered in core's test {@code META-INF/services}; real algorithms live in the
 * schedulers module.
 */
public final class CyclingSchedulerFactory implements SchedulerFactory {
    public static final String NAME = "test-cycle";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Set<String> aliases() {
        return Set.of("tc");
    }

    @Override
    public Scheduler create(Config settings) {
        return new CyclingScheduler(settings.getInt("start"));
    }

    /** Cycles from a configured start index. */
    public static final class CyclingScheduler implements Scheduler {
        private int next;
        public final Map<Integer, Integer> active = new HashMap<>();

        CyclingScheduler(int start) {
            this.next = start;
        }

        @Override
        public Backend pick(BackendPool pool, Flow flow) {
            if (pool.availableCount() == 0) {
                return null;
            }
            Backend backend = pool.available(Math.floorMod(next, pool.availableCount()));
            next++;
            return backend;
        }

        @Override
        public void sessionOpened(Backend backend) {
            active.merge(backend.id(), 1, Integer::sum);
        }

        @Override
        public void sessionClosed(int backendId) {
            active.merge(backendId, -1, Integer::sum);
        }
    }
}
