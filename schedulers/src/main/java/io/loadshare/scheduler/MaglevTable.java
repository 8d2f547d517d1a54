package io.loadshare.scheduler;

import com.google.common.math.IntMath;
import io.loadshare.core.backend.Backend;
import io.loadshare.core.backend.BackendPool;
import java.util.Arrays;
import java.util.Comparator;

/**
 * A Maglev lookup table (Eisenbud et al., "Maglev: A Fast and Reliable Software Network Load Balancer",
 * NSDI 2016, section 3.4): each backend walks its own permutation of the M slots, given by
 * {@code offset = h1(backend) mod M} and {@code skip = h2(backend) mod (M - 1) + 1}, and the backends take
 * turns claiming the next free slot of their permutation until every slot is taken. M is prime, so every
 * permutation visits every slot. Removing one of N backends moves little more than the 1/N of slots it held.
 *
 * <p>Weighted fill: in each turn a backend earns {@code weight / max weight} credits and claims one slot per
 * whole credit, so equal weights reduce to the paper's algorithm exactly.
 *
 * <p>Backends are hashed by address and port, not by position, so two dispatchers with the same pool build the
 * same table, and a backend keeps its permutation when others come and go.
 */
final class MaglevTable {
    private static final long SEED_OFFSET = 0x5851_F42D_4C95_7F2DL;
    private static final long SEED_SKIP = 0x1405_7B7E_F767_814FL;

    private final char[] slots;
    private final int size;

    private MaglevTable(char[] slots) {
        this.slots = slots;
        this.size = slots.length;
    }

    /** Checks a configured table size. */
    static void requirePrime(int size) {
        if (size < 3 || !IntMath.isPrime(size)) {
            throw new IllegalArgumentException("table-size must be a prime of at least 3 (65537, say), was " + size);
        }
    }

    /** Builds the table of a pool's available backends; null when none is available. */
    static MaglevTable build(BackendPool pool, int size) {
        int n = pool.availableCount();
        if (n == 0) {
            return null;
        }
        Backend[] backends = new Backend[n];
        for (int i = 0; i < n; i++) {
            backends[i] = pool.available(i);
        }
        // Turn order decides contested slots, so fix it by identity: the pool's order must not matter.
        Arrays.sort(backends, Comparator.comparingLong(MaglevTable::identity));
        int[] position = new int[n];
        int[] skip = new int[n];
        double[] rate = new double[n];
        double[] credit = new double[n];
        int maxWeight = pool.maxAvailableWeight();
        for (int i = 0; i < n; i++) {
            Backend backend = backends[i];
            long identity = identity(backend);
            position[i] = (int) Long.remainderUnsigned(mix(identity ^ SEED_OFFSET), size);
            skip[i] = (int) Long.remainderUnsigned(mix(identity ^ SEED_SKIP), size - 1) + 1;
            rate[i] = (double) backend.weight() / maxWeight;
        }
        char[] slots = new char[size];
        boolean[] taken = new boolean[size];
        int filled = 0;
        while (true) {
            for (int i = 0; i < n; i++) {
                credit[i] += rate[i];
                while (credit[i] >= 1) {
                    credit[i] -= 1;
                    int c = position[i];
                    while (taken[c]) {
                        c += skip[i];
                        if (c >= size) {
                            c -= size;
                        }
                    }
                    taken[c] = true;
                    slots[c] = (char) backends[i].id();
                    c += skip[i];
                    position[i] = c >= size ? c - size : c;
                    if (++filled == size) {
                        return new MaglevTable(slots);
                    }
                }
            }
        }
    }

    private static long identity(Backend backend) {
        return ((backend.address() & 0xFFFF_FFFFL) << 16) | backend.port();
    }

    /** The id of the backend that owns this hash's slot. */
    int lookup(int hash) {
        return slots[(int) (((hash & 0xFFFF_FFFFL) * size) >>> 32)];
    }

    int size() {
        return size;
    }

    /** The backend id in one slot. */
    int slot(int index) {
        return slots[index];
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 33)) * 0xFF51_AFD7_ED55_8CCDL;
        z = (z ^ (z >>> 33)) * 0xC4CE_B9FE_1A85_EC53L;
        return z ^ (z >>> 33);
    }
}
