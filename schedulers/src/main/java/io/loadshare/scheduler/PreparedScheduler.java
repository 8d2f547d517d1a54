package io.loadshare.scheduler;

import io.loadshare.core.backend.BackendPool;
import io.loadshare.core.scheduler.Scheduler;

/**
 * A scheduler that derives a structure from each pool snapshot (a table, a schedule, prefix sums). The structure
 * is built in {@link #prepare} on the control plane and published through a volatile field; {@link #pick} only
 * builds one itself for a pool it was never prepared for, which a dispatcher avoids by publishing through
 * {@code Service.publish}.
 *
 * @param <T> the derived structure; immutable once built
 */
abstract class PreparedScheduler<T> implements Scheduler {
    private volatile Prepared<T> prepared;

    private record Prepared<T>(BackendPool pool, T derived) {
    }

    /** Builds the structure for a pool; called off the data path. */
    protected abstract T build(BackendPool pool);

    @Override
    public final void prepare(BackendPool next) {
        prepared = new Prepared<>(next, build(next));
    }

    /** The structure for exactly this snapshot. */
    protected final T derived(BackendPool pool) {
        Prepared<T> current = prepared;
        if (current == null || current.pool != pool) {
            current = new Prepared<>(pool, build(pool));
            prepared = current;
        }
        return current.derived;
    }
}
