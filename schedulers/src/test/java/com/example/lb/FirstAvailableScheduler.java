package com.example.lb;

import com.typesafe.config.Config;
import io.loadshare.core.backend.Backend;
import io.loadshare.core.backend.BackendPool;
import io.loadshare.core.scheduler.Scheduler;
import io.loadshare.core.scheduler.SchedulerFactory;
import io.loadshare.core.session.Flow;

/**
 * A scheduler as a third party writes one (docs/writing-a-scheduler.md): its own package, its own
 * {@code META-INF/services} entry, its own settings block. It fills backends in order, {@code spill-over}
 * sessions each, as a "pack" policy would.
 */
public final class FirstAvailableScheduler implements Scheduler {
    private final int spillOver;
    private int given;

    FirstAvailableScheduler(int spillOver) {
        this.spillOver = spillOver;
    }

    @Override
    public Backend pick(BackendPool pool, Flow flow) {
        int n = pool.availableCount();
        if (n == 0) {
            return null;
        }
        return pool.available(Math.min(n - 1, given++ / spillOver));
    }

    /** Registered in this test tree's META-INF/services. */
    public static final class Factory implements SchedulerFactory {
        @Override
        public String name() {
            return "first-available";
        }

        @Override
        public Scheduler create(Config settings) {
            return new FirstAvailableScheduler(settings.getInt("spill-over"));
        }
    }
}
