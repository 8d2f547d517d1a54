package io.loadshare.core.scheduler;

import io.loadshare.core.backend.Backend;
import io.loadshare.core.backend.BackendPool;
import io.loadshare.core.session.Flow;

/**
 * Picks a backend for each new session of one service.
 *
 * <p>Threading: a dispatcher creates one scheduler per service and event loop, so {@link #pick},
 * {@link #sessionOpened} and {@link #sessionClosed} are always called from that one loop and may keep plain,
 * unsynchronised state. {@link #prepare} is the exception: the control plane calls it from its own thread.
 *
 * <p>{@link #pick} is on the data path: it must not allocate, block or take locks.
 */
public interface Scheduler {
    /**
     * Chooses a backend for a new session.
     *
     * @param pool the snapshot the data plane holds; only {@link BackendPool#available available} backends
     *     may be returned
     * @param flow the new session's first packet
     * @return one of the pool's available backends, or null when there is none to give
     */
    Backend pick(BackendPool pool, Flow flow);

    /**
     * Whether {@link #pick} depends on the flow and the pool alone, the same in every process given the same
     * backends (consistent hashing), so that a dispatcher that never saw a TCP flow's opening, after a restart or
     * when ECMP moves the flow to it, can continue the flow on the backend the first one chose (Maglev, NSDI 2016,
     * section 3.3; Katran does the same). Schedulers that count or rotate say false, and such flows are dropped.
     */
    default boolean continuesFlows() {
        return false;
    }

    /**
     * The table behind {@link #pick} when the pick is {@code table[(flowHash × size) >>> 32]} over
     * {@link Flow#flowHash()} (Maglev): slot → backend id, for a fast path that places new flows itself, as Katran's
     * XDP program uses the Maglev table its control plane publishes. Null when the pick is not such a lookup, or
     * the pool has no available backend. Control plane; it may allocate.
     */
    default int[] flowTable(BackendPool pool) {
        return null;
    }

    /** The length of every {@link #flowTable}, fixed by the scheduler's settings; 0 when it has none. */
    default int flowTableSize() {
        return 0;
    }

    /** A session was created on {@code backend} after {@link #pick} chose it. */
    default void sessionOpened(Backend backend) {
    }

    /** A session that was on the backend with this id has ended. */
    default void sessionClosed(int backendId) {
    }

    /**
     * Called on the control plane before {@code next} is published, so that derived structures (a Maglev lookup
     * table, say) are built off the data path. An implementation publishes what it builds safely (a volatile
     * field) and still answers {@link #pick} correctly for a pool it was never prepared for.
     */
    default void prepare(BackendPool next) {
    }
}
