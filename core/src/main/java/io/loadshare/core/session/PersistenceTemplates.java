package io.loadshare.core.session;

import java.util.Set;

/**
 * The persistence templates of one event loop (IPVS's persistent templates): for each service and client network,
 * the backend its connections go to and until when. Open addressing over one {@code long[]}, two words per slot,
 * linear probing with backward-shift deletion, as {@link SessionTable}; bounded, allocated up front, owned by the
 * event loop.
 *
 * <pre>
 * word 0: service index + 1 (32) | client network (32)     0 marks an empty slot
 * word 1: backend id (32) | deadline, event-loop milliseconds (32)
 * </pre>
 */
public final class PersistenceTemplates {
    private static final int WORDS = 2;
    private static final long DEADLINE_MASK = 0xFFFF_FFFFL;

    private final long[] words;
    private final int capacity;
    private final int maxTemplates;
    private final long seed = new java.security.SecureRandom().nextLong();
    private int size;
    private int sweepCursor;

    public PersistenceTemplates(int maxTemplates) {
        this.maxTemplates = maxTemplates;
        this.capacity = (int) ((long) maxTemplates * 4 / 3 + 1);
        this.words = new long[capacity * WORDS];
    }

    public int size() {
        return size;
    }

    /** The backend id a client network of a service goes to, or -1 (an expired template is removed). */
    public int lookup(int serviceIndex, int network, int now) {
        long key = key(serviceIndex, network);
        for (int slot = home(key); words[slot * WORDS] != 0; slot = next(slot)) {
            if (words[slot * WORDS] == key) {
                long value = words[slot * WORDS + 1];
                if ((int) value - now <= 0) {
                    removeAt(slot);
                    return -1;
                }
                return (int) (value >>> 32);
            }
        }
        return -1;
    }

    /**
     * Sets (or refreshes) a template.
     *
     * @return false when a new template would exceed {@code max-templates}; the connection is scheduled without one
     */
    public boolean put(int serviceIndex, int network, int backendId, int deadline) {
        long key = key(serviceIndex, network);
        long value = ((long) backendId << 32) | (deadline & DEADLINE_MASK);
        int slot = home(key);
        for (; words[slot * WORDS] != 0; slot = next(slot)) {
            if (words[slot * WORDS] == key) {
                words[slot * WORDS + 1] = value;
                return true;
            }
        }
        if (size >= maxTemplates) {
            return false;
        }
        words[slot * WORDS] = key;
        words[slot * WORDS + 1] = value;
        size++;
        return true;
    }

    /** Takes one live template. */
    @FunctionalInterface
    public interface Visitor {
        void accept(int serviceIndex, int network, int backendId, int remainingMillis);
    }

    /** Visits every live template (a full table for session sync or the hand-over); on the owning loop. */
    public void forEach(int now, Visitor visitor) {
        for (int slot = 0; slot < capacity; slot++) {
            long key = words[slot * WORDS];
            long value = words[slot * WORDS + 1];
            if (key != 0 && (int) value - now > 0) {
                visitor.accept((int) (key >>> 32) - 1, (int) key, (int) (value >>> 32), (int) value - now);
            }
        }
    }

    /** Removes expired templates from the next {@code budget} slots, continuing where the last call stopped. */
    public void sweep(int now, int budget) {
        int slot = sweepCursor;
        for (int visited = 0; visited < Math.min(budget, capacity); visited++) {
            // A removal shifts a later entry into this slot, so look at the same slot again.
            while (words[slot * WORDS] != 0 && (int) words[slot * WORDS + 1] - now <= 0) {
                removeAt(slot);
            }
            slot = next(slot);
        }
        sweepCursor = slot;
    }

    /**
     * Removes every template of a service that sends clients to one of {@code backendIds}: backends gone for good,
     * whose ids may go to new backends, which must not inherit their clients. Visits every slot; the control plane
     * calls it once per departure, on the owning loop.
     */
    public void removeBackends(int serviceIndex, Set<Integer> backendIds) {
        long service = (long) (serviceIndex + 1) << 32;
        for (int slot = 0; slot < capacity; slot++) {
            // A removal shifts a later entry into this slot, so look at the same slot again.
            while (words[slot * WORDS] != 0 && (words[slot * WORDS] & ~0xFFFF_FFFFL) == service
                    && backendIds.contains((int) (words[slot * WORDS + 1] >>> 32))) {
                removeAt(slot);
            }
        }
    }

    private void removeAt(int hole) {
        words[hole * WORDS] = 0;
        words[hole * WORDS + 1] = 0;
        size--;
        // Knuth's algorithm R (TAOCP 6.4): pull later members of the probe run into the hole.
        for (int j = next(hole); words[j * WORDS] != 0; j = next(j)) {
            int home = home(words[j * WORDS]);
            boolean stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
            if (!stays) {
                words[hole * WORDS] = words[j * WORDS];
                words[hole * WORDS + 1] = words[j * WORDS + 1];
                words[j * WORDS] = 0;
                words[j * WORDS + 1] = 0;
                hole = j;
            }
        }
    }

    private static long key(int serviceIndex, int network) {
        return ((long) (serviceIndex + 1) << 32) | (network & 0xFFFF_FFFFL);
    }

    private int home(long key) {
        long h = FlowHashing.mix(key ^ seed);
        return (int) (((h >>> 32) * capacity) >>> 32);
    }

    private int next(int slot) {
        int n = slot + 1;
        return n == capacity ? 0 : n;
    }
}
