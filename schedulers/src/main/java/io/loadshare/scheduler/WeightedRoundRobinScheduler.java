package io.loadshare.scheduler;

import com.typesafe.config.Config;
import io.loadshare.core.backend.Backend;
import io.loadshare.core.backend.BackendPool;
import io.loadshare.core.scheduler.Scheduler;
import io.loadshare.core.scheduler.SchedulerFactory;
import io.loadshare.core.session.Flow;
import java.util.Set;

/**
 * Smooth weighted round robin (the algorithm of nginx's upstream module): at each step every backend's current
 * value grows by its weight, the largest wins and drops by the total. Weights 5:1:1 give a a b a c a a, never
 * a burst of five. The whole cycle (sum of weights ÷ their gcd steps) is precomputed per pool, so a pick is one
 * array read; a cycle longer than {@code max-schedule-length} is stepped live instead, in O(backends).
 */
public final class WeightedRoundRobinScheduler extends PreparedScheduler<WeightedRoundRobinScheduler.Schedule> {
    private final int maxScheduleLength;
    private int position;

    WeightedRoundRobinScheduler(int maxScheduleLength) {
        this.maxScheduleLength = maxScheduleLength;
    }

    /** A precomputed cycle of indexes into the pool's available backends, or a live stepper when too long. */
    static final class Schedule {
        final int[] order;
        final long[] current;

        Schedule(int[] order, long[] current) {
            this.order = order;
            this.current = current;
        }
    }

    @Override
    protected Schedule build(BackendPool pool) {
        int n = pool.availableCount();
        long gcd = 0;
        for (int i = 0; i < n; i++) {
            gcd = gcd(gcd, pool.available(i).weight());
        }
        long period = gcd == 0 ? 0 : pool.totalAvailableWeight() / gcd;
        if (period > maxScheduleLength) {
            return new Schedule(null, new long[n]);
        }
        int[] order = new int[(int) period];
        long[] current = new long[n];
        for (int step = 0; step < order.length; step++) {
            order[step] = smoothStep(pool, current);
        }
        return new Schedule(order, null);
    }

    private static int smoothStep(BackendPool pool, long[] current) {
        int best = 0;
        int n = current.length;
        for (int i = 0; i < n; i++) {
            current[i] += pool.available(i).weight();
            if (current[i] > current[best]) {
                best = i;
            }
        }
        current[best] -= pool.totalAvailableWeight();
        return best;
    }

    private static long gcd(long a, long b) {
        while (b != 0) {
            long t = a % b;
            a = b;
            b = t;
        }
        return a;
    }

    @Override
    public Backend pick(BackendPool pool, Flow flow) {
        if (pool.availableCount() == 0) {
            return null;
        }
        Schedule schedule = derived(pool);
        if (schedule.order == null) {
            return pool.available(smoothStep(pool, schedule.current));
        }
        if (position >= schedule.order.length) {
            position = 0;
        }
        return pool.available(schedule.order[position++]);
    }

    /** Plugin entry: {@code weighted-round-robin}, alias {@code wrr}. */
    public static final class Factory implements SchedulerFactory {
        @Override
        public String name() {
            return "weighted-round-robin";
        }

        @Override
        public Set<String> aliases() {
            return Set.of("wrr");
        }

        @Override
        public Scheduler create(Config settings) {
            int max = settings.getInt("max-schedule-length");
            if (max < 1) {
                throw new IllegalArgumentException("max-schedule-length must be at least 1, was " + max);
            }
            return new WeightedRoundRobinScheduler(max);
        }
    }
}
