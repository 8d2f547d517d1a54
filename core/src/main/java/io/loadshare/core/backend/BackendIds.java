package io.loadshare.core.backend;

import java.util.BitSet;

/**
 * Hands out backend ids from 1 to a limit (the counters' {@code max-backend-id}), lowest free first, and takes
 * them back when a backend has left for good, so that discovery churn never runs past the counters or the session
 * table's 16-bit field. Thread-safe: trackers allocate on the event loop, the dispatcher at start.
 */
public final class BackendIds {
    private final BitSet taken = new BitSet();
    private final int maxId;

    public BackendIds(int maxId) {
        if (maxId < 1 || maxId > Backend.MAX_ID) {
            throw new IllegalArgumentException("max backend id must be 1.." + Backend.MAX_ID + ", was " + maxId);
        }
        this.maxId = maxId;
    }

    /** The lowest free id, now taken; or -1 when all {@code maxId} are in use. */
    public synchronized int allocate() {
        int id = taken.nextClearBit(1);
        if (id > maxId) {
            return -1;
        }
        taken.set(id);
        return id;
    }

    /** Returns an id; call only once nothing (session, counter, pool) refers to it any more. */
    public synchronized void release(int id) {
        taken.clear(id);
    }

    public synchronized int inUse() {
        return taken.cardinality();
    }

    public int maxId() {
        return maxId;
    }
}
