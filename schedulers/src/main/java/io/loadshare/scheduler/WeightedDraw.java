package io.loadshare.scheduler;

import io.loadshare.core.backend.BackendPool;
import java.util.SplittableRandom;

/**
 * Draws an available backend's index with probability proportional to its weight in O(1), by Vose's alias
 * method (M. D. Vose, "A linear algorithm for generating random numbers with a given distribution", IEEE TSE
 * 1991): column {@code i} keeps itself with probability {@code keep[i]} and otherwise gives its alias.
 */
final class WeightedDraw {
    private static final long ONE = 1L << 31;

    private final int[] keep;
    private final int[] alias;

    WeightedDraw(BackendPool pool) {
        int n = pool.availableCount();
        keep = new int[n];
        alias = new int[n];
        if (n == 0) {
            return;
        }
        double total = pool.totalAvailableWeight();
        double[] scaled = new double[n];
        int[] small = new int[n];
        int[] large = new int[n];
        int smallCount = 0;
        int largeCount = 0;
        for (int i = 0; i < n; i++) {
            scaled[i] = pool.available(i).weight() * n / total;
            if (scaled[i] < 1) {
                small[smallCount++] = i;
            } else {
                large[largeCount++] = i;
            }
        }
        while (smallCount > 0 && largeCount > 0) {
            int s = small[--smallCount];
            int l = large[--largeCount];
            keep[s] = (int) (scaled[s] * ONE);
            alias[s] = l;
            scaled[l] -= 1 - scaled[s];
            if (scaled[l] < 1) {
                small[smallCount++] = l;
            } else {
                large[largeCount++] = l;
            }
        }
        while (largeCount > 0) {
            int l = large[--largeCount];
            keep[l] = Integer.MAX_VALUE;
            alias[l] = l;
        }
        while (smallCount > 0) {
            int s = small[--smallCount];
            keep[s] = Integer.MAX_VALUE;
            alias[s] = s;
        }
    }

    /** An index into the pool's available backends; the pool must have at least one. */
    int draw(SplittableRandom random) {
        long bits = random.nextLong();
        int column = (int) (((bits >>> 32) * keep.length) >>> 32);
        return (int) (bits & Integer.MAX_VALUE) < keep[column] ? column : alias[column];
    }

    /** A generator from a configured seed: 0 asks for a fresh one. */
    static SplittableRandom random(long seed) {
        return seed == 0 ? new SplittableRandom() : new SplittableRandom(seed);
    }
}
