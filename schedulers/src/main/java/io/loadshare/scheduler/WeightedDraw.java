package io.loadshare.scheduler;

import io.loadshare.core.backend.BackendPool;
import java.util.SplittableRandom;

/**
 * Draws an available backend's index with probability proportional to its weight: a uniform index when all
 * weights are equal, else a binary search over prefix sums.
 */
final class WeightedDraw {
    private final long[] cumulative;
    private final long total;

    WeightedDraw(BackendPool pool) {
        int n = pool.availableCount();
        boolean uniform = true;
        long sum = 0;
        long[] prefix = new long[n];
        for (int i = 0; i < n; i++) {
            int weight = pool.available(i).weight();
            uniform &= weight == pool.available(0).weight();
            sum += weight;
            prefix[i] = sum;
        }
        this.cumulative = uniform ? null : prefix;
        this.total = sum;
    }

    /** An index into the pool's available backends; the pool must have at least one. */
    int draw(SplittableRandom random, int availableCount) {
        if (cumulative == null) {
            return random.nextInt(availableCount);
        }
        long r = random.nextLong(total);
        int lo = 0;
        int hi = cumulative.length - 1;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (cumulative[mid] > r) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        return lo;
    }

    /** A generator from a configured seed: 0 asks for a fresh one. */
    static SplittableRandom random(long seed) {
        return seed == 0 ? new SplittableRandom() : new SplittableRandom(seed);
    }
}
