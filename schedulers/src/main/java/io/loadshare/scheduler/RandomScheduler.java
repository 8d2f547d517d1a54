package io.loadshare.scheduler;

import com.typesafe.config.Config;
import io.loadshare.core.backend.Backend;
import io.loadshare.core.backend.BackendPool;
import io.loadshare.core.scheduler.Scheduler;
import io.loadshare.core.scheduler.SchedulerFactory;
import io.loadshare.core.session.Flow;
import java.util.SplittableRandom;

/** Weighted random: each new session goes to a backend drawn with probability proportional to its weight. */
public final class RandomScheduler extends PreparedScheduler<WeightedDraw> {
    private final SplittableRandom random;

    RandomScheduler(SplittableRandom random) {
        this.random = random;
    }

    @Override
    protected WeightedDraw build(BackendPool pool) {
        return new WeightedDraw(pool);
    }

    @Override
    public Backend pick(BackendPool pool, Flow flow) {
        int n = pool.availableCount();
        return n == 0 ? null : pool.available(derived(pool).draw(random));
    }

    /** Plugin entry: {@code random}. */
    public static final class Factory implements SchedulerFactory {
        @Override
        public String name() {
            return "random";
        }

        @Override
        public Scheduler create(Config settings) {
            return new RandomScheduler(WeightedDraw.random(settings.getLong("seed")));
        }
    }
}
