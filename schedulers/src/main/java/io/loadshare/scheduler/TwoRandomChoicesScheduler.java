package io.loadshare.scheduler;

import com.typesafe.config.Config;
import io.loadshare.core.backend.Backend;
import io.loadshare.core.backend.BackendPool;
import io.loadshare.core.scheduler.Scheduler;
import io.loadshare.core.scheduler.SchedulerFactory;
import io.loadshare.core.session.Flow;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * The power of two choices (Mitzenmacher, "The Power of Two Choices in Randomized Load Balancing", IEEE TPDS
 * 2001): draw two backends by weight and give the session to the one with fewer active sessions per unit of
 * weight. O(1) per pick, yet the maximum load stays within O(log log n) of the mean.
 */
public final class TwoRandomChoicesScheduler extends PreparedScheduler<WeightedDraw> {
    private final SplittableRandom random;
    private final ActiveSessions active = new ActiveSessions();

    TwoRandomChoicesScheduler(SplittableRandom random) {
        this.random = random;
    }

    @Override
    protected WeightedDraw build(BackendPool pool) {
        return new WeightedDraw(pool);
    }

    @Override
    public Backend pick(BackendPool pool, Flow flow) {
        int n = pool.availableCount();
        if (n == 0) {
            return null;
        }
        WeightedDraw draw = derived(pool);
        Backend a = pool.available(draw.draw(random));
        Backend b = pool.available(draw.draw(random));
        // a's load per weight versus b's, cross-multiplied.
        return (long) active.get(b.id()) * a.weight() < (long) active.get(a.id()) * b.weight() ? b : a;
    }

    @Override
    public void sessionOpened(Backend backend) {
        active.opened(backend);
    }

    @Override
    public void sessionClosed(int backendId) {
        active.closed(backendId);
    }

    /** Plugin entry: {@code two-random-choices}, alias {@code twos}. */
    public static final class Factory implements SchedulerFactory {
        @Override
        public String name() {
            return "two-random-choices";
        }

        @Override
        public Set<String> aliases() {
            return Set.of("twos", "power-of-two-choices");
        }

        @Override
        public Scheduler create(Config settings) {
            return new TwoRandomChoicesScheduler(WeightedDraw.random(settings.getLong("seed")));
        }
    }
}
